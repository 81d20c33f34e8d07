import type { ApiCounts, TaskQuery, TaskSummary } from "../engine/engine.js";
import type { AttemptRecord, DeliveryRecord, DeliveryUpdate, NewDelivery } from "../tasks/delivery.js";
import type { NewTask, TaskOutcome, TaskRecord, TaskStatus } from "../tasks/task.js";

/** Result of {@link TaskStore.createTask}. */
export interface CreateTaskResult {
  task: TaskRecord;
  /** False when a task with the same (api, idempotencyKey) already existed and was returned instead. */
  created: boolean;
}

/** One slice of {@link TaskStore.activity}. */
export interface ActivityBucket {
  /** Epoch ms the slice starts at. */
  start: number;
  /** Tasks that finished in it. */
  finished: number;
  /** Of those, how many reports were delivered (the latencies' sample size). */
  delivered: number;
  p50LatencyMs?: number;
  p99LatencyMs?: number;
}

/**
 * How {@link TaskStore.redeliver} ended: `scheduled` (its report is pending again, due at once), `pending` (a
 * delivery is still under way: nothing changed), `no-report` (finished without a report), `unfinished`, `unknown`.
 */
export type RedeliverStoreResult = "scheduled" | "pending" | "no-report" | "unfinished" | "unknown" | "credentials-erased";

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
 * Invariants every engine keeps (test/store/task-store-contract.ts checks each one):
 * - a task is never lost once `createTask` resolved, and at most one task exists per (api, idempotencyKey), even
 *   for concurrent creates;
 * - `finishTask` writes the outcome and the outbox entry in one atomic step, so a report is never lost nor
 *   written for an unfinished task; a task finishes once, and a second finish changes nothing;
 * - a delivery handed out by `leaseDueDeliveries` is not handed out again before its lease expires;
 * - a finished task is kept while its report is pending;
 * - operations take effect in the order they were called, so a caller may start a read that depends on a write
 *   without awaiting the write (claim right after create, lease right after finish): the read sees the write and
 *   resolves only once the write is durable;
 * - after `close()`, every method rejects with a RuntimeError whose code is STORAGE_ERROR.
 */
export interface TaskStore {
  /** Prepares the engine (schema, files). Called once before any other method. */
  open(): Promise<void>;

  /**
   * Resolves with the error if the engine stops for good while open (the SQLite engine's thread died): every later
   * operation fails, and only a restart recovers. Never settles otherwise, closing included. Engines whose failures
   * are passing (a reconnecting client) leave it out.
   */
  readonly failure?: Promise<Error>;

  /**
   * Set by an engine that other processes share (Redis): tasks can be queued and reports scheduled without this
   * process writing them, so the runtime looks for work this often (ms) besides being woken by its own writes.
   */
  readonly pollIntervalMs?: number;

  /** What the engine found at `open()` that weakens its guarantees, with the fix; the runtime logs each. */
  readonly warnings?: readonly string[];

  /**
   * Why the engine counts as not answering right now (a call pending past its deadline), or undefined: health
   * probes answer 503 meanwhile. Engines without a deadline leave it out.
   */
  stalled?(): Error | undefined;

  /**
   * Records a new task, or returns the existing one with the same (api, idempotencyKey). With `startedAt` the task
   * is stored in_progress, already claimed by the caller (claimQueued never hands it out).
   */
  createTask(task: NewTask): Promise<CreateTaskResult>;

  /** The task holding this (api, idempotencyKey), or undefined. */
  getTaskByIdempotencyKey(api: string, idempotencyKey: string): Promise<TaskRecord | undefined>;

  /** The task with this id, with its webhook state, or undefined. */
  getTask(id: string): Promise<TaskRecord | undefined>;

  /** Each task's status (undefined for an unknown id), in one read: no payload or outcome is loaded. */
  taskStatuses(ids: readonly string[]): Promise<Array<TaskStatus | undefined>>;

  /** Moves up to `limit` of the API's oldest queued tasks to in_progress and returns them, oldest first. */
  claimQueued(api: string, limit: number, now: number): Promise<TaskRecord[]>;

  /**
   * Records the outcome of a claimed task and, atomically with it, its outbox entry (or why none). Resolves to false,
   * writing nothing, when the task is unknown or already finished (the first outcome stands). A delivery with
   * `leaseExpiresAt` is stored leased to the caller, as if `leaseDueDeliveries` had handed it out.
   */
  finishTask(id: string, outcome: TaskOutcome, delivery: NewDelivery | null): Promise<boolean>;

  /**
   * Cancels a task that has not finished: like {@link finishTask} with a cancelled outcome (and its report, or why
   * none), in one atomic step. Resolves to the status the task had just before: `in_queue` (it will never be
   * claimed) or `in_progress` (whoever runs it must stop it; its later outcome is dropped) when it was cancelled,
   * a finished status when it had finished already (nothing changed), undefined for an unknown task.
   */
  cancelTask(id: string, outcome: TaskOutcome, delivery: NewDelivery | null): Promise<TaskStatus | undefined>;

  /**
   * Makes a finished task's report pending again with a fresh schedule: same body and webhook-id, attempts back to
   * 0, the last status code and error cleared, due at `now`. Refused (nothing changed) while a delivery is pending.
   */
  redeliver(id: string, now: number): Promise<RedeliverStoreResult>;

  /**
   * Redelivers (as {@link redeliver}) up to `limit` of the reports of `api` that finally failed, of tasks finished at or
   * after `finishedSince`, oldest first; resolves to their task ids. A redelivered report is pending, so a next call
   * finds the ones after it: call again until fewer than `limit` come back.
   */
  redeliverFailed(api: string, finishedSince: number, now: number, limit: number): Promise<string[]>;

  /** Tasks of this API that are queued or running: the count max_replica_concurrency bounds. */
  countUnfinished(api: string): Promise<number>;

  /**
   * Start-up repair: tasks left in_progress by a stopped process go back to the queue (they run again: at least
   * once), and the delivery leases it held are released, so its reports are due again on their own schedule.
   * An engine shared by several live processes releases only what the stopped one held.
   */
  recover(): Promise<RecoverySummary>;

  /**
   * Hands out up to `limit` pending deliveries due at `now`, earliest due first, and leases them until
   * `now + leaseMs`: until then they are not handed out again, and if no attempt is recorded by then (the attempt
   * was lost with its process) they are due again instead of lost. `nextAttemptAt` of a record is its scheduled time.
   */
  leaseDueDeliveries(now: number, limit: number, leaseMs: number): Promise<DeliveryRecord[]>;

  /**
   * Records the outcome of one attempt and ends its lease; a pending delivery is next due at `update.nextAttemptAt`.
   * `attempt`, when given, joins the report's attempt history in the same atomic step.
   */
  recordAttempt(taskId: string, update: DeliveryUpdate, attempt?: AttemptRecord): Promise<void>;

  /** Every attempt recorded for a task's report, oldest first; removed with the task by the sweep. */
  listAttempts(taskId: string): Promise<AttemptRecord[]>;

  /** Tasks newest first, filtered, a page at a time (the console's list). */
  listTasks(query: TaskQuery): Promise<TaskSummary[]>;

  /** An API's tasks by status and its reports by webhook status, now. */
  countTasks(api: string): Promise<ApiCounts>;

  /**
   * What an API finished per `bucketMs` from `since` to `until`: tasks finished, and p50/p99 of submit-to-report
   * latency of their delivered reports (the console's chart).
   */
  activity(api: string, since: number, until: number, bucketMs: number): Promise<ActivityBucket[]>;

  /** When the earliest pending delivery is due (epoch ms; a leased one when its lease ends), or undefined when none is pending. */
  nextDeliveryDueAt(): Promise<number | undefined>;

  /**
   * Deletes finished tasks (and their deliveries) that finished before `finishedBefore`, except those whose report
   * is still pending; returns how many. Bounded work per step: it must not stall the event loop on a huge table.
   */
  sweepFinished(finishedBefore: number): Promise<number>;

  /** Completes the operations already called, then releases the engine. Later calls reject with a storage error. */
  close(): Promise<void>;
}

/**
 * The most tasks one console read looks at, on every engine: counts of finished tasks and settled reports, and the
 * chart, cover the newest this many finished tasks (of every API); a filtered task list looks through the newest
 * this many tasks (an id search finds any). Queued, running and pending counts are exact.
 */
export const CONSOLE_SCAN_ROWS = 20_000;

/** A finished task as {@link bucketActivity} reads it. */
export interface FinishedTaskTimes {
  finishedAt: number;
  createdAt: number;
  /** When its report's delivering attempt ended, if it was delivered. */
  deliveredAt?: number;
}

/**
 * Slices `[since, until)` into `bucketMs` buckets, oldest first: tasks finished in each, and p50/p99 (nearest rank)
 * of submit-to-report latency of those whose report was delivered. Shared by every engine.
 */
export function bucketActivity(tasks: Iterable<FinishedTaskTimes>, since: number, until: number, bucketMs: number): ActivityBucket[] {
  const count = Math.max(1, Math.ceil((until - since) / bucketMs));
  const finished = new Array<number>(count).fill(0);
  const latencies: number[][] = Array.from({ length: count }, () => []);
  for (const task of tasks) {
    const index = Math.floor((task.finishedAt - since) / bucketMs);
    if (index < 0 || index >= count) continue;
    finished[index]! += 1;
    if (task.deliveredAt !== undefined) latencies[index]!.push(Math.max(0, task.deliveredAt - task.createdAt));
  }
  return finished.map((n, index) => {
    const sorted = latencies[index]!.sort((a, b) => a - b);
    const bucket: ActivityBucket = { start: since + index * bucketMs, finished: n, delivered: sorted.length };
    if (sorted.length > 0) {
      bucket.p50LatencyMs = percentile(sorted, 0.5);
      bucket.p99LatencyMs = percentile(sorted, 0.99);
    }
    return bucket;
  });
}

/** The nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))]!;
}
