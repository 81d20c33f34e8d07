import { errors, request, type Dispatcher } from "undici";
import type { WebhookConfig } from "../config/api-config.js";
import type { DeliveryRecord } from "../tasks/delivery.js";
import type { CallbackAuth } from "../tasks/task.js";
import { VERSION } from "../version.js";
import { CallbackAddressRefusedError } from "./network-guard.js";
import { classifyStatus, parseRetryAfter, type AttemptOutcome } from "./retry-policy.js";
import { decodeSigningSecret, signWebhook } from "./signature.js";

/** The most of a receiver's answer that is read; the rest is discarded with the connection. */
export const MAX_RESPONSE_BYTES = 64 * 1024;
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
  const exchange = new AbortController();
  let timedOut = false;
  // A plain timer rather than AbortSignal.timeout, so it is cleared the moment the attempt ends.
  const deadline = setTimeout(() => {
    timedOut = true;
    exchange.abort(new Error(`no complete answer within timeout_s`));
  }, webhook.timeoutMs);
  const onShutdown = (): void => exchange.abort(options.signal?.reason);
  if (options.signal?.aborted) onShutdown();
  else options.signal?.addEventListener("abort", onShutdown, { once: true });

  const secrets = secretsOf(webhook, options.auth);
  const headers = reportHeaders(delivery, webhook, Math.floor(now() / 1000), options.auth);
  let statusCode: number | undefined;
  let retryAfterMs: number | undefined;
  try {
    const response = await request(delivery.url, {
      method: "POST",
      headers,
      body: delivery.body,
      dispatcher: options.dispatcher,
      signal: exchange.signal,
    });
    statusCode = response.statusCode;
    retryAfterMs = parseRetryAfter(response.headers["retry-after"], now());
    const answer = redact(await readAnswer(response.body, exchange.signal), secrets);
    return withAnswer(classifyStatus(statusCode, retryAfterMs), answer);
  } catch (error) {
    // Once the status line arrived the receiver has decided; a slow or oversized body does not change that.
    if (statusCode !== undefined) return classifyStatus(statusCode, retryAfterMs);
    if (timedOut) {
      return { kind: "timeout", error: `no complete answer within timeout_s (${webhook.timeoutMs / 1000} s); the connection was closed` };
    }
    const refusal = findCause(error, CallbackAddressRefusedError);
    if (refusal !== undefined) return { kind: "refused", error: refusal.message };
    const described = describeConnectionError(error, secrets);
    return { kind: "retryable", error: options.auth?.kind === "mtls" && isHangUp(error) ? `${described}; ${MTLS_HANG_UP_HINT}` : described };
  } finally {
    clearTimeout(deadline);
    options.signal?.removeEventListener("abort", onShutdown);
  }
}

/**
 * Reads at most {@link MAX_RESPONSE_BYTES} of the answer and keeps its start as text; beyond the cap, or when the
 * deadline passes, the body is destroyed, which closes the connection. Never throws.
 */
async function readAnswer(body: Dispatcher.ResponseData["body"], signal: AbortSignal): Promise<string> {
  const kept: Buffer[] = [];
  let keptBytes = 0;
  let received = 0;
  const onAbort = (): void => {
    body.destroy();
  };
  if (signal.aborted) onAbort();
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    for await (const chunk of body) {
      const bytes = chunk as Buffer;
      received += bytes.length;
      if (keptBytes < ANSWER_EXCERPT_CHARS * 4) {
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
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
  return excerpt(Buffer.concat(kept).toString("utf8"));
}

/** One line of printable text, at most {@link ANSWER_EXCERPT_CHARS} long. */
function excerpt(text: string): string {
  const line = text.replace(/[\u0000-\u001f\u007f-\u009f\s]+/g, " ").trim();
  return line.length > ANSWER_EXCERPT_CHARS ? `${line.slice(0, ANSWER_EXCERPT_CHARS)}…` : line;
}

function withAnswer(outcome: AttemptOutcome, answer: string): AttemptOutcome {
  if (answer === "" || outcome.kind === "delivered" || outcome.kind === "timeout" || outcome.kind === "refused") return outcome;
  return { ...outcome, answer };
}

/** The secret strings of an attempt, as they could come back in a receiver's answer or an error message. */
function secretsOf(webhook: Pick<WebhookConfig, "signingSecret">, auth: CallbackAuth | undefined): string[] {
  const secrets: string[] = [];
  if (webhook.signingSecret !== undefined) secrets.push(webhook.signingSecret, webhook.signingSecret.replace(/^whsec_/, ""));
  if (auth?.kind === "basic") secrets.push(basicToken(auth.username, auth.password), auth.password);
  if (auth?.kind === "mtls") secrets.push(auth.key);
  // Longest first, so a secret containing another is removed whole.
  return secrets.filter((secret) => secret.length > 0).sort((a, b) => b.length - a.length);
}

/** `text` with every secret replaced; applied to everything a receiver or a library wrote. */
function redact(text: string, secrets: readonly string[]): string {
  return secrets.reduce((result, secret) => result.split(secret).join("[redacted]"), text);
}

function basicToken(username: string, password: string): string {
  return Buffer.from(`${username}:${password}`).toString("base64");
}

function findCause<T extends Error>(error: unknown, type: abstract new (...args: never[]) => T): T | undefined {
  const seen = new Set<unknown>();
  for (let current = error; current instanceof Error && !seen.has(current); current = current.cause) {
    if (current instanceof type) return current;
    seen.add(current);
  }
  return undefined;
}

/**
 * In TLS 1.3 the client finishes its handshake before the server has checked the client certificate, so a refused
 * certificate reaches the client as a hang-up on its request rather than as a TLS error.
 */
const MTLS_HANG_UP_HINT = "with mTLS this usually means the receiver refused the client certificate (is it issued by a CA the receiver trusts?)";

function isHangUp(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === "UND_ERR_SOCKET" || code === "ECONNRESET" || code === "EPIPE";
}

const UNTRUSTED_CERTIFICATE = "is not trusted: give the issuing CA as callback auth ca, or add it with NODE_EXTRA_CA_CERTS";
const CONNECTION_ERRORS: Record<string, string> = {
  ECONNREFUSED: "connection refused: nothing listens at the callback address",
  ECONNRESET: "the receiver reset the connection",
  EPIPE: "the receiver closed the connection while the report was being sent",
  ENOTFOUND: "the callback host name does not resolve",
  EAI_AGAIN: "the callback host name could not be resolved (temporary DNS failure)",
  EHOSTUNREACH: "the callback host is unreachable",
  ENETUNREACH: "the callback network is unreachable",
  UND_ERR_CONNECT_TIMEOUT: "connecting to the receiver timed out",
  UND_ERR_SOCKET: "the receiver closed the connection without a complete answer",
  UND_ERR_CLOSED: "the connection closed before an answer",
  UND_ERR_HEADERS_OVERFLOW: "the receiver's answer headers are too large",
  ERR_SSL_WRONG_VERSION_NUMBER: "the receiver does not speak TLS on this port (an https:// callback URL to a plain HTTP server?)",
  DEPTH_ZERO_SELF_SIGNED_CERT: `the receiver's certificate is self-signed and ${UNTRUSTED_CERTIFICATE}`,
  SELF_SIGNED_CERT_IN_CHAIN: `the receiver's certificate chain ends in a self-signed CA that ${UNTRUSTED_CERTIFICATE}`,
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: `the receiver's certificate ${UNTRUSTED_CERTIFICATE}`,
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: `the receiver's certificate ${UNTRUSTED_CERTIFICATE}`,
  CERT_HAS_EXPIRED: "the receiver's certificate has expired",
  ERR_TLS_CERT_ALTNAME_INVALID: "the receiver's certificate does not name the callback host",
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: "the receiver requires a client certificate; set callback auth kind mtls",
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: "the receiver refused the client certificate",
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN: "the receiver refused the client certificate",
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: "the receiver does not trust the CA that issued the client certificate",
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED: "the receiver says the client certificate has expired",
  ERR_SSL_TLSV1_ALERT_ACCESS_DENIED: "the receiver denied access to the client certificate",
  ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE: "the TLS handshake with the receiver failed (no common protocol or cipher, or a refused certificate)",
};

/** A connection failure in words a receiver's owner can act on; `secrets` are removed from any foreign text. */
export function describeConnectionError(error: unknown, secrets: readonly string[] = []): string {
  const seen = new Set<unknown>();
  for (let current = error; current instanceof Error && !seen.has(current); current = current.cause) {
    seen.add(current);
    const code = (current as NodeJS.ErrnoException).code;
    if (code && CONNECTION_ERRORS[code]) return `${CONNECTION_ERRORS[code]} (${code})`;
    // undici's parser errors carry no usable code; llhttp's reason says what was wrong.
    if (current instanceof errors.HTTPParserError) return `the receiver's answer is not valid HTTP/1.1: ${redact(current.message, secrets)}`;
  }
  const first = error instanceof Error ? error : undefined;
  const code = (first as NodeJS.ErrnoException | undefined)?.code;
  return `connection failed: ${redact(first?.message ?? String(error), secrets)}${code ? ` (${code})` : ""}`;
}
