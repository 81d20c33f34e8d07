import type { ApiConfig } from "../config/api-config.js";
import type { NewDelivery } from "../tasks/delivery.js";
import type { CallbackAuth, TaskRecord } from "../tasks/task.js";
import { firstAttemptDelay } from "../webhook/retry-policy.js";
import { reportHeadersOf } from "./report.js";

/** The `webhook-id` of a task's report: stable across retries, and across a crash that re-runs the task. */
export function webhookIdOf(taskId: string): string {
  return `msg_${taskId}`;
}

/**
 * Decides where a finished task's report goes: the request's callback_url, else the API's default, and only when
 * post_inference_hooks lists callback. Returns null when no report was ever expected, or a skip with the reason
 * when one might have been.
 */
export function planDelivery(api: ApiConfig, task: TaskRecord, body: string, now: number, random?: () => number): NewDelivery | null {
  const url = task.callback?.url ?? api.webhook.defaultCallbackUrl;
  if (!api.webhook.callbackEnabled && task.callback?.requested !== true) {
    return task.callback?.url === undefined
      ? null
      : { status: "skipped", reason: `not sent: API ${api.name} does not list callback in webhook.post_inference_hooks` };
  }
  if (url === undefined) {
    return { status: "skipped", reason: `not sent: no callback_url was given and API ${api.name} has no default_callback_url` };
  }
  // Only per-request credentials are stored; the API's defaults are read from the config at send time, so they
  // never reach the disk and a rotated password applies to reports already queued.
  const auth = task.callback?.auth;
  const headers = reportHeadersOf(task.id, task.format);
  const ignoreTimeout = task.callback?.ignoreTimeout;
  return {
    status: "pending",
    url,
    ...(auth === undefined ? {} : { auth }),
    ...(headers === undefined ? {} : { headers }),
    ...(ignoreTimeout === undefined ? {} : { ignoreTimeout }),
    body,
    webhookId: webhookIdOf(task.id),
    nextAttemptAt: now + firstAttemptDelay(api.webhook, random),
  };
}

/**
 * The API's default credentials, if they may go to `url`. A client certificate proves identity without revealing
 * its key, so it is presented to any callback; a basic-auth password is sent only to the origin of
 * default_callback_url, so a client choosing a callback_url cannot collect it.
 */
export function defaultAuthFor(api: Pick<ApiConfig, "webhook">, url: string): CallbackAuth | undefined {
  const auth = api.webhook.defaultCallbackAuth;
  if (auth === undefined || auth.kind === "mtls") return auth;
  const defaultUrl = api.webhook.defaultCallbackUrl;
  return defaultUrl !== undefined && new URL(defaultUrl).origin === new URL(url).origin ? auth : undefined;
}
