import type { TaskSummary } from "../engine/engine.js";
import type { AttemptOutcomeKind, AttemptRecord, DeliveryRecord } from "../tasks/delivery.js";
import { ERASED_AUTH } from "./sqlite-task-tables.js";
import { webhookStateOf } from "../tasks/delivery.js";
import { parseStoredOutcome } from "../tasks/outcome-json.js";
import { formatOf, type CallbackTarget, type TaskRecord, type TaskStatus, type WebhookStatus } from "../tasks/task.js";

/** A row of `tasks`, as SQLite returns it. */
export interface TaskRow {
  seq: number;
  id: string;
  api: string;
  format: string;
  idempotency_key: string | null;
  payload: string;
  callback: string | null;
  batch: number;
  status: string;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  outcome: string | null;
  webhook_skip_reason: string | null;
}

/** A task row joined with its delivery's state (null columns when it has none). */
export type TaskWithDeliveryRow = TaskRow & {
  d_status: string | null;
  d_attempts: number | null;
  d_last_status_code: number | null;
  d_last_error: string | null;
};

/** A row of `deliveries`, as SQLite returns it. */
export interface DeliveryRow {
  task_id: string;
  api: string;
  url: string;
  auth: string | null;
  body: string;
  webhook_id: string;
  headers: string | null;
  ignore_timeout: number | null;
  status: string;
  attempts: number;
  next_attempt_at: number;
  last_status_code: number | null;
  last_error: string | null;
  lease_expires_at: number | null;
}

/** A task row (with or without its delivery's state) as the record the rest of the runtime uses. */
export function toTaskRecord(row: TaskRow | TaskWithDeliveryRow): TaskRecord {
  const record: TaskRecord = {
    id: row.id,
    api: row.api,
    format: formatOf(row.format),
    payloadJson: row.payload,
    createdAt: row.created_at,
    status: row.status as TaskStatus,
  };
  if (row.idempotency_key !== null) record.idempotencyKey = row.idempotency_key;
  if (row.batch === 1) record.batch = true;
  if (row.callback !== null) record.callback = JSON.parse(row.callback) as CallbackTarget;
  if (row.started_at !== null) record.startedAt = row.started_at;
  if (row.outcome !== null) record.outcome = parseStoredOutcome(row.outcome);
  const delivery = "d_status" in row ? row : undefined;
  if (delivery !== undefined && delivery.d_status !== null) {
    record.webhook = webhookStateOf({
      status: delivery.d_status as DeliveryRecord["status"],
      attempts: delivery.d_attempts ?? 0,
      lastStatusCode: delivery.d_last_status_code ?? undefined,
      lastError: delivery.d_last_error ?? undefined,
    });
  } else if (row.webhook_skip_reason !== null) {
    record.webhook = { status: "skipped", attempts: 0, lastError: row.webhook_skip_reason };
  }
  return record;
}

/** A delivery row as the outbox record the dispatcher sends. */
export function toDeliveryRecord(row: DeliveryRow): DeliveryRecord {
  const record: DeliveryRecord = {
    taskId: row.task_id,
    api: row.api,
    url: row.url,
    body: row.body,
    webhookId: row.webhook_id,
    status: row.status as DeliveryRecord["status"],
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
  };
  if (row.auth !== null && row.auth !== ERASED_AUTH) record.auth = JSON.parse(row.auth) as DeliveryRecord["auth"];
  if (row.headers !== null) record.headers = JSON.parse(row.headers) as Record<string, string>;
  if (row.ignore_timeout !== null) record.ignoreTimeout = row.ignore_timeout === 1;
  if (row.last_status_code !== null) record.lastStatusCode = row.last_status_code;
  if (row.last_error !== null) record.lastError = row.last_error;
  return record;
}

/** A row of `attempts`. */
export interface AttemptRow {
  task_id: string;
  attempt: number;
  started_at: number;
  duration_ms: number;
  origin: string;
  outcome: string;
  status_code: number | null;
  error: string | null;
  next_attempt_at: number | null;
}

/** A task list row: the task's state and its report's, without payload or outcome. */
export interface TaskSummaryRow {
  id: string;
  api: string;
  status: string;
  created_at: number;
  finished_at: number | null;
  webhook_skip_reason: string | null;
  d_status: string | null;
  d_attempts: number | null;
}

export function toAttemptRecord(row: AttemptRow): AttemptRecord {
  const record: AttemptRecord = {
    attempt: row.attempt,
    startedAt: row.started_at,
    durationMs: row.duration_ms,
    origin: row.origin,
    outcome: row.outcome as AttemptOutcomeKind,
  };
  if (row.status_code !== null) record.statusCode = row.status_code;
  if (row.error !== null) record.error = row.error;
  if (row.next_attempt_at !== null) record.nextAttemptAt = row.next_attempt_at;
  return record;
}

export function toTaskSummary(row: TaskSummaryRow): TaskSummary {
  const summary: TaskSummary = { id: row.id, api: row.api, status: row.status as TaskStatus, createdAt: row.created_at };
  if (row.finished_at !== null) summary.finishedAt = row.finished_at;
  if (row.d_status !== null) {
    summary.webhookStatus = row.d_status as WebhookStatus;
    summary.webhookAttempts = row.d_attempts ?? 0;
  } else if (row.webhook_skip_reason !== null) {
    summary.webhookStatus = "skipped";
    summary.webhookAttempts = 0;
  }
  return summary;
}
