import { LAUNCH_CANCELLED_TRACEBACK } from "../outbox/report.js";
import { RawJson, stringifyMembers, type JsonMembers } from "../shared/raw-json.js";
import type { ApiRuntime } from "../tasks/task-service.js";
import type { TaskOutcome, TaskRecord, TaskStatus, WebhookState } from "../tasks/task.js";
import { redactCallbackUrl } from "../webhook/callback-url.js";

/** The `webhook` object of a status answer (the same on every surface). */
export interface WebhookView {
  status: WebhookState["status"];
  attempts: number;
  last_status_code?: number;
  last_error?: string;
}

/**
 * Launch task statuses, by Cortex status. The official client polls while the status is PENDING and raises
 * "Unrecognized status" on anything but PENDING, SUCCESS and FAILURE, so a running task reads PENDING too (as Launch's
 * own server shows it), and a cancel, which it has no word for, is a FAILURE.
 */
const LAUNCH_STATUS = { in_queue: "PENDING", in_progress: "PENDING", completed: "SUCCESS", failed: "FAILURE", cancelled: "FAILURE" } as const;

/** Wraps a result's JSON text as Launch's task answers carry it, `{"result": <value>}`, without parsing it. */
function launchResult(resultJson: string): RawJson {
  return new RawJson(`{"result":${resultJson}}`);
}

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
  if (outcome?.status === "completed") members.result = launchResult(outcome.resultJson);
  if (outcome?.status === "failed") members.traceback = outcome.traceback ?? outcome.error;
  if (outcome?.status === "cancelled") members.traceback = LAUNCH_CANCELLED_TRACEBACK;
  if (task.webhook) members.webhook = webhookView(task.webhook);
  return stringifyMembers(members satisfies JsonMembers);
}

/** `POST /v1/sync-tasks` answer: `{"status":"SUCCESS","result":{"result":<value>}}` or `{"status":"FAILURE","traceback"}`. */
export function launchSyncAnswerJson(outcome: TaskOutcome): string {
  switch (outcome.status) {
    case "completed":
      return stringifyMembers({ status: "SUCCESS", result: launchResult(outcome.resultJson) });
    case "failed":
      return stringifyMembers({ status: "FAILURE", traceback: outcome.traceback ?? outcome.error });
    case "cancelled":
      return stringifyMembers({ status: "FAILURE", traceback: LAUNCH_CANCELLED_TRACEBACK });
  }
}

/** One entry of `GET /v1/model-endpoints`, as the Launch client builds its ModelEndpoint from it. */
export interface LaunchEndpointView {
  id: string;
  name: string;
  endpoint_type: "async" | "sync";
  status: "READY" | "UPDATE_PENDING";
  post_inference_hooks: string[];
  default_callback_url?: string;
}

/** An API as a Launch model endpoint; its id is its name. The default callback URL is shown without its query. */
export function launchEndpointView(api: ApiRuntime): LaunchEndpointView {
  const { config } = api;
  const view: LaunchEndpointView = {
    id: config.name,
    name: config.name,
    endpoint_type: config.kind === "AsyncAPI" ? "async" : "sync",
    status: api.ready ? "READY" : "UPDATE_PENDING",
    post_inference_hooks: config.webhook.callbackEnabled ? ["callback"] : [],
  };
  if (config.kind === "AsyncAPI" && config.webhook.defaultCallbackUrl !== undefined) view.default_callback_url = redactCallbackUrl(config.webhook.defaultCallbackUrl);
  return view;
}
