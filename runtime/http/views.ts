import { LAUNCH_CANCELLED_TRACEBACK } from "../outbox/report.js";
import { RawJson, stringifyMembers, type JsonMembers } from "../shared/raw-json.js";
import type { TaskRecord, TaskStatus, WebhookState } from "../tasks/task.js";

/** The `webhook` object of a status answer (the same on every surface). */
export interface WebhookView {
  status: WebhookState["status"];
  attempts: number;
  last_status_code?: number;
  last_error?: string;
}

/** Launch task statuses, by Cortex status: the Launch client knows no cancelled status, so a cancel is a FAILURE. */
const LAUNCH_STATUS = { in_queue: "PENDING", in_progress: "STARTED", completed: "SUCCESS", failed: "FAILURE", cancelled: "FAILURE" } as const;

/** The webhook state in wire form. */
export function webhookView(state: WebhookState): WebhookView {
  const view: WebhookView = { status: state.status, attempts: state.attempts };
  if (state.lastStatusCode !== undefined) view.last_status_code = state.lastStatusCode;
  if (state.lastError !== undefined) view.last_error = state.lastError;
  return view;
}

/**
 * `GET /NAME/ID` (Cortex surface) as JSON text: `{"id","status","result"?,"error"?,"timestamp"?,"webhook"?}`, the
 * result embedded as the text it was stored as.
 */
export function cortexStatusJson(task: TaskRecord): string {
  const outcome = task.outcome;
  const members: Record<string, unknown> = { id: task.id, status: task.status };
  if (outcome?.status === "completed") members.result = new RawJson(outcome.resultJson);
  if (outcome?.status === "failed") members.error = outcome.error;
  if (outcome) members.timestamp = new Date(outcome.finishedAt).toISOString();
  if (task.webhook) members.webhook = webhookView(task.webhook);
  return stringifyMembers(members);
}

/** `GET /v1/async-tasks/ID` (Launch surface) as JSON text: `{"task_id","status","result"?,"traceback"?,"webhook"?}`. */
export function launchStatusJson(task: TaskRecord): string {
  const outcome = task.outcome;
  const members: Record<string, unknown> = { task_id: task.id, status: LAUNCH_STATUS[task.status satisfies TaskStatus] };
  if (outcome?.status === "completed") members.result = new RawJson(outcome.resultJson);
  if (outcome?.status === "failed") members.traceback = outcome.traceback ?? outcome.error;
  if (outcome?.status === "cancelled") members.traceback = LAUNCH_CANCELLED_TRACEBACK;
  if (task.webhook) members.webhook = webhookView(task.webhook);
  return stringifyMembers(members satisfies JsonMembers);
}
