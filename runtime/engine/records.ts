import type { Logger } from "pino";
import type { TaskStore } from "../store/task-store.js";
import type { NewDelivery } from "../tasks/delivery.js";
import type { TaskOutcome, TaskRecord, TaskStatus } from "../tasks/task.js";
import type { Engine, EngineHooks, TaskQuery } from "./engine.js";

/*
 * What both engines do the same way to their task records (a TaskStore: SQLite's rows, the Redis hashes beside
 * BullMQ's jobs): the reads, a cancel's write, the retention sweep, and the look for tasks cancelled elsewhere.
 */

/** The store reads both engines answer the same way: status by id or key, the console's lists, counts and charts. */
type Records = Pick<TaskStore, "getTask" | "getTaskByIdempotencyKey" | "countUnfinished" | "listTasks" | "listAttempts" | "countTasks" | "activity">;

/**
 * The part of an {@link Engine} that only reads the task records: the same for every engine whose records are a
 * TaskStore (SQLite's rows, the Redis hashes beside BullMQ's jobs).
 */
export abstract class RecordReads implements Pick<Engine, "findByIdempotencyKey" | "get" | "countUnfinished" | "list" | "attempts" | "counts" | "activity"> {
  readonly #records: Records;

  protected constructor(records: Records) {
    this.#records = records;
  }

  findByIdempotencyKey(api: string, idempotencyKey: string): Promise<TaskRecord | undefined> {
    return this.#records.getTaskByIdempotencyKey(api, idempotencyKey);
  }

  get(id: string): Promise<TaskRecord | undefined> {
    return this.#records.getTask(id);
  }

  countUnfinished(api: string) {
    return this.#records.countUnfinished(api);
  }

  list(query: TaskQuery) {
    return this.#records.listTasks(query);
  }

  attempts(taskId: string) {
    return this.#records.listAttempts(taskId);
  }

  counts(api: string) {
    return this.#records.countTasks(api);
  }

  activity(api: string, since: number, until: number, bucketMs: number) {
    return this.#records.activity(api, since, until, bucketMs);
  }
}

/** What a cancel stored: the task's status just before (see TaskStore.cancelTask), its outcome and its report. */
export interface CancelRecord {
  before: TaskStatus | undefined;
  outcome: TaskOutcome;
  delivery: NewDelivery | null;
}

/** Stores a cancelled outcome with the report the core plans for it, in the store's one atomic step. */
export async function cancelRecord(
  store: Pick<TaskStore, "cancelTask">,
  planReport: EngineHooks["planReport"],
  task: TaskRecord,
  finishedAt: number,
): Promise<CancelRecord> {
  const outcome: TaskOutcome = { status: "cancelled", finishedAt };
  const delivery = planReport(task, outcome);
  return { before: await store.cancelTask(task.id, outcome, delivery), outcome, delivery };
}

/** How often a process looks for its running tasks being cancelled through another process (DELETE /NAME/ID). */
export const CANCEL_CHECK_MS = 1000;

/**
 * Of `ids` (tasks running here), those the store says were cancelled, in one read of their statuses alone; a failed
 * read finds none (the next look, a second later, tries again).
 */
export async function cancelledAmong(store: Pick<TaskStore, "taskStatuses">, ids: Iterable<string>): Promise<string[]> {
  const running = [...ids];
  if (running.length === 0) return [];
  try {
    const statuses = await store.taskStatuses(running);
    return running.filter((_, index) => statuses[index] === "cancelled");
  } catch {
    return [];
  }
}

const SWEEP_INTERVAL_MS = 60 * 60 * 1000; // 1 h

/** Deletes tasks finished more than `retentionMs` ago, now and every hour; the timer does not keep the process up. */
export function startRetentionSweep(store: Pick<TaskStore, "sweepFinished">, retentionMs: number, log: Logger, now: () => number): NodeJS.Timeout {
  const sweep = (): void => {
    store
      .sweepFinished(now() - retentionMs)
      .then((removed) => removed > 0 && log.info({ removed }, "removed tasks past their retention"))
      .catch((error: unknown) => log.error({ err: error }, "sweeping old tasks failed"));
  };
  sweep();
  return setInterval(sweep, SWEEP_INTERVAL_MS).unref();
}
