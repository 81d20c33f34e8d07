import { X509Certificate, createPrivateKey, type KeyObject } from "node:crypto";
import { createSecureContext } from "node:tls";
import type { MtlsCallbackAuth } from "../tasks/task.js";

/** What is wrong with mTLS credentials: the field at fault and a message that never quotes the PEM text. */
export interface ClientCertificateProblem {
  field: "cert" | "key" | "ca";
  message: string;
}

/** OID of the clientAuth extended key usage (RFC 5280). */
const CLIENT_AUTH_OID = "1.3.6.1.5.5.7.3.2";
const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Checks client-certificate credentials before anything is queued with them, so a mistake is a 400 (or a config
 * error) that names the fix rather than a TLS failure at delivery time, hours later. Returns undefined when usable.
 */
export function clientCertificateProblem(auth: Pick<MtlsCallbackAuth, "cert" | "key" | "ca">, now: number = Date.now()): ClientCertificateProblem | undefined {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(auth.cert);
  } catch {
    return { field: "cert", message: "is not a PEM certificate (text starting with -----BEGIN CERTIFICATE-----)" };
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(auth.key);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ERR_MISSING_PASSPHRASE") {
      return { field: "key", message: "is encrypted with a passphrase; give it unencrypted (openssl pkey -in key.pem -out key-plain.pem)" };
    }
    return { field: "key", message: "is not a PEM private key (text starting with -----BEGIN PRIVATE KEY-----)" };
  }
  if (!certificate.checkPrivateKey(key)) {
    return { field: "key", message: "does not belong to cert (their public keys differ); give the key the certificate was issued for" };
  }
  if (Date.parse(certificate.validTo) < now) {
    return { field: "cert", message: `expired on ${new Date(certificate.validTo).toISOString()}; issue a new client certificate` };
  }
  if (Date.parse(certificate.validFrom) > now) {
    return { field: "cert", message: `is not valid before ${new Date(certificate.validFrom).toISOString()}` };
  }
  const usages = certificate.keyUsage as string[] | undefined;
  if (usages !== undefined && !usages.includes(CLIENT_AUTH_OID)) {
    return { field: "cert", message: "is not meant for client authentication (its extended key usage lacks clientAuth); issue one with clientAuth" };
  }
  if (auth.ca !== undefined) {
    const blocks = auth.ca.match(CERTIFICATE_BLOCK) ?? [];
    if (blocks.length === 0 || !blocks.every(parses)) {
      return { field: "ca", message: "is not one or more PEM certificates (text starting with -----BEGIN CERTIFICATE-----)" };
    }
  }
  try {
    createSecureContext({ cert: auth.cert, key: auth.key, ...(auth.ca === undefined ? {} : { ca: auth.ca }) });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { field: "cert", message: `cannot be loaded together with key for TLS${code ? ` (${code})` : ""}` };
  }
  return undefined;
}

function parses(pem: string): boolean {
  try {
    new X509Certificate(pem);
    return true;
  } catch {
    return false;
  }
}
