import { generate } from "selfsigned";

/** A certificate and its private key, PEM text. */
export interface CertPair {
  cert: string;
  key: string;
}

/** A CA, a server certificate it issued (SANs localhost, 127.0.0.1, ::1) and a client certificate (clientAuth). */
export interface TestCerts {
  ca: CertPair;
  server: CertPair;
  client: CertPair;
  /** A client certificate issued by another CA, which a receiver trusting `ca` refuses. */
  foreignClient: CertPair;
}

// selfsigned signs with SHA-1 unless told otherwise, which OpenSSL 3 refuses; EC keys keep generation fast.
const BASE = { algorithm: "sha256", keyType: "ec", curve: "P-256" } as const;

/**
 * Generates a small PKI for mTLS tests. Stand-in until the toolkit's `predictor-runtime certs` fixtures are available;
 * `clientCertificate: true` is not used because it makes the leaf its own issuer.
 */
export async function generateTestCerts(): Promise<TestCerts> {
  const ca = await generateCa("predictor-runtime test CA");
  const otherCa = await generateCa("someone else's CA");
  const server = await generateLeaf(ca, "localhost", "serverAuth");
  const client = await generateLeaf(ca, "predictor-runtime test client", "clientAuth");
  const foreignClient = await generateLeaf(otherCa, "foreign client", "clientAuth");
  return { ca, server, client, foreignClient };
}

async function generateCa(commonName: string): Promise<CertPair> {
  const pems = await generate([{ name: "commonName", value: commonName }], {
    ...BASE,
    extensions: [
      { name: "basicConstraints", cA: true, critical: true },
      { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

async function generateLeaf(issuer: CertPair, commonName: string, usage: "serverAuth" | "clientAuth"): Promise<CertPair> {
  const pems = await generate([{ name: "commonName", value: commonName }], {
    ...BASE,
    ca: { cert: issuer.cert, key: issuer.key },
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, critical: true },
      { name: "extKeyUsage", [usage]: true },
      ...(usage === "serverAuth"
        ? [{ name: "subjectAltName" as const, altNames: [{ type: 2 as const, value: "localhost" }, { type: 7 as const, ip: "127.0.0.1" }, { type: 7 as const, ip: "::1" }] }]
        : []),
    ],
  });
  return { cert: pems.cert, key: pems.private };
}
