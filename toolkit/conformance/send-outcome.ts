/**
 * How one delivery ended, from the sender's side. Every check judges these and nothing else, so the kinds are the
 * whole vocabulary of "what was seen".
 */
export type SendOutcome =
  /** An HTTP answer arrived (its status within the time limit). */
  | { kind: "answered"; status: number; headers: Record<string, string>; body: string; elapsedMs: number }
  /** The receiver refused the TLS handshake, or ended it with an alert (how mTLS receivers refuse a certificate). */
  | { kind: "tls-refused"; error: string; elapsedMs: number }
  /** The connection was reset or closed without an answer, or the answer was not HTTP. */
  | { kind: "broken"; error: string; elapsedMs: number }
  /** No answer within the time limit. */
  | { kind: "timeout"; elapsedMs: number }
  /** The receiver could not be reached: connection refused, unknown host, or its certificate is not trusted here. */
  | { kind: "unreachable"; error: string; elapsedMs: number };

/** Milliseconds as people read them: `85 ms`, `12.3 s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

/** Answer text shown in a detail: the first line, cut to 120 characters. */
function snippet(body: string): string {
  const line = body.trim().split(/\r?\n/, 1)[0] ?? "";
  return line.length > 120 ? `${line.slice(0, 117)}...` : line;
}

/** What a person should read about an outcome: `401 {"error":"bad signature"} after 12 ms`, `no answer within 30 s`. */
export function describeOutcome(outcome: SendOutcome): string {
  switch (outcome.kind) {
    case "answered": {
      const text = snippet(outcome.body);
      return `${outcome.status}${text === "" ? "" : ` ${text}`} after ${formatDuration(outcome.elapsedMs)}`;
    }
    case "tls-refused":
      return `refused the TLS handshake (${outcome.error})`;
    case "broken":
      return `broke the connection without an HTTP answer (${outcome.error})`;
    case "timeout":
      return `no answer within ${formatDuration(outcome.elapsedMs)}`;
    case "unreachable":
      return `could not be reached (${outcome.error})`;
  }
}

/** A 2xx answer: the receiver acknowledged the delivery. */
export function isAcknowledged(outcome: SendOutcome): boolean {
  return outcome.kind === "answered" && outcome.status >= 200 && outcome.status < 300;
}

/**
 * The contract's "rejects": any 4xx, or (only where the delivery's client certificate is on trial) a refused TLS
 * handshake. Under TLS 1.3 a server verifies the client certificate after the client thinks the handshake is
 * done, so its refusal can also reach the client as a reset of the fresh connection: that counts too, there.
 */
export function isRejection(outcome: SendOutcome, options: { certificateOnTrial?: boolean } = {}): boolean {
  if (outcome.kind === "answered") return outcome.status >= 400 && outcome.status < 500;
  return options.certificateOnTrial === true && (outcome.kind === "tls-refused" || outcome.kind === "broken");
}
