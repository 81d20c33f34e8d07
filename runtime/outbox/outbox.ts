import type { ApiConfig } from "../config/api-config.js";
import type { TaskStore } from "../store/task-store.js";
import type { TaskOutcome, TaskRecord } from "../tasks/task.js";
import type { TaskFinisher } from "../worker/api-worker.js";
import { planDelivery } from "./plan-delivery.js";
import { buildReport } from "./report.js";

/** Options of {@link Outbox}. */
export interface OutboxOptions {
  store: TaskStore;
  apis: ReadonlyMap<string, ApiConfig>;
  /** Woken when a report becomes due. */
  onReportQueued: () => void;
  now?: () => number;
  random?: () => number;
}

/**
 * Where a finished task's outcome and its report are written, in one atomic step: the report body is built here,
 * once, and the dispatcher sends exactly these bytes on every attempt.
 */
export class Outbox implements TaskFinisher {
  readonly #options: OutboxOptions;

  constructor(options: OutboxOptions) {
    this.#options = options;
  }

  async finish(task: TaskRecord, outcome: TaskOutcome): Promise<void> {
    const { store, apis, onReportQueued, now = Date.now, random } = this.#options;
    const api = apis.get(task.api);
    if (api === undefined) throw new Error(`task ${task.id} belongs to API ${task.api}, which is not loaded`);
    const body = JSON.stringify(buildReport(task.id, task.format, outcome));
    const delivery = planDelivery(api, task, body, now(), random);
    const stored = store.finishTask(task.id, outcome, delivery);
    // Woken now, not once stored: the store applies operations in call order, so the dispatcher's lease joins the
    // same group commit right after this write and hands the report out only once outcome and report are committed.
    if (delivery?.status === "pending") onReportQueued();
    await stored;
  }
}
