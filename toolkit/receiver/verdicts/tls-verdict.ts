import type { TLSSocket } from "node:tls";
import type { TlsVerdict } from "../delivery.js";

/** The error recorded when a client sent no certificate (Node itself reports UNABLE_TO_GET_ISSUER_CERT then). */
export const noClientCertificate = "NO_CLIENT_CERTIFICATE";

/**
 * The client certificate verdict of one connection of an mTLS listener (which asks for a certificate but
 * completes the handshake either way, so the refusal can be recorded and answered over HTTP).
 */
export function tlsVerdictOf(socket: TLSSocket): TlsVerdict {
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
