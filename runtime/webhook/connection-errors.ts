import { errors } from "undici";
import { redactSecrets } from "./attempt-secrets.js";

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

/** What {@link describeConnectionError} needs to know about the attempt. */
export interface ConnectionErrorContext {
  /** Secret strings to remove from foreign error text. */
  secrets?: readonly string[];
  /** The attempt presented a client certificate. */
  mtls?: boolean;
}

/** A connection failure in words a receiver's owner can act on; never includes the attempt's secrets. */
export function describeConnectionError(error: unknown, context: ConnectionErrorContext = {}): string {
  const described = describeCause(error, context.secrets ?? []);
  return context.mtls && isHangUp(error) ? `${described}; ${MTLS_HANG_UP_HINT}` : described;
}

function describeCause(error: unknown, secrets: readonly string[]): string {
  const seen = new Set<unknown>();
  for (let current = error; current instanceof Error && !seen.has(current); current = current.cause) {
    seen.add(current);
    const code = (current as NodeJS.ErrnoException).code;
    if (code && CONNECTION_ERRORS[code]) return `${CONNECTION_ERRORS[code]} (${code})`;
    // undici's parser errors carry no usable code; llhttp's reason says what was wrong.
    if (current instanceof errors.HTTPParserError) return `the receiver's answer is not valid HTTP/1.1: ${redactSecrets(current.message, secrets)}`;
  }
  const first = error instanceof Error ? error : undefined;
  const code = (first as NodeJS.ErrnoException | undefined)?.code;
  return `connection failed: ${redactSecrets(first?.message ?? String(error), secrets)}${code ? ` (${code})` : ""}`;
}
