import type { AttemptRecord, DeliveryRecord, DeliveryUpdate, NewDelivery, WebhookStatus } from "../tasks/delivery.js";
import type { NewTask, TaskOutcome, TaskRecord, TaskStatus } from "../tasks/task.js";

/**
 * NOT IMPLEMENTED YET: the interface the core is meant to move to (issue 15), kept as the design it points at.
 * Today the core claims and leases through `TaskStore` (runtime/store/task-store.ts), which both engines implement
 * (SQLite and Redis) under one contract suite. Of this file, only the console's view types at the end (TaskQuery,
 * TaskSummary, ApiCounts) are in use.
 *
 * The engine owns the queue: it stores tasks and their reports, and calls back the core when work is due (a task to
 * predict, a report attempt to make), owning claims, leases, stalled-work recovery and timers. Everything else
 * (HTTP, surfaces, report bodies, signing, the network guard, the retry policy's decisions, metrics) is the core's
 * and stays the same whichever engine runs.
 *
 * Invariants an engine would keep (the TaskStore contract suite checks their counterparts today):
 * - a task is never lost once `submit` resolved, and at most one task exists per (api, idempotencyKey), even for
 *   concurrent submits from different processes;
 * - a task's outcome and its report (or why none) are written in one atomic step: a report is never lost, never
 *   written for an unfinished task, and never written twice (a re-run after a crash finds the first outcome);
 * - a task runs at least once; it runs again only if the process running it stopped before its outcome was
 *   stored (at-least-once, duplicates bounded by crashes);
 * - a report is attempted at least once per scheduled attempt and never by two processes at once; an attempt
 *   lost with its process is attempted again;
 * - a finished task is kept while its report is pending, and for `retentionMs` after it finished.
 */
export interface Engine {
  /** What this engine can do; the contract suite reads it instead of special-casing engines. */
  readonly capabilities: EngineCapabilities;

  /**
   * Connects or opens the files, prepares the schema, and repairs what a stopped process left (its running tasks
   * go back to the queue, its report leases are released). Called once, before anything else.
   */
  open(): Promise<RecoverySummary>;

  /**
   * Resolves with the cause if the engine stopped for good while open (the SQLite thread died, a store call stayed
   * pending past its deadline): every later call fails, and only a restart recovers. Never settles otherwise,
   * closing included. Engines whose failures are passing (a client that reconnects) leave it out.
   */
  readonly failure?: Promise<Error>;

  /**
   * Stores a new queued task, or finds the one already holding its (api, idempotencyKey), or refuses it because
   * the API already holds `max_replica_concurrency` unfinished tasks. A repeated key answers with its task even
   * when the API is full: a client retrying a submit whose answer it lost gets its task.
   */
  submit(task: NewTask): Promise<SubmitResult>;

  /** The task with this id, with its webhook state; undefined when unknown (or swept). */
  get(id: string): Promise<TaskRecord | undefined>;

  /**
   * Cancels a task that has not finished: it ends `cancelled` at once (its report, when the API sends reports, says
   * so), a queued task never runs, and a running one has its predict() signal aborted in whichever process runs it
   * (the host replaces the worker if it does not return). A finished task is left as it is.
   */
  cancel(id: string): Promise<CancelResult>;

  /**
   * Sends a finished task's report again: same body and webhook-id, a fresh attempt schedule starting now.
   * Refused while a delivery of it is still pending.
   */
  redeliver(id: string): Promise<RedeliverResult>;

  /** Redelivers every report of `api` that finally failed at or after `since` (epoch ms); resolves to how many. */
  redeliverFailed(api: string, since: number): Promise<number>;

  /** Tasks newest first, filtered, a page at a time (the console's list). */
  list(query: TaskQuery): Promise<TaskSummary[]>;

  /** Every attempt made for a task's report, oldest first (the console's delivery timeline). */
  attempts(taskId: string): Promise<AttemptRecord[]>;

  /** Counts of an API's tasks by status and of its reports by webhook status (console, metrics). */
  counts(api: string): Promise<ApiCounts>;

  /**
   * Starts running an API's queued tasks in this process: up to `worker.concurrency` at once, each through
   * `worker.predict`. Called once per API, when its predictor is ready; a `--role api` process never calls it.
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

/** Options every engine takes. */
export interface EngineOptions {
  /** Every API of the config: its name, kind, max_replica_concurrency, and webhook settings. */
  apis: ReadonlyMap<string, EngineApi>;
  /**
   * Builds a finished task's report (body, target, first due time), or why none is sent, from its outcome. Pure
   * and deterministic but for the clock and jitter: the engine calls it wherever the task finishes (a worker's
   * outcome, a cancel in an API process).
   */
  planReport: (task: TaskRecord, outcome: TaskOutcome) => NewDelivery | null;
  /** Called once per task whose outcome this process stored (metrics). */
  onTaskFinished?: (task: TaskRecord, outcome: TaskOutcome) => void;
  /** How long finished tasks are kept. @defaultValue 7 days */
  retentionMs?: number;
  now?: () => number;
}

/** What an engine reads of an API's config. */
export interface EngineApi {
  readonly name: string;
  readonly maxReplicaConcurrency: number;
  /** The longest an attempt of this API's reports can take (webhook.timeout_s): what a report lease must outlast. */
  readonly attemptTimeoutMs: number;
}

/** What an engine declares about itself; tests and the console read it instead of naming engines. */
export interface EngineCapabilities {
  /** Tasks and reports survive the process (and the machine's restart, as far as the storage promises). */
  readonly durable: boolean;
  /** Several processes, on several machines, can share one engine's tasks. */
  readonly shared: boolean;
}

/** Predicts one API's tasks for an engine. */
export interface TaskWorker {
  /** Predictions of this API that may run at once in this process. */
  readonly concurrency: number;
  /**
   * Runs predict() for a claimed task and resolves to its outcome; never rejects. `signal` aborts on cancel or
   * shutdown past its grace period; the outcome of an aborted prediction is not stored (cancel stored its own,
   * shutdown leaves the task to run again).
   */
  predict(task: TaskRecord, signal: AbortSignal): Promise<TaskOutcome>;
}

/**
 * Makes one attempt of a report and resolves to what to record: the retry policy already decided whether and when
 * the next attempt is due (`update.nextAttemptAt`). Never rejects. `signal` aborts at shutdown; an aborted attempt
 * is not recorded and is made again later.
 */
export type ReportAttempter = (report: DeliveryRecord, signal: AbortSignal) => Promise<AttemptResult>;

/** One attempt's result: the delivery's new state, and the attempt for the timeline. */
export interface AttemptResult {
  update: DeliveryUpdate;
  attempt: AttemptRecord;
}

/** What {@link Engine.open} found and repaired. */
export interface RecoverySummary {
  /** Tasks that were running when the last process stopped, now queued again (at-least-once). */
  requeued: number;
  /** Tasks waiting in the queue. */
  queued: number;
  /** Reports waiting for delivery. */
  pendingDeliveries: number;
}

/** How {@link Engine.submit} ended. */
export type SubmitResult =
  | { kind: "created"; task: TaskRecord }
  /** The (api, idempotencyKey) already held this task; nothing new was stored. */
  | { kind: "existing"; task: TaskRecord }
  /** The API holds max_replica_concurrency unfinished tasks already. */
  | { kind: "full"; max: number };

/** How {@link Engine.cancel} ended. */
export type CancelResult =
  | { kind: "cancelled"; task: TaskRecord }
  /** It had finished already: its status stands. */
  | { kind: "finished"; task: TaskRecord }
  | { kind: "unknown" };

/** How {@link Engine.redeliver} ended. */
export type RedeliverResult =
  | { kind: "scheduled"; task: TaskRecord }
  /** A delivery of its report is still pending: wait for it to end first. */
  | { kind: "pending"; task: TaskRecord }
  /** The task has not finished, so it has no report yet. */
  | { kind: "unfinished"; task: TaskRecord }
  /** The task finished without a report (its API sends none, or none was due). */
  | { kind: "no-report"; task: TaskRecord }
  | { kind: "unknown" };

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
