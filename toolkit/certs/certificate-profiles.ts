/**
 * What each fixture certificate is, as data: who signs it, its validity window, its extensions. The generator
 * only turns these into PEMs, so a reader checks "is the wrong-EKU client really serverAuth only?" here.
 */

/** The certificates `certs` writes, each as `NAME.pem` with its key in `NAME-key.pem`. */
export const certificateNames = [
  "ca",
  "server",
  "client",
  "client-expired",
  "client-wrong-eku",
  "client-foreign-ca",
  "foreign-ca",
] as const;

/** One of {@link certificateNames}. */
export type CertificateName = (typeof certificateNames)[number];

/** Key algorithm of every fixture key: ECDSA P-256 (fast to make, accepted everywhere) or RSA 2048. */
export type CertificateKeyType = "ec" | "rsa";

/** How one certificate is made. */
export interface CertificateProfile {
  name: CertificateName;
  commonName: string;
  /** The CA that signs it; `null` for a self-signed CA. */
  issuer: "ca" | "foreign-ca" | null;
  role: "ca" | "server" | "client";
  /** Extended key usage; a client certificate with `serverAuth` only is the wrong-EKU case. */
  extendedKeyUsage: { serverAuth: boolean; clientAuth: boolean } | null;
  validity: "ca" | "leaf" | "expired";
}

const organization = "predictor-runtime toolkit (test only)";

/** The organization in every fixture's subject, so nobody mistakes one for a real certificate. */
export const fixtureOrganization = organization;

/** Every fixture, CAs first so leaves can be signed by them. */
export const certificateProfiles: readonly CertificateProfile[] = [
  { name: "ca", commonName: "predictor-runtime test CA", issuer: null, role: "ca", extendedKeyUsage: null, validity: "ca" },
  {
    name: "foreign-ca",
    commonName: "predictor-runtime foreign CA",
    issuer: null,
    role: "ca",
    extendedKeyUsage: null,
    validity: "ca",
  },
  {
    name: "server",
    commonName: "localhost",
    issuer: "ca",
    role: "server",
    extendedKeyUsage: { serverAuth: true, clientAuth: false },
    validity: "leaf",
  },
  {
    name: "client",
    commonName: "predictor-runtime client",
    issuer: "ca",
    role: "client",
    extendedKeyUsage: { serverAuth: false, clientAuth: true },
    validity: "leaf",
  },
  {
    name: "client-expired",
    commonName: "predictor-runtime client (expired)",
    issuer: "ca",
    role: "client",
    extendedKeyUsage: { serverAuth: false, clientAuth: true },
    validity: "expired",
  },
  {
    name: "client-wrong-eku",
    commonName: "predictor-runtime client (serverAuth only)",
    issuer: "ca",
    role: "client",
    extendedKeyUsage: { serverAuth: true, clientAuth: false },
    validity: "leaf",
  },
  {
    name: "client-foreign-ca",
    commonName: "predictor-runtime client (foreign CA)",
    issuer: "foreign-ca",
    role: "client",
    extendedKeyUsage: { serverAuth: false, clientAuth: true },
    validity: "leaf",
  },
];
