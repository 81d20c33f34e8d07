import type { ActivityBucket, CreateTaskResult, RecoverySummary, RedeliverStoreResult } from "../store/task-store.js";
import type { AttemptRecord, DeliveryRecord, DeliveryUpdate, NewDelivery, WebhookStatus } from "../tasks/delivery.js";
import type { NewTask, TaskOutcome, TaskRecord, TaskStatus } from "../tasks/task.js";

export type { ActivityBucket, CreateTaskResult, RecoverySummary, RedeliverStoreResult };

/**
 * The engine owns the queue: it stores tasks and their reports, and calls back the core when work is due (a task to
 * predict through a {@link TaskWorker}, a report attempt to make through a {@link ReportAttempter}), owning claims,
 * leases, stalled-work recovery, wake-ups, timers and retention. Everything else (HTTP, surfaces, report bodies,
 * signing, the network guard, the retry policy's decisions, metrics) is the core's and is the same whichever engine
 * runs. Two engines implement it: `StoreEngine` over a TaskStore (the embedded SQLite default) and `BullmqEngine`
 * (BullMQ on Redis, many processes on many machines).
 *
 * Invariants every engine keeps (test/engine/engine-contract.ts checks each one against each engine):
 * - a task is never lost once `submit` resolved, and at most one task exists per (api, idempotencyKey), even for
 *   concurrent submits from different processes;
 * - a task's outcome and its report (or why none) are written in one atomic step: a report is never lost, never
 *   written for an unfinished task, and never written twice (a re-run after a crash finds the first outcome);
 * - a task runs at least once; it runs again only if the process running it stopped before its outcome was stored;
 * - a report is attempted until the retry policy says stop, never by two processes at once, and an attempt lost
 *   with its process is made again;
 * - a finished task is kept while its report is pending, and for `retentionMs` after it finished.
 */
export interface Engine {
  /** Its name on the console and in logs: `sqlite`, `redis`. */
  readonly name: string;
  readonly capabilities: EngineCapabilities;
  /** What the engine found at `open()` that weakens its guarantees, with the fix; the runtime logs each. */
  readonly warnings: readonly string[];

  /**
   * Resolves with the cause if the engine stopped for good while open (the SQLite thread died): every later call
   * fails, and only a restart recovers. Never settles otherwise, closing included.
   */
  readonly failure: Promise<Error>;

  /** Why the engine counts as not answering right now (a call pending past its deadline), or undefined. */
  stalled(): Error | undefined;

  /**
   * Opens files or connects, prepares the schema, and repairs what a stopped process left (its running tasks go
   * back to the queue, its report leases are released). Called once, before anything else.
   */
  open(): Promise<RecoverySummary>;

  /** Stores a new queued task, or finds the one already holding its (api, idempotencyKey) (created: false). */
  submit(task: NewTask): Promise<CreateTaskResult>;

  /** The task holding this (api, idempotencyKey), or undefined. */
  findByIdempotencyKey(api: string, idempotencyKey: string): Promise<TaskRecord | undefined>;

  /** The task with this id, with its webhook state; undefined when unknown (or swept). */
  get(id: string): Promise<TaskRecord | undefined>;

  /**
   * Cancels a task that has not finished: it ends `cancelled` at once with its report (the core's `planReport`), a
   * queued task never runs, and a running one has its predict() signal aborted in whichever process runs it.
   * Resolves to the status the task had just before (a finished status: nothing changed), undefined when unknown.
   */
  cancel(task: TaskRecord): Promise<TaskStatus | undefined>;

  /** Sends a finished task's report again: same body and webhook-id, a fresh attempt schedule starting now. */
  redeliver(id: string): Promise<RedeliverStoreResult>;

  /**
   * Redelivers up to `limit` of the reports of `api` that finally failed, of tasks finished at or after `since`,
   * oldest first; resolves to their task ids. Call again until fewer than `limit` come back.
   */
  redeliverFailed(api: string, since: number, limit: number): Promise<string[]>;

  /** Tasks of this API that are queued or running: the count max_replica_concurrency bounds. */
  countUnfinished(api: string): Promise<number>;

  /** Tasks newest first, filtered, a page at a time (the console's list). */
  list(query: TaskQuery): Promise<TaskSummary[]>;

  /** Every attempt made for a task's report, oldest first (the console's delivery timeline). */
  attempts(taskId: string): Promise<AttemptRecord[]>;

  /** Counts of an API's tasks by status and of its reports by webhook status (console). */
  counts(api: string): Promise<ApiCounts>;

  /** What an API finished per `bucketMs` from `since` to `until`, with report latencies (the console's chart). */
  activity(api: string, since: number, until: number, bucketMs: number): Promise<ActivityBucket[]>;

  /**
   * Starts running an API's queued tasks in this process through `worker`, up to `worker.concurrency` at once.
   * Called once per API, when its predictor is ready; a `--role api` process never calls it.
   */
  work(api: string, worker: TaskWorker): void;

  /** Starts making due report attempts in this process through `attempt`. Called once; never in `--role api`. */
  deliver(attempt: ReportAttempter): void;

  /**
   * Stops taking new work, lets running predictions and due report attempts finish for up to `graceMs`, then
   * aborts what is still running (it runs again after the next start, or in another process).
   */
  stop(graceMs: number): Promise<void>;

  /** Completes what was already called, then releases the engine. Later calls reject with a STORAGE_ERROR. */
  close(): Promise<void>;
}

/** What every engine takes from the core. */
export interface EngineHooks {
  /**
   * Builds a finished task's report (body, target, first due time), or why none is sent, from its outcome: the
   * engine calls it wherever the task finishes (a worker's outcome, a cancel).
   */
  planReport(task: TaskRecord, outcome: TaskOutcome): NewDelivery | null;
  /**
   * Called once per task that settled in this process: its outcome was stored by this process's worker, or it was
   * cancelled here and runs nowhere in this process (capacity, metrics, waiting requests).
   */
  onTaskSettled?(task: TaskRecord, outcome: TaskOutcome): void;
}

/** What an engine declares about itself; tests and the console read it instead of naming engines. */
export interface EngineCapabilities {
  /** Several processes, on several machines, can share one engine's tasks. */
  readonly shared: boolean;
}

/** Predicts one API's tasks for an engine. */
export interface TaskWorker {
  /** Predictions of this API that may run at once in this process. */
  readonly concurrency: number;
  /**
   * Runs predict() for a claimed task and resolves to its outcome; never rejects. `signal` aborts on cancel or at
   * shutdown past the grace period; the outcome of an aborted prediction is not stored.
   */
  predict(task: TaskRecord, signal: AbortSignal): Promise<TaskOutcome>;
}

/**
 * Makes one attempt of a report and resolves to what to record: the retry policy already decided whether and when
 * the next attempt is due (`update.nextAttemptAt`). Never rejects. Resolves to undefined when `signal` aborted it
 * (shutdown): nothing is recorded and the attempt is made again later.
 */
export type ReportAttempter = (report: DeliveryRecord, signal: AbortSignal) => Promise<AttemptResult | undefined>;

/** One attempt's result: the delivery's new state, and the attempt for the timeline (none for a report set aside). */
export interface AttemptResult {
  update: DeliveryUpdate;
  attempt?: AttemptRecord;
}

/** A page of {@link Engine.list}. Every filter is optional. */
export interface TaskQuery {
  api?: string;
  status?: TaskStatus;
  webhookStatus?: WebhookStatus;
  /** Tasks whose id starts with this. */
  idPrefix?: string;
  /** Only tasks created before this task (the previous page's last id): pages stay stable while tasks arrive. */
  before?: string;
  /** @defaultValue 50, at most 500 */
  limit?: number;
}

/** A task in a list: what a row shows, without payload or result. */
export interface TaskSummary {
  id: string;
  api: string;
  status: TaskStatus;
  createdAt: number;
  finishedAt?: number;
  webhookStatus?: WebhookStatus;
  webhookAttempts?: number;
}

/** An API's tasks by status and reports by webhook status, now. */
export interface ApiCounts {
  tasks: Record<TaskStatus, number>;
  reports: { pending: number; delivered: number; failed: number };
}
