import type { TaskRecord, TaskStatus, WebhookState } from "../tasks/task.js";

/** The `webhook` object of a status answer (the same on both surfaces). */
export interface WebhookView {
  status: WebhookState["status"];
  attempts: number;
  last_status_code?: number;
  last_error?: string;
}

/** `GET /NAME/ID` answer (Cortex surface). */
export interface CortexStatusView {
  id: string;
  status: TaskStatus;
  result?: unknown;
  error?: string;
  timestamp?: string;
  webhook?: WebhookView;
}

/** Launch task statuses, by Cortex status. */
const LAUNCH_STATUS = { in_queue: "PENDING", in_progress: "STARTED", completed: "SUCCESS", failed: "FAILURE" } as const;

/** `GET /v1/async-tasks/ID` answer (Launch surface). */
export interface LaunchStatusView {
  task_id: string;
  status: (typeof LAUNCH_STATUS)[TaskStatus];
  result?: unknown;
  traceback?: string;
  webhook?: WebhookView;
}

/** The webhook state in wire form. */
export function webhookView(state: WebhookState): WebhookView {
  const view: WebhookView = { status: state.status, attempts: state.attempts };
  if (state.lastStatusCode !== undefined) view.last_status_code = state.lastStatusCode;
  if (state.lastError !== undefined) view.last_error = state.lastError;
  return view;
}

/** A task as the Cortex surface shows it. */
export function cortexStatusView(task: TaskRecord): CortexStatusView {
  const view: CortexStatusView = { id: task.id, status: task.status };
  const outcome = task.outcome;
  if (outcome?.status === "completed") view.result = outcome.result;
  if (outcome?.status === "failed") view.error = outcome.error;
  if (outcome) view.timestamp = new Date(outcome.finishedAt).toISOString();
  if (task.webhook) view.webhook = webhookView(task.webhook);
  return view;
}

/** A task as the Launch surface shows it. */
export function launchStatusView(task: TaskRecord): LaunchStatusView {
  const view: LaunchStatusView = { task_id: task.id, status: LAUNCH_STATUS[task.status] };
  const outcome = task.outcome;
  if (outcome?.status === "completed") view.result = outcome.result;
  if (outcome?.status === "failed") view.traceback = outcome.traceback ?? outcome.error;
  if (task.webhook) view.webhook = webhookView(task.webhook);
  return view;
}
