import type { ApiConfig } from "../config/api-config.js";
import type { TaskStore } from "../store/task-store.js";
import type { DeliveryRecord } from "../tasks/delivery.js";
import type { TaskOutcome, TaskRecord, TaskStatus } from "../tasks/task.js";
import type { TaskFinisher } from "../worker/api-worker.js";
import { planDelivery } from "./plan-delivery.js";
import { serializeReport } from "./report.js";

/** Where the outbox hands reports: the dispatcher. */
export interface ReportSink {
  /** A report was stored due; lease and send it. */
  notify(): void;
  /** An attempt slot for a report about to be stored, as its lease expiry; undefined when none is free. */
  reserveSlot(): number | undefined;
  /** Sends a report stored leased in a reserved slot. */
  sendReserved(delivery: DeliveryRecord): void;
  /** Gives back a reserved slot whose report was not stored. */
  cancelReservation(): void;
}

/** Options of {@link Outbox}. */
export interface OutboxOptions {
  store: TaskStore;
  apis: ReadonlyMap<string, ApiConfig>;
  dispatcher: ReportSink;
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
    const { store, apis, dispatcher, now = Date.now, random } = this.#options;
    const api = apis.get(task.api);
    if (api === undefined) throw new Error(`task ${task.id} belongs to API ${task.api}, which is not loaded`);
    const body = serializeReport(task.id, task.format, outcome);
    const planned = planDelivery(api, task, body, now(), random);
    // A report due at once, with a free attempt slot, is stored leased and sent from memory once committed.
    const leaseExpiresAt = planned?.status === "pending" && planned.nextAttemptAt <= now() ? dispatcher.reserveSlot() : undefined;
    const delivery = leaseExpiresAt === undefined || planned?.status !== "pending" ? planned : { ...planned, leaseExpiresAt };
    let recorded: boolean;
    try {
      const stored = store.finishTask(task.id, outcome, delivery);
      // Woken now, not once stored: the store applies operations in call order, so the dispatcher's lease joins the
      // same group commit right after this write and hands the report out only once outcome and report are committed.
      if (delivery?.status === "pending" && leaseExpiresAt === undefined) dispatcher.notify();
      recorded = await stored;
    } catch (error) {
      if (leaseExpiresAt !== undefined) dispatcher.cancelReservation();
      throw error;
    }
    if (leaseExpiresAt === undefined || delivery?.status !== "pending") return;
    if (!recorded) {
      dispatcher.cancelReservation();
      return;
    }
    dispatcher.sendReserved({
      taskId: task.id,
      api: task.api,
      url: delivery.url,
      ...(delivery.auth === undefined ? {} : { auth: delivery.auth }),
      ...(delivery.headers === undefined ? {} : { headers: delivery.headers }),
      ...(delivery.ignoreTimeout === undefined ? {} : { ignoreTimeout: delivery.ignoreTimeout }),
      body: delivery.body,
      webhookId: delivery.webhookId,
      status: "pending",
      attempts: 0,
      nextAttemptAt: delivery.nextAttemptAt,
    });
  }

  /**
   * Cancels a task that has not finished, storing its cancelled outcome and report in one step (see
   * TaskStore.cancelTask); resolves to the status the task had before, undefined when unknown.
   */
  async cancel(task: TaskRecord, finishedAt: number): Promise<TaskStatus | undefined> {
    const { store, apis, dispatcher, now = Date.now, random } = this.#options;
    const api = apis.get(task.api);
    if (api === undefined) throw new Error(`task ${task.id} belongs to API ${task.api}, which is not loaded`);
    const outcome: TaskOutcome = { status: "cancelled", finishedAt };
    const delivery = planDelivery(api, task, serializeReport(task.id, task.format, outcome), now(), random);
    const before = await store.cancelTask(task.id, outcome, delivery);
    if ((before === "in_queue" || before === "in_progress") && delivery?.status === "pending") dispatcher.notify();
    return before;
  }
}
