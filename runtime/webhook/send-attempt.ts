import { EventEmitter } from "node:events";
import { request, type Dispatcher } from "undici";
import type { WebhookConfig } from "../config/api-config.js";
import type { DeliveryRecord } from "../tasks/delivery.js";
import type { CallbackAuth } from "../tasks/task.js";
import { VERSION } from "../version.js";
import { basicToken, redactSecrets, secretsOf } from "./attempt-secrets.js";
import { describeConnectionError } from "./connection-errors.js";
import { CallbackAddressRefusedError } from "./network-guard.js";
import { classifyStatus, parseRetryAfter, type AttemptOutcome } from "./retry-policy.js";
import { decodeSigningSecret, signWebhook } from "./signature.js";

/** The most of a receiver's answer that is read; the rest is discarded with the connection. */
export const MAX_RESPONSE_BYTES = 64 * 1024;
const USER_AGENT = `predictor-runtime/${VERSION}`;
/** How much of a receiver's answer is kept for last_error. */
const ANSWER_EXCERPT_CHARS = 200;

/** Options of {@link sendAttempt}. */
export interface SendAttemptOptions {
  /** The guarded dispatcher to send through, from `ConnectionPool.dispatcherFor` (it holds the client certificate). */
  dispatcher: Dispatcher;
  /** Credentials the attempt uses (per request, or the API's default where it may go to this URL). */
  auth?: CallbackAuth;
  /** Aborts the attempt from outside (shutdown); the caller then does not record it. */
  signal?: AbortSignal;
  now?: () => number;
}

/** The request headers of one attempt (contract section 4). `timestampSeconds` is this attempt's time. */
export function reportHeaders(
  delivery: Pick<DeliveryRecord, "taskId" | "webhookId" | "body" | "headers">,
  webhook: Pick<WebhookConfig, "signingSecret">,
  timestampSeconds: number,
  auth?: CallbackAuth,
): Record<string, string> {
  const headers: Record<string, string> = {
    // First, so no report-specific header (x-mb-batch-id) can replace a standard one.
    ...delivery.headers,
    "content-type": "application/json",
    "user-agent": USER_AGENT,
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
    headers.authorization = `Basic ${basicToken(auth.username, auth.password)}`;
  }
  return headers;
}

/**
 * Sends one attempt of a report and says how it ended; never throws. `timeoutMs` bounds the whole exchange
 * (connect, send, status line and headers, and the capped body read), not just idle gaps, so a receiver trickling
 * bytes is cut off at the deadline and its connection closed.
 */
export async function sendAttempt(
  delivery: DeliveryRecord,
  webhook: Pick<WebhookConfig, "signingSecret" | "timeoutMs">,
  options: SendAttemptOptions,
): Promise<AttemptOutcome> {
  const now = options.now ?? Date.now;
  const exchange = new ExchangeAbort();
  // A plain timer rather than AbortSignal.timeout, so it is cleared the moment the attempt ends.
  const deadline = setTimeout(abortAtDeadline, webhook.timeoutMs, exchange);
  const shutdown = options.signal;
  const onShutdown = (): void => exchange.abort(shutdown?.reason);
  if (shutdown?.aborted) onShutdown();
  else shutdown?.addEventListener("abort", onShutdown, { once: true });

  const headers = reportHeaders(delivery, webhook, Math.floor(now() / 1000), options.auth);
  try {
    // The signal also covers the answer's body: aborting after the status line destroys the body stream.
    const response = await request(delivery.url, {
      method: "POST",
      headers,
      body: delivery.body,
      dispatcher: options.dispatcher,
      signal: exchange,
    });
    const retryAfterMs = parseRetryAfter(response.headers["retry-after"], now());
    const outcome = classifyStatus(response.statusCode, retryAfterMs);
    // Once the status line arrived the receiver has decided: a body cut off at the deadline or at the size cap does
    // not change the outcome. A delivered report keeps nothing of the answer, so its body is only drained.
    if (outcome.kind === "delivered") {
      await response.body.dump({ limit: MAX_RESPONSE_BYTES });
      return outcome;
    }
    // Redacted before it is cut to an excerpt: a secret cut in half by the excerpt would no longer match.
    const secrets = secretsOf(webhook, options.auth);
    return withAnswer(outcome, excerpt(redactSecrets(await readAnswer(response.body, longestLength(secrets)), secrets)));
  } catch (error) {
    if (exchange.timedOut) {
      return { kind: "timeout", error: `no complete answer within timeout_s (${webhook.timeoutMs / 1000} s); the connection was closed` };
    }
    const refusal = findCause(error, CallbackAddressRefusedError);
    if (refusal !== undefined) return { kind: "refused", error: refusal.message };
    return { kind: "retryable", error: describeConnectionError(error, { secrets: secretsOf(webhook, options.auth), mtls: options.auth?.kind === "mtls" }) };
  } finally {
    clearTimeout(deadline);
    shutdown?.removeEventListener("abort", onShutdown);
  }
}

/**
 * Aborts one exchange: at its deadline, or at shutdown. An EventEmitter, which undici takes as a request signal
 * (`signal.on("abort")`), rather than an AbortController: one is made per attempt, and an AbortSignal (an
 * EventTarget) costs several times as much to create and to listen on.
 */
class ExchangeAbort extends EventEmitter {
  aborted = false;
  timedOut = false;
  reason: unknown;

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.emit("abort");
  }
}

function abortAtDeadline(exchange: ExchangeAbort): void {
  exchange.timedOut = true;
  exchange.abort(new Error("no complete answer within timeout_s"));
}

/**
 * Reads at most {@link MAX_RESPONSE_BYTES} of the answer and keeps its start as text; beyond the cap the body is
 * destroyed, which closes the connection. The exchange's deadline destroys it too (see {@link sendAttempt}). Never
 * throws.
 */
async function readAnswer(body: Dispatcher.ResponseData["body"], longestSecretChars: number): Promise<string> {
  const kept: Buffer[] = [];
  let keptBytes = 0;
  let received = 0;
  try {
    for await (const chunk of body) {
      const bytes = chunk as Buffer;
      received += bytes.length;
      // Enough for the excerpt plus a whole secret starting inside it (4 bytes at most a character).
      if (keptBytes < (ANSWER_EXCERPT_CHARS + longestSecretChars) * 4) {
        kept.push(bytes);
        keptBytes += bytes.length;
      }
      if (received > MAX_RESPONSE_BYTES) {
        body.destroy();
        break;
      }
    }
  } catch {
    // Destroyed at the deadline or reset by the receiver: what arrived is all there is.
  }
  return Buffer.concat(kept).toString("utf8");
}

function longestLength(strings: readonly string[]): number {
  return strings.reduce((longest, text) => Math.max(longest, text.length), 0);
}

/** One line of printable text, at most {@link ANSWER_EXCERPT_CHARS} long. */
function excerpt(text: string): string {
  const line = text.replace(/[\u0000-\u001f\u007f-\u009f\s]+/g, " ").trim();
  const characters = [...line];
  return characters.length > ANSWER_EXCERPT_CHARS ? `${characters.slice(0, ANSWER_EXCERPT_CHARS).join("")}…` : line;
}

function withAnswer(outcome: AttemptOutcome, answer: string): AttemptOutcome {
  if (answer === "" || outcome.kind === "delivered" || outcome.kind === "timeout" || outcome.kind === "refused") return outcome;
  return { ...outcome, answer };
}

/** The first error of `type` in the cause chain of `error`. */
function findCause<T extends Error>(error: unknown, type: abstract new (...args: never[]) => T): T | undefined {
  const seen = new Set<unknown>();
  for (let current = error; current instanceof Error && !seen.has(current); current = current.cause) {
    if (current instanceof type) return current;
    seen.add(current);
  }
  return undefined;
}
