import type { IncomingMessage, ServerResponse } from "node:http";
import { isIP } from "node:net";
import { request } from "undici";
import type { Delivery } from "../delivery.js";
import { readRequestBody } from "../request-body.js";

/** Headers not sent again: they describe the original connection, not the delivery. */
const HOP_HEADERS = new Set([
  "host",
  "content-length",
  "connection",
  "keep-alive",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "proxy-authorization",
  "proxy-connection",
  "expect",
]);
const RESEND_TIMEOUT_MS = 10_000;
/** The most of the target's answer shown back. */
const ANSWER_EXCERPT_BYTES = 64 * 1024;

/**
 * True when `url` may receive a resent delivery: a loopback address or `localhost`, or a URL starting with one of
 * `allowed` (the receiver's `--allow-resend` prefixes). Names are not resolved: a name that resolves to loopback
 * is refused unless allowed, so DNS cannot turn this into a way into other machines.
 */
export function resendAllowed(url: URL, allowed: readonly string[]): boolean {
  if (url.protocol !== "http:" && url.protocol !== "https:") return false;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (host === "localhost" || (isIP(host) === 4 && host.startsWith("127.")) || host === "::1") return true;
  return allowed.some((prefix) => url.href.startsWith(prefix));
}

/**
 * `POST /_/resend` with `{"id": "<delivery id>", "url": "<target>"}`: sends a recorded delivery again, method,
 * headers (Authorization and signatures included, as recorded) and body byte for byte, to another URL, and answers
 * with what that URL answered. A JSON body is required, so a page on another site cannot trigger it with a form.
 */
export async function resendDelivery(
  request_: IncomingMessage,
  response: ServerResponse,
  find: (id: string) => Delivery | undefined,
  allowed: readonly string[],
  send: (response: ServerResponse, status: number, value: unknown) => void,
): Promise<void> {
  const contentType = (request_.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  if (contentType !== "application/json") {
    send(response, 415, { error: 'send {"id": "...", "url": "..."} as application/json' });
    return;
  }
  const body = await readRequestBody(request_, 64 * 1024, () => undefined);
  let asked: { id?: unknown; url?: unknown };
  try {
    asked = JSON.parse(body.kept.toString("utf8")) as { id?: unknown; url?: unknown };
  } catch {
    send(response, 400, { error: 'the body is not JSON; send {"id": "...", "url": "..."}' });
    return;
  }
  const delivery = typeof asked?.id === "string" ? find(asked.id) : undefined;
  if (delivery === undefined) {
    send(response, 404, { error: `no recorded delivery ${JSON.stringify(asked?.id ?? null)}; GET /_/deliveries lists them` });
    return;
  }
  let target: URL;
  try {
    target = new URL(String(asked.url));
  } catch {
    send(response, 400, { error: `url must be an absolute http(s) URL, got ${JSON.stringify(String(asked.url ?? "")).slice(0, 200)}` });
    return;
  }
  if (!resendAllowed(target, allowed)) {
    send(response, 403, {
      error: `a delivery is resent only to loopback (127.0.0.1, [::1], localhost) or to a URL the receiver was started with --allow-resend PREFIX for; ${target.origin} is neither`,
    });
    return;
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(delivery.headers)) if (!HOP_HEADERS.has(name)) headers[name] = value;
  const payload = Buffer.from(delivery.raw_body, delivery.raw_body_encoding === "base64" ? "base64" : "utf8");
  const started = Date.now();
  try {
    const answer = await request(target, {
      // undici's request follows no redirect: the answer shown is the target's own.
      method: delivery.method as "POST",
      headers,
      body: delivery.method === "GET" || delivery.method === "HEAD" ? null : payload,
      headersTimeout: RESEND_TIMEOUT_MS,
      bodyTimeout: RESEND_TIMEOUT_MS,
    });
    const chunks: Buffer[] = [];
    let kept = 0;
    for await (const chunk of answer.body as AsyncIterable<Buffer>) {
      if (kept < ANSWER_EXCERPT_BYTES) chunks.push(chunk.subarray(0, ANSWER_EXCERPT_BYTES - kept));
      kept += chunk.length;
    }
    send(response, 200, {
      url: target.href,
      status: answer.statusCode,
      headers: answer.headers,
      body: Buffer.concat(chunks).toString("utf8"),
      body_truncated: kept > ANSWER_EXCERPT_BYTES,
      duration_ms: Date.now() - started,
    });
  } catch (error) {
    send(response, 200, { url: target.href, error: (error as Error).message, duration_ms: Date.now() - started });
  }
}
