import type { TaskStore } from "../store/task-store.js";
import type { TaskRecord } from "../tasks/task.js";
import type { Engine, TaskQuery } from "./engine.js";

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
