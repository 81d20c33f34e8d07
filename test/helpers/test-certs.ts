import { generateCertificates } from "../../toolkit/certs/generate-certificates.js";

/** A certificate and its private key, PEM text. */
export interface CertPair {
  cert: string;
  key: string;
}

/** The parts of the toolkit's fixtures the delivery tests use, under the names they use. */
export interface TestCerts {
  ca: CertPair;
  /** Issued by `ca`; SANs localhost, 127.0.0.1, ::1. */
  server: CertPair;
  /** Issued by `ca`; clientAuth. */
  client: CertPair;
  /** A client certificate issued by another CA, which a receiver trusting `ca` refuses. */
  foreignClient: CertPair;
}

/** A fresh CA, server and client chain from the toolkit's certificate fixtures (the same ones `certs --out` writes). */
export async function generateTestCerts(): Promise<TestCerts> {
  const set = await generateCertificates();
  return { ca: set.ca, server: set.server, client: set.client, foreignClient: set["client-foreign-ca"] };
}
