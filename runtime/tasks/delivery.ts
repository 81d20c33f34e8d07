import type { CallbackAuth, WebhookState } from "./task.js";

export type { WebhookStatus } from "./task.js";

/**
 * A report waiting in the outbox. The body is built once, when the task finishes, so every attempt sends the
 * same bytes under the same `webhook-id` and receivers can deduplicate.
 */
export interface DeliveryRecord {
  /** One report per task, so the task id keys its delivery. */
  taskId: string;
  api: string;
  url: string;
  /** Per-request credentials only; the API's default credentials are looked up in the config at send time. */
  auth?: CallbackAuth;
  body: string;
  webhookId: string;
  /** Headers of this report besides the standard ones (Modelbit's `x-mb-batch-id`); never credentials. */
  headers?: Record<string, string>;
  /** Overrides the API's webhook.ignore_timeout for this report (Modelbit's response_webhook_ignore_timeout). */
  ignoreTimeout?: boolean;
  status: "pending" | "delivered" | "failed";
  /** Attempts made so far. */
  attempts: number;
  /** Epoch milliseconds when the next attempt is scheduled (a lease, while an attempt runs, is the store's business). */
  nextAttemptAt: number;
  lastStatusCode?: number;
  lastError?: string;
}

/** The outbox entry written atomically with a task's outcome. */
export type NewDelivery =
  | (Pick<DeliveryRecord, "url" | "auth" | "body" | "webhookId" | "headers" | "ignoreTimeout" | "nextAttemptAt"> & {
      status: "pending";
      /**
       * Set when the dispatcher takes the report at once (an attempt slot was free): it is stored already leased to
       * this process until then, so no separate lease is needed. Epoch milliseconds.
       */
      leaseExpiresAt?: number;
    })
  | {
      status: "skipped";
      /** Why no report is sent, shown to the user as the webhook's `last_error`. */
      reason: string;
    };

/** What one attempt changed, recorded after it. */
export interface DeliveryUpdate {
  status: "pending" | "delivered" | "failed";
  attempts: number;
  /** When the next attempt is due; required while `status` stays pending. */
  nextAttemptAt?: number;
  lastStatusCode?: number;
  lastError?: string;
}

/** How one attempt ended, in the retry policy's words (see webhook/retry-policy.ts). */
export type AttemptOutcomeKind = "delivered" | "rejected" | "gone" | "retryable" | "timeout" | "refused";

/** One attempt of a report, kept for the delivery timeline. Never holds credentials or a URL's path or query. */
export interface AttemptRecord {
  /** 1 for the first attempt of the report's current schedule (a redelivery starts again at 1). */
  attempt: number;
  /** Epoch milliseconds. */
  startedAt: number;
  durationMs: number;
  /** `scheme://host:port` of the target: a path or query can hold a receiver's token. */
  origin: string;
  outcome: AttemptOutcomeKind;
  statusCode?: number;
  /** What went wrong, as the status answer's last_error says it. */
  error?: string;
  /** When the next attempt is due (epoch ms), when the retry policy scheduled one. */
  nextAttemptAt?: number;
}

/** The webhook state a status answer shows for a delivery. */
export function webhookStateOf(delivery: Pick<DeliveryRecord, "status" | "attempts" | "lastStatusCode" | "lastError">): WebhookState {
  const state: WebhookState = { status: delivery.status, attempts: delivery.attempts };
  if (delivery.lastStatusCode !== undefined) state.lastStatusCode = delivery.lastStatusCode;
  if (delivery.lastError !== undefined) state.lastError = delivery.lastError;
  return state;
}

/** A report as its first attempt sees it, built from the plan just stored (no read back). */
export function firstAttemptOf(
  task: { id: string; api: string },
  delivery: Extract<NewDelivery, { status: "pending" }>,
): DeliveryRecord {
  return {
    taskId: task.id,
    api: task.api,
    url: delivery.url,
    ...(delivery.auth === undefined ? {} : { auth: delivery.auth }),
    ...(delivery.headers === undefined ? {} : { headers: delivery.headers }),
    ...(delivery.ignoreTimeout === undefined ? {} : { ignoreTimeout: delivery.ignoreTimeout }),
    body: delivery.body,
    webhookId: delivery.webhookId,
    status: "pending",
    attempts: 0,
    nextAttemptAt: delivery.nextAttemptAt,
  };
}
