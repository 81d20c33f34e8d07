import { Agent, request, type Dispatcher } from "undici";
import type { WebhookConfig } from "../config/api-config.js";
import type { DeliveryRecord } from "../tasks/delivery.js";
import type { CallbackAuth } from "../tasks/task.js";
import { VERSION } from "../version.js";
import { classifyStatus, parseRetryAfter, type AttemptOutcome } from "./retry-policy.js";
import { decodeSigningSecret, signWebhook } from "./signature.js";

/** The most of a receiver's answer that is read; the rest is discarded with the connection. */
export const MAX_RESPONSE_BYTES = 64 * 1024;

/** Picks the undici dispatcher (connection pool) for a delivery's credentials. */
export type DispatcherFor = (auth: CallbackAuth | undefined) => Dispatcher;

const sharedAgent = new Agent();
const defaultDispatcherFor: DispatcherFor = () => sharedAgent;

/** Options of {@link sendAttempt}. */
export interface SendAttemptOptions {
  /** Credentials the attempt uses (per request, or the API's default where it may go to this URL). */
  auth?: CallbackAuth;
  dispatcherFor?: DispatcherFor;
  /** Aborts the attempt from outside (shutdown); the caller then does not record it. */
  signal?: AbortSignal;
  now?: () => number;
}

/** The request headers of one attempt (contract section 4). `timestampSeconds` is this attempt's time. */
export function reportHeaders(
  delivery: Pick<DeliveryRecord, "taskId" | "webhookId" | "body">,
  webhook: Pick<WebhookConfig, "signingSecret">,
  timestampSeconds: number,
  auth?: CallbackAuth,
): Record<string, string> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": `predictor-runtime/${VERSION}`,
    "x-request-id": delivery.taskId,
    "webhook-id": delivery.webhookId,
    "webhook-timestamp": String(timestampSeconds),
  };
  if (webhook.signingSecret !== undefined) {
    const secret = decodeSigningSecret(webhook.signingSecret);
    // The config loader refused invalid secrets, so this only guards against misuse of this function.
    if ("key" in secret) headers["webhook-signature"] = signWebhook(secret.key, delivery.webhookId, timestampSeconds, delivery.body);
  }
  if (auth?.kind === "basic") {
    headers.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}`;
  }
  return headers;
}

/**
 * Sends one attempt of a report and says how it ended; never throws. `timeoutMs` bounds the whole exchange
 * (connect, send, status, and the capped body read), not just idle gaps, so a receiver trickling bytes is cut off.
 */
export async function sendAttempt(
  delivery: DeliveryRecord,
  webhook: Pick<WebhookConfig, "signingSecret" | "timeoutMs">,
  options: SendAttemptOptions = {},
): Promise<AttemptOutcome> {
  const now = options.now ?? Date.now;
  const deadline = AbortSignal.timeout(webhook.timeoutMs);
  const signal = options.signal ? AbortSignal.any([deadline, options.signal]) : deadline;
  const headers = reportHeaders(delivery, webhook, Math.floor(now() / 1000), options.auth);
  const dispatcher = (options.dispatcherFor ?? defaultDispatcherFor)(options.auth);
  let statusCode: number | undefined;
  try {
    const response = await request(delivery.url, { method: "POST", headers, body: delivery.body, dispatcher, signal });
    statusCode = response.statusCode;
    const retryAfterMs = parseRetryAfter(response.headers["retry-after"], now());
    await drain(response.body, signal);
    return classifyStatus(statusCode, retryAfterMs);
  } catch (error) {
    // Once the status line arrived the receiver has decided; a slow or oversized body does not change that.
    if (statusCode !== undefined) return classifyStatus(statusCode);
    if (deadline.aborted) {
      return { kind: "timeout", error: `no answer within timeout_s (${webhook.timeoutMs / 1000} s)` };
    }
    return { kind: "retryable", error: describeConnectionError(error) };
  }
}

/** Reads and discards at most {@link MAX_RESPONSE_BYTES} of the answer, then drops the connection if more follows. */
async function drain(body: Dispatcher.ResponseData["body"], signal: AbortSignal): Promise<void> {
  let received = 0;
  const onAbort = (): void => {
    body.destroy();
  };
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    for await (const chunk of body) {
      received += (chunk as Buffer).length;
      if (received > MAX_RESPONSE_BYTES) {
        body.destroy();
        return;
      }
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

const CONNECTION_ERRORS: Record<string, string> = {
  ECONNREFUSED: "connection refused: nothing listens at the callback address",
  ECONNRESET: "the receiver reset the connection",
  ENOTFOUND: "the callback host name does not resolve",
  EAI_AGAIN: "the callback host name could not be resolved (temporary DNS failure)",
  EHOSTUNREACH: "the callback host is unreachable",
  ENETUNREACH: "the callback network is unreachable",
  UND_ERR_SOCKET: "the receiver closed the connection without a complete answer",
  UND_ERR_CLOSED: "the connection closed before an answer",
  HPE_INVALID_CONSTANT: "the receiver's answer is not valid HTTP",
  HPE_INVALID_STATUS: "the receiver's answer has an invalid status line",
  HPE_INVALID_HEADER_TOKEN: "the receiver's answer has invalid headers",
  DEPTH_ZERO_SELF_SIGNED_CERT: "the receiver's certificate is self-signed and not trusted (set ca, or NODE_EXTRA_CA_CERTS)",
  SELF_SIGNED_CERT_IN_CHAIN: "the receiver's certificate chain ends in an untrusted self-signed CA (set ca, or NODE_EXTRA_CA_CERTS)",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "the receiver's certificate is not signed by a trusted CA (set ca, or NODE_EXTRA_CA_CERTS)",
  CERT_HAS_EXPIRED: "the receiver's certificate has expired",
  ERR_TLS_CERT_ALTNAME_INVALID: "the receiver's certificate does not name the callback host",
};

/** A connection failure in words a receiver's owner can act on; never includes credentials. */
export function describeConnectionError(error: unknown): string {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current instanceof Error && !seen.has(current)) {
    seen.add(current);
    const code = (current as NodeJS.ErrnoException).code;
    if (code && CONNECTION_ERRORS[code]) return `${CONNECTION_ERRORS[code]} (${code})`;
    current = current.cause;
  }
  const first = error instanceof Error ? error : undefined;
  const code = (first as NodeJS.ErrnoException | undefined)?.code;
  return `connection failed: ${first?.message ?? String(error)}${code ? ` (${code})` : ""}`;
}
