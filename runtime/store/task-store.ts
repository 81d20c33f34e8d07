import type { DeliveryRecord, DeliveryUpdate, NewDelivery } from "../tasks/delivery.js";
import type { NewTask, TaskOutcome, TaskRecord } from "../tasks/task.js";

/** Result of {@link TaskStore.createTask}. */
export interface CreateTaskResult {
  task: TaskRecord;
  /** False when a task with the same (api, idempotencyKey) already existed and was returned instead. */
  created: boolean;
}

/** What {@link TaskStore.recover} found and repaired at start-up. */
export interface RecoverySummary {
  /** Tasks that were running when the last process stopped, now queued again (at-least-once). */
  requeued: number;
  /** Tasks still waiting in the queue. */
  queued: number;
  /** Reports still waiting for delivery. */
  pendingDeliveries: number;
}

/**
 * Durable home of tasks and of the outbox of webhook reports. The HTTP surface writes tasks, the worker claims and
 * finishes them, the deliverer drains the outbox. Every method is async so a networked engine (Redis) can
 * implement it; a promise resolves only once its write is as durable as the engine promises.
 *
 * Invariants every engine keeps:
 * - a task is never lost once `createTask` resolved;
 * - `finishTask` writes the outcome and the outbox entry in one atomic step, so a report is never lost nor
 *   written for an unfinished task;
 * - a delivery handed out by `leaseDueDeliveries` is not handed out again before its lease expires.
 */
export interface TaskStore {
  /** Prepares the engine (schema, files). Called once before any other method. */
  open(): Promise<void>;

  /** Records a new task, or returns the existing one with the same (api, idempotencyKey). */
  createTask(task: NewTask): Promise<CreateTaskResult>;

  /** The task with this id, with its webhook state, or undefined. */
  getTask(id: string): Promise<TaskRecord | undefined>;

  /** Moves up to `limit` of the API's oldest queued tasks to in_progress and returns them. */
  claimQueued(api: string, limit: number, now: number): Promise<TaskRecord[]>;

  /** Records the outcome of a claimed task and, atomically with it, its outbox entry (or why none). */
  finishTask(id: string, outcome: TaskOutcome, delivery: NewDelivery | null): Promise<void>;

  /** Tasks of this API that are queued or running: the count max_replica_concurrency bounds. */
  countUnfinished(api: string): Promise<number>;

  /** Start-up repair: tasks left in_progress by a stopped process go back to the queue. */
  recover(): Promise<RecoverySummary>;

  /**
   * Hands out up to `limit` pending deliveries due at `now`, oldest first, and pushes their due time to
   * `now + leaseMs` so that a crash mid-attempt makes them due again instead of losing them.
   */
  leaseDueDeliveries(now: number, limit: number, leaseMs: number): Promise<DeliveryRecord[]>;

  /** Records the outcome of one attempt. */
  recordAttempt(taskId: string, update: DeliveryUpdate): Promise<void>;

  /** When the earliest pending delivery is due (epoch ms), or undefined when none is pending. */
  nextDeliveryDueAt(): Promise<number | undefined>;

  /** Deletes finished tasks (and their deliveries) that finished before `finishedBefore`; returns how many. */
  sweepFinished(finishedBefore: number): Promise<number>;

  /** Flushes and releases the engine. Later calls reject with a storage error. */
  close(): Promise<void>;
}
