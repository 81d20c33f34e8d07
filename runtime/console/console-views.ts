import type { ApiConfig } from "../config/api-config.js";
import { webhookView } from "../http/views.js";
import { cortexStatusJson } from "../http/views.js";
import { RawJson, stringifyMembers } from "../shared/raw-json.js";
import type { ApiCounts, TaskSummary } from "../engine/engine.js";
import type { ActivityBucket } from "../store/task-store.js";
import type { AttemptRecord } from "../tasks/delivery.js";
import type { TaskRecord } from "../tasks/task.js";
import { redactCallbackUrl } from "../webhook/callback-url.js";

/**
 * The console's JSON, in the wire's snake_case. Built from the records the status routes use, and never from a
 * delivery's credentials: a view names an auth kind, never its password, key or certificate.
 */

/** Payloads and results above this are sent as a preview: the page folds them anyway, and a browser tab is no place for 10 MiB. */
export const MAX_INLINE_JSON_CHARS = 256 * 1024;
const PREVIEW_CHARS = 16 * 1024;

export function apiView(api: ApiConfig, counts: ApiCounts): Record<string, unknown> {
  return {
    name: api.name,
    kind: api.kind,
    webhook: api.webhook.callbackEnabled,
    tasks: counts.tasks,
    reports: counts.reports,
  };
}

export function summaryView(task: TaskSummary): Record<string, unknown> {
  const view: Record<string, unknown> = { id: task.id, api: task.api, status: task.status, created_at: task.createdAt };
  if (task.finishedAt !== undefined) view.finished_at = task.finishedAt;
  if (task.webhookStatus !== undefined) view.webhook = { status: task.webhookStatus, attempts: task.webhookAttempts ?? 0 };
  return view;
}

export function attemptView(attempt: AttemptRecord): Record<string, unknown> {
  const view: Record<string, unknown> = {
    attempt: attempt.attempt,
    started_at: attempt.startedAt,
    duration_ms: attempt.durationMs,
    origin: attempt.origin,
    outcome: attempt.outcome,
  };
  if (attempt.statusCode !== undefined) view.status_code = attempt.statusCode;
  if (attempt.error !== undefined) view.error = attempt.error;
  if (attempt.nextAttemptAt !== undefined) view.next_attempt_at = attempt.nextAttemptAt;
  return view;
}

export function activityView(bucket: ActivityBucket): Record<string, unknown> {
  const view: Record<string, unknown> = { start: bucket.start, finished: bucket.finished, delivered: bucket.delivered };
  if (bucket.p50LatencyMs !== undefined) view.p50_latency_ms = bucket.p50LatencyMs;
  if (bucket.p99LatencyMs !== undefined) view.p99_latency_ms = bucket.p99LatencyMs;
  return view;
}

/** JSON text embedded whole when small, else a preview of its text the page shows as such. */
function embedded(members: Record<string, unknown>, name: string, json: string): void {
  if (json.length <= MAX_INLINE_JSON_CHARS) {
    members[name] = new RawJson(json);
  } else {
    members[`${name}_preview`] = json.slice(0, PREVIEW_CHARS);
    members[`${name}_chars`] = json.length;
  }
}

/**
 * One task for the task view: its Cortex status answer (the status route's own view), its payload and outcome,
 * where its report goes (origin and redacted path, the auth kind), and its attempts.
 */
export function taskDetailJson(task: TaskRecord, attempts: readonly AttemptRecord[], api: ApiConfig | undefined): string {
  const members: Record<string, unknown> = {
    id: task.id,
    api: task.api,
    format: task.format,
    status: task.status,
    created_at: task.createdAt,
    started_at: task.startedAt,
    finished_at: task.outcome?.finishedAt,
    idempotency_key: task.idempotencyKey,
  };
  const callbackUrl = task.callback?.url ?? api?.webhook.defaultCallbackUrl;
  if (callbackUrl !== undefined) members.callback_url = redactCallbackUrl(callbackUrl);
  // Per-request credentials are erased from the task once it finishes, so their kind shows only until then.
  if (task.callback?.auth !== undefined) members.callback_auth = `${task.callback.auth.kind} (per request)`;
  else if (task.callback?.url === undefined && api?.webhook.defaultCallbackAuth !== undefined) members.callback_auth = `${api.webhook.defaultCallbackAuth.kind} (the API's default_callback_auth)`;
  embedded(members, "payload", task.payloadJson);
  const outcome = task.outcome;
  if (outcome?.status === "completed") embedded(members, "result", outcome.resultJson);
  if (outcome?.status === "failed") {
    members.error = outcome.error;
    members.traceback = outcome.traceback;
  }
  if (task.webhook) members.webhook = webhookView(task.webhook);
  members.attempts = attempts.map(attemptView);
  // The status route's own answer, so the page can show what a client polling it sees; the result is left out
  // here when it is large (the member above has its preview).
  const status = cortexStatusJson(task);
  if (status.length <= MAX_INLINE_JSON_CHARS) members.status_answer = new RawJson(status);
  return stringifyMembers(members);
}
