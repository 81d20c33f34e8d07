import type { ApiCounts, TaskQuery, TaskSummary } from "../engine/engine.js";
import type { AttemptRecord, DeliveryRecord, DeliveryUpdate } from "../tasks/delivery.js";
import type { TaskRecord, TaskStatus } from "../tasks/task.js";
import type { DeliveryInsert, OutcomeUpdate, SqliteTaskTables, TaskInsert } from "./sqlite-task-tables.js";
import type { ActivityBucket, RecoverySummary, RedeliverStoreResult } from "./task-store.js";

/**
 * One task store operation as plain data, so it can cross to the thread that owns the database (structured clone).
 * JSON values are serialized before they get here: a value JSON cannot carry fails at the call, not in a batch.
 */
export type StoreOperation =
  | { kind: "createTask"; task: TaskInsert }
  | { kind: "getTask"; id: string }
  | { kind: "taskStatuses"; ids: readonly string[] }
  | { kind: "getTaskByKey"; api: string; idempotencyKey: string }
  | { kind: "claimQueued"; api: string; limit: number; now: number }
  | { kind: "finishTask"; id: string; outcome: OutcomeUpdate; delivery: DeliveryInsert | null }
  | { kind: "cancelTask"; id: string; outcome: OutcomeUpdate; delivery: DeliveryInsert | null }
  | { kind: "redeliver"; id: string; now: number }
  | { kind: "redeliverFailed"; api: string; finishedSince: number; now: number; limit: number }
  | { kind: "countUnfinished"; api: string }
  | { kind: "recover" }
  | { kind: "leaseDue"; now: number; limit: number; leaseMs: number }
  | { kind: "recordAttempt"; taskId: string; update: DeliveryUpdate; attempt: AttemptRecord | null }
  | { kind: "attempts"; taskId: string }
  | { kind: "listTasks"; query: TaskQuery }
  | { kind: "counts"; api: string }
  | { kind: "activity"; api: string; since: number; until: number; bucketMs: number; maxRows: number }
  | { kind: "nextDue" }
  | { kind: "sweepChunk"; finishedBefore: number; limit: number };

/** What each operation resolves to; every value survives structured clone. */
export interface StoreOperationResults {
  /** The task already holding the (api, idempotency key), or null when the new task was inserted. */
  createTask: TaskRecord | null;
  getTask: TaskRecord | undefined;
  taskStatuses: Array<TaskStatus | undefined>;
  getTaskByKey: TaskRecord | undefined;
  claimQueued: TaskRecord[];
  finishTask: boolean;
  cancelTask: TaskStatus | undefined;
  redeliver: RedeliverStoreResult;
  redeliverFailed: string[];
  countUnfinished: number;
  recover: RecoverySummary;
  leaseDue: DeliveryRecord[];
  recordAttempt: void;
  attempts: AttemptRecord[];
  listTasks: TaskSummary[];
  counts: ApiCounts;
  activity: ActivityBucket[];
  nextDue: number | undefined;
  sweepChunk: number;
}

/** An error as it crosses threads: the message, and SQLite's code when it has one. */
export interface SerializedError {
  message: string;
  sqliteCode?: string;
}

/** How one operation of a committed batch ended. */
export type OperationResult = { ok: true; value: unknown } | { ok: false; error: SerializedError };

/** How a batch ended: committed (each operation with its result), or rolled back whole. */
export type BatchOutcome = { committed: true; results: OperationResult[] } | { committed: false; error: SerializedError };

/** Runs one operation's SQL; called inside the batch's transaction. */
export function runOperation(tables: SqliteTaskTables, operation: StoreOperation): unknown {
  switch (operation.kind) {
    case "createTask":
      return tables.createTask(operation.task);
    case "getTask":
      return tables.getTask(operation.id);
    case "taskStatuses":
      return tables.taskStatuses(operation.ids);
    case "getTaskByKey":
      return tables.getTaskByKey(operation.api, operation.idempotencyKey);
    case "claimQueued":
      return tables.claimQueued(operation.api, operation.limit, operation.now);
    case "finishTask":
      return tables.finishTask(operation.id, operation.outcome, operation.delivery);
    case "cancelTask":
      return tables.cancelTask(operation.id, operation.outcome, operation.delivery);
    case "redeliver":
      return tables.redeliver(operation.id, operation.now);
    case "redeliverFailed":
      return tables.redeliverFailed(operation.api, operation.finishedSince, operation.now, operation.limit);
    case "countUnfinished":
      return tables.countUnfinished(operation.api);
    case "recover":
      return tables.recover();
    case "leaseDue":
      return tables.leaseDue(operation.now, operation.limit, operation.leaseMs);
    case "recordAttempt":
      return tables.recordAttempt(operation.taskId, operation.update, operation.attempt);
    case "attempts":
      return tables.attempts(operation.taskId);
    case "listTasks":
      return tables.listTasks(operation.query);
    case "counts":
      return tables.counts(operation.api);
    case "activity":
      return tables.activity(operation.api, operation.since, operation.until, operation.bucketMs, operation.maxRows);
    case "nextDue":
      return tables.nextDue();
    case "sweepChunk":
      return tables.sweepChunk(operation.finishedBefore, operation.limit);
  }
}

/** An error in a form that crosses threads. */
export function serializeError(error: unknown): SerializedError {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("SQLITE_") ? { message, sqliteCode: code } : { message };
}
