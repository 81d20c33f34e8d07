import type { CheckDefinition } from "../check-definition.js";
import type { ClientIdentity } from "../delivery-sender.js";
import { baseline } from "./prerequisites.js";
import { rejectionCheck } from "./rejection-check.js";

/** A check that a bad client certificate (or none) is refused, by a 4xx or in the handshake. */
function rejectsClient(spec: { id: string; clause: string; identity: ClientIdentity; what: string; fix: string }): CheckDefinition {
  const { identity, ...rest } = spec;
  return rejectionCheck({
    ...rest,
    source: "Launch",
    requires: "mtls",
    needs: baseline,
    certificateOnTrial: true,
    probe: (context) => context.deliver(context.reports.completed(), {}, identity),
  });
}

/** The client certificate checks (with the certificate fixtures). */
export const mtlsChecks: readonly CheckDefinition[] = [
  rejectsClient({
    id: "mtls.rejects-no-cert",
    clause: "rejects a client that presents no certificate",
    identity: "none",
    what: "a client without a certificate",
    fix: "require a client certificate: ssl.CERT_REQUIRED, or requestCert with rejectUnauthorized (or a check of socket.authorized before answering)",
  }),
  rejectsClient({
    id: "mtls.rejects-expired",
    clause: "rejects an expired client certificate",
    identity: "client-expired",
    what: "an expired client certificate (client-expired.pem)",
    fix: "verify the client certificate's validity dates; do not turn off time checks (X509_V_FLAG_NO_CHECK_TIME, ignoring CERT_HAS_EXPIRED)",
  }),
  rejectsClient({
    id: "mtls.rejects-wrong-eku",
    clause: "rejects a client certificate without the clientAuth extended key usage",
    identity: "client-wrong-eku",
    what: "a client certificate for serverAuth only (client-wrong-eku.pem)",
    fix: "verify client certificates for the client purpose (OpenSSL does by default on a server): a certificate without clientAuth is not a client identity",
  }),
  rejectsClient({
    id: "mtls.rejects-foreign-ca",
    clause: "rejects a client certificate from a CA it does not trust",
    identity: "client-foreign-ca",
    what: "a client certificate signed by another CA (client-foreign-ca.pem)",
    fix: "trust only your CA (ca.pem) for client certificates: not the system store, not any issuer, and never a certificate without a verified chain",
  }),
];
