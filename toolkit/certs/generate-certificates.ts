import { isIP } from "node:net";
import { generate } from "selfsigned";
import { ToolkitError, ToolkitErrorCode } from "../errors.js";
import {
  certificateProfiles,
  fixtureOrganization,
  type CertificateKeyType,
  type CertificateName,
  type CertificateProfile,
} from "./certificate-profiles.js";

/** A certificate and its private key, both PEM. */
export interface CertificatePair {
  cert: string;
  /** PKCS#8 PEM, unencrypted: these are test fixtures. */
  key: string;
}

/** Every fixture certificate by name (see `certificateProfiles`). */
export type CertificateSet = Record<CertificateName, CertificatePair>;

/** Options of {@link generateCertificates}. */
export interface CertificateOptions {
  /**
   * Key algorithm of every key.
   * @defaultValue `"ec"` (ECDSA P-256: about 5x faster to make than RSA 2048 and accepted by every TLS stack)
   */
  keyType?: CertificateKeyType;
  /**
   * Names and IP addresses the server certificate is valid for (DNS or IP SANs).
   * @defaultValue `["localhost", "127.0.0.1", "::1"]`
   */
  serverHosts?: readonly string[];
  /**
   * Lifetime of the good leaf certificates, in days from now. The CAs last ten years.
   * @defaultValue 365
   */
  validityDays?: number;
  /**
   * The moment the certificates are made for; validity windows are computed from it.
   * @defaultValue the current time
   */
  now?: Date;
}

/** Server SANs of contract section 6. */
export const defaultServerHosts: readonly string[] = ["localhost", "127.0.0.1", "::1"];

const dayMs = 24 * 60 * 60 * 1000;
/** Leaves start an hour back so a client whose clock is a little behind still accepts them. */
const clockSkewMs = 60 * 60 * 1000;
const caLifetimeDays = 3650;
/** The expired client's window ends a day ago: past any clock skew a TLS stack tolerates. */
const expiredWindow = { startDaysAgo: 30, endDaysAgo: 1 } as const;

type SelfsignedOptions = NonNullable<Parameters<typeof generate>[1]>;
type Extension = NonNullable<SelfsignedOptions["extensions"]>[number];

/**
 * Makes the CA, server, client and negative-case certificates of contract section 6.
 *
 * `selfsigned` (v5) signs with SHA-1 unless told otherwise and, with `clientCertificate: true`, signs the client
 * with a leaf that is no CA. So every certificate here is made with `algorithm: "sha256"`, explicit extensions,
 * and the `ca` option (which signs with a given CA's key and sets the issuer to its subject).
 */
export async function generateCertificates(options: CertificateOptions = {}): Promise<CertificateSet> {
  const keyType = options.keyType ?? "ec";
  const serverHosts = options.serverHosts ?? defaultServerHosts;
  const validityDays = options.validityDays ?? 365;
  const now = (options.now ?? new Date()).getTime();
  validateOptions(keyType, serverHosts, validityDays);

  const made = new Map<CertificateName, CertificatePair>();
  for (const profile of certificateProfiles) {
    const issuer = profile.issuer === null ? undefined : made.get(profile.issuer);
    if (profile.issuer !== null && issuer === undefined) {
      throw new Error(`certificate profile ${profile.name} is listed before its issuer ${profile.issuer}`);
    }
    const window = validityWindow(profile, now, validityDays);
    const pems = await generate([{ name: "commonName", value: profile.commonName }, { name: "organizationName", value: fixtureOrganization }], {
      keyType,
      algorithm: "sha256",
      notBeforeDate: window.notBefore,
      notAfterDate: window.notAfter,
      extensions: extensionsOf(profile, keyType, serverHosts),
      ...(issuer === undefined ? {} : { ca: { cert: issuer.cert, key: issuer.key } }),
    });
    made.set(profile.name, { cert: pems.cert, key: pems.private });
  }
  return Object.fromEntries(made) as CertificateSet;
}

function validateOptions(keyType: string, serverHosts: readonly string[], validityDays: number): void {
  if (keyType !== "ec" && keyType !== "rsa") {
    throw new ToolkitError(ToolkitErrorCode.optionInvalid, `keyType must be "ec" or "rsa", got ${JSON.stringify(keyType)}`);
  }
  if (serverHosts.length === 0 || serverHosts.some((host) => !/^[A-Za-z0-9.:*-]+$/.test(host))) {
    throw new ToolkitError(
      ToolkitErrorCode.optionInvalid,
      "serverHosts must list at least one DNS name or IP address (letters, digits, '.', '-', ':', '*')",
    );
  }
  if (!Number.isInteger(validityDays) || validityDays < 1) {
    throw new ToolkitError(ToolkitErrorCode.optionInvalid, `validityDays must be a whole number of days >= 1, got ${validityDays}`);
  }
}

function validityWindow(profile: CertificateProfile, now: number, validityDays: number): { notBefore: Date; notAfter: Date } {
  switch (profile.validity) {
    case "ca":
      // Starts before the expired client's window so every fixture was issued while its CA was valid.
      return { notBefore: new Date(now - (expiredWindow.startDaysAgo + 1) * dayMs), notAfter: new Date(now + caLifetimeDays * dayMs) };
    case "leaf":
      return { notBefore: new Date(now - clockSkewMs), notAfter: new Date(now + validityDays * dayMs) };
    case "expired":
      return {
        notBefore: new Date(now - expiredWindow.startDaysAgo * dayMs),
        notAfter: new Date(now - expiredWindow.endDaysAgo * dayMs),
      };
  }
}

function extensionsOf(profile: CertificateProfile, keyType: CertificateKeyType, serverHosts: readonly string[]): Extension[] {
  if (profile.role === "ca") {
    return [
      // pathLen 0: this CA signs leaves only, never another CA.
      { name: "basicConstraints", cA: true, pathLenConstraint: 0, critical: true },
      { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    ];
  }
  const extensions: Extension[] = [
    { name: "basicConstraints", cA: false, critical: true },
    // RSA key exchange encrypts with the certificate's key; ECDSA keys only sign.
    { name: "keyUsage", digitalSignature: true, keyEncipherment: keyType === "rsa", critical: true },
  ];
  if (profile.extendedKeyUsage !== null) {
    extensions.push({ name: "extKeyUsage", ...profile.extendedKeyUsage });
  }
  if (profile.role === "server") {
    extensions.push({
      name: "subjectAltName",
      altNames: serverHosts.map((host) => (isIP(host) === 0 ? { type: 2 as const, value: host } : { type: 7 as const, ip: host })),
    });
  }
  return extensions;
}
