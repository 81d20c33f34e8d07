import type { TLSSocket } from "node:tls";
import type { TlsVerdict } from "../delivery.js";
import type { ReceiverQuirk } from "../receiver-quirks.js";

/** The error recorded when a client sent no certificate (Node itself reports UNABLE_TO_GET_ISSUER_CERT then). */
export const noClientCertificate = "NO_CLIENT_CERTIFICATE";

/** Node's verification errors each `mtls-allow-*` quirk overlooks. */
const overlookedBy: Readonly<Record<string, ReceiverQuirk>> = {
  [noClientCertificate]: "mtls-allow-no-cert",
  CERT_HAS_EXPIRED: "mtls-allow-expired",
  INVALID_PURPOSE: "mtls-allow-wrong-eku",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "mtls-allow-unknown-ca",
  UNABLE_TO_GET_ISSUER_CERT: "mtls-allow-unknown-ca",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "mtls-allow-unknown-ca",
  SELF_SIGNED_CERT_IN_CHAIN: "mtls-allow-unknown-ca",
  DEPTH_ZERO_SELF_SIGNED_CERT: "mtls-allow-unknown-ca",
};

/**
 * The client certificate verdict of one connection of an mTLS listener (which asks for a certificate but
 * completes the handshake either way, so the refusal can be recorded and answered over HTTP). A certificate an
 * `mtls-allow-*` quirk overlooks is authorized, its error still recorded.
 */
export function tlsVerdictOf(socket: TLSSocket, quirks: readonly ReceiverQuirk[] = []): TlsVerdict {
  const verdict = strictTlsVerdictOf(socket);
  const quirk = verdict.error === undefined ? undefined : overlookedBy[verdict.error];
  return !verdict.authorized && quirk !== undefined && quirks.includes(quirk) ? { ...verdict, authorized: true } : verdict;
}

function strictTlsVerdictOf(socket: TLSSocket): TlsVerdict {
  const peer = socket.getPeerCertificate();
  const presented = peer !== null && typeof peer === "object" && Object.keys(peer).length > 0;
  if (!presented) return { authorized: false, error: noClientCertificate };
  const subject = formatSubject(peer.subject);
  if (socket.authorized) return { authorized: true, subject };
  const error = socket.authorizationError;
  return { authorized: false, error: error === null || error === undefined ? "UNKNOWN" : String(error), subject };
}

/** `CN=client, O=org` from Node's subject object (whose values are arrays when a field repeats). */
function formatSubject(subject: Record<string, string | string[] | undefined> | undefined): string {
  if (subject === undefined) return "";
  return Object.entries(subject)
    .flatMap(([field, value]) => (Array.isArray(value) ? value : value === undefined ? [] : [value]).map((item) => `${field}=${item}`))
    .join(", ");
}
