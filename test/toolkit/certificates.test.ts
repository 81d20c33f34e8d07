import { execFile, spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import tls from "node:tls";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ToolkitError, ToolkitErrorCode } from "../../toolkit/errors.js";
import { certificateNames } from "../../toolkit/certs/certificate-profiles.js";
import { generateCertificates, type CertificateSet } from "../../toolkit/certs/generate-certificates.js";
import { readCertificateFile, writeCertificates } from "../../toolkit/certs/certificate-files.js";
import { makeTempDir } from "./helpers/temp-dir.js";

const run = promisify(execFile);

/** These suites read the certificates with the openssl program; without it they skip, saying so loudly. */
const opensslMissing = spawnSync("openssl", ["version"]).error !== undefined;
if (opensslMissing) console.warn("\n*** SKIPPING the openssl checks of the certificate fixtures: the openssl program is not installed (apt-get install openssl). ***\n");
const oid = { serverAuth: "1.3.6.1.5.5.7.3.1", clientAuth: "1.3.6.1.5.5.7.3.2" };

let dir: string;
let removeDir: () => Promise<void>;
let certs: CertificateSet;

beforeAll(async () => {
  ({ dir, remove: removeDir } = await makeTempDir("certs"));
  await writeCertificates(dir);
  certs = Object.fromEntries(
    await Promise.all(
      certificateNames.map(async (name) => [
        name,
        { cert: await readCertificateFile(dir, name, "cert"), key: await readCertificateFile(dir, name, "key") },
      ]),
    ),
  ) as CertificateSet;
});
afterAll(() => removeDir());

/** `openssl verify` result: ok, and the text OpenSSL printed (its error names the reason). */
async function opensslVerify(caFile: string, certFile: string, purpose?: string): Promise<{ ok: boolean; output: string }> {
  const args = ["verify", "-CAfile", join(dir, caFile), ...(purpose ? ["-purpose", purpose] : []), join(dir, certFile)];
  try {
    const { stdout, stderr } = await run("openssl", args);
    return { ok: true, output: stdout + stderr };
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string };
    return { ok: false, output: `${failed.stdout ?? ""}${failed.stderr ?? ""}` };
  }
}

async function opensslText(file: string): Promise<string> {
  const { stdout } = await run("openssl", ["x509", "-noout", "-text", "-in", join(dir, file)]);
  return stdout;
}

/** What a TLS server that asks for (but does not require) a client certificate sees of one client. */
async function serverViewOf(client: { cert: string; key: string } | null): Promise<{ authorized: boolean; error: string | null; cn: unknown }> {
  const server = tls.createServer({
    cert: certs.server.cert,
    key: certs.server.key,
    ca: certs.ca.cert,
    requestCert: true,
    rejectUnauthorized: false,
  });
  const seen = new Promise<{ authorized: boolean; error: string | null; cn: unknown }>((resolve) => {
    server.once("secureConnection", (socket) => {
      const error = socket.authorizationError;
      resolve({
        authorized: socket.authorized,
        error: error === undefined || error === null ? null : String(error),
        cn: socket.getPeerCertificate().subject?.CN,
      });
      socket.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const socket = tls.connect({ port, host: "127.0.0.1", servername: "localhost", ca: certs.ca.cert, ...(client ?? {}) });
  socket.on("error", () => undefined);
  try {
    return await seen;
  } finally {
    socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
}

describe("certificate files", () => {
  it("writes every certificate with its key, keys readable by the owner only", async () => {
    for (const name of certificateNames) {
      const certMode = (await stat(join(dir, `${name}.pem`))).mode & 0o777;
      const keyMode = (await stat(join(dir, `${name}-key.pem`))).mode & 0o777;
      expect(certMode & 0o600, `${name}.pem`).toBe(0o600);
      expect(keyMode, `${name}-key.pem`).toBe(0o600);
      expect(await readFile(join(dir, `${name}-key.pem`), "utf8")).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    }
  });

  it("keeps a rewritten key at 0600 even when the old file was world-readable", async () => {
    const { chmod } = await import("node:fs/promises");
    const again = await makeTempDir("certs-rewrite");
    try {
      await writeCertificates(again.dir, { certificates: certs });
      await chmod(join(again.dir, "client-key.pem"), 0o644);
      await writeCertificates(again.dir, { certificates: certs });
      expect((await stat(join(again.dir, "client-key.pem"))).mode & 0o777).toBe(0o600);
    } finally {
      await again.remove();
    }
  });

  it("names the missing file and the command that makes it", async () => {
    const error = await readCertificateFile(join(dir, "nowhere"), "server", "cert").catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ToolkitError);
    expect((error as ToolkitError).code).toBe(ToolkitErrorCode.certFileMissing);
    expect((error as ToolkitError).message).toContain("server.pem");
    expect((error as ToolkitError).message).toContain("predictor-runtime certs --out");
  });
});

describe.skipIf(opensslMissing)("certificate contents", () => {
  it("signs everything with SHA-256, never SHA-1", async () => {
    for (const name of certificateNames) {
      const text = await opensslText(`${name}.pem`);
      expect(text, name).toMatch(/Signature Algorithm: ecdsa-with-SHA256/);
      expect(text, name).not.toMatch(/sha1/i);
    }
  });

  it("makes a real CA: cA=true, keyCertSign, self-issued", async () => {
    const ca = new X509Certificate(certs.ca.cert);
    expect(ca.ca).toBe(true);
    expect(ca.checkIssued(ca)).toBe(true);
    const text = await opensslText("ca.pem");
    expect(text).toMatch(/CA:TRUE/);
    expect(text).toMatch(/Certificate Sign/);
  });

  it("issues the server certificate for localhost, 127.0.0.1 and ::1 with serverAuth", () => {
    const server = new X509Certificate(certs.server.cert);
    expect(server.ca).toBe(false);
    expect(server.subjectAltName).toBe("DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1");
    expect(server.keyUsage).toEqual([oid.serverAuth]);
    expect(server.checkIssued(new X509Certificate(certs.ca.cert))).toBe(true);
    expect(server.verify(new X509Certificate(certs.ca.cert).publicKey)).toBe(true);
  });

  it("gives the good client clientAuth, the wrong-EKU client serverAuth only", () => {
    expect(new X509Certificate(certs.client.cert).keyUsage).toEqual([oid.clientAuth]);
    expect(new X509Certificate(certs["client-wrong-eku"].cert).keyUsage).toEqual([oid.serverAuth]);
  });

  it("dates the expired client in the past and the good ones around now", () => {
    const now = Date.now();
    const expired = new X509Certificate(certs["client-expired"].cert);
    expect(Date.parse(expired.validTo)).toBeLessThan(now);
    const client = new X509Certificate(certs.client.cert);
    expect(Date.parse(client.validFrom)).toBeLessThan(now);
    expect(Date.parse(client.validTo)).toBeGreaterThan(now + 300 * 24 * 3600 * 1000);
  });

  it("signs the foreign-CA client with the foreign CA, not ours", () => {
    const foreignClient = new X509Certificate(certs["client-foreign-ca"].cert);
    expect(foreignClient.verify(new X509Certificate(certs["foreign-ca"].cert).publicKey)).toBe(true);
    expect(foreignClient.verify(new X509Certificate(certs.ca.cert).publicKey)).toBe(false);
  });

  it("makes RSA keys on request", async () => {
    const rsa = await generateCertificates({ keyType: "rsa" });
    const client = new X509Certificate(rsa.client.cert);
    expect(client.publicKey.asymmetricKeyType).toBe("rsa");
    expect(client.verify(new X509Certificate(rsa.ca.cert).publicKey)).toBe(true);
  });

  it("refuses a bad option with OPTION_INVALID", async () => {
    await expect(generateCertificates({ validityDays: 0 })).rejects.toMatchObject({ code: ToolkitErrorCode.optionInvalid });
    await expect(generateCertificates({ serverHosts: [] })).rejects.toMatchObject({ code: ToolkitErrorCode.optionInvalid });
  });
});

describe.skipIf(opensslMissing)("openssl verify -CAfile ca.pem", () => {
  it("accepts the server for TLS server use and the client for TLS client use", async () => {
    expect(await opensslVerify("ca.pem", "server.pem", "sslserver")).toMatchObject({ ok: true });
    expect(await opensslVerify("ca.pem", "client.pem", "sslclient")).toMatchObject({ ok: true });
    expect(await opensslVerify("ca.pem", "client.pem")).toMatchObject({ ok: true });
  });

  it("rejects the expired client because it expired", async () => {
    const result = await opensslVerify("ca.pem", "client-expired.pem", "sslclient");
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/certificate has expired/);
  });

  it("rejects the wrong-EKU client as a TLS client, for its purpose", async () => {
    const result = await opensslVerify("ca.pem", "client-wrong-eku.pem", "sslclient");
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/unsuitable certificate purpose|unsupported certificate purpose/);
  });

  it("rejects the foreign-CA client for its unknown issuer, and the foreign CA accepts it", async () => {
    const result = await opensslVerify("ca.pem", "client-foreign-ca.pem", "sslclient");
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/unable to get local issuer certificate/);
    expect(await opensslVerify("foreign-ca.pem", "client-foreign-ca.pem", "sslclient")).toMatchObject({ ok: true });
  });
});

describe("TLS handshakes in Node", () => {
  it("authorizes the good client", async () => {
    expect(await serverViewOf(certs.client)).toEqual({ authorized: true, error: null, cn: "predictor-runtime client" });
  });

  it("refuses the expired client with CERT_HAS_EXPIRED", async () => {
    expect(await serverViewOf(certs["client-expired"])).toMatchObject({ authorized: false, error: "CERT_HAS_EXPIRED" });
  });

  it("refuses the wrong-EKU client with INVALID_PURPOSE", async () => {
    expect(await serverViewOf(certs["client-wrong-eku"])).toMatchObject({ authorized: false, error: "INVALID_PURPOSE" });
  });

  it("refuses the foreign-CA client with UNABLE_TO_VERIFY_LEAF_SIGNATURE", async () => {
    expect(await serverViewOf(certs["client-foreign-ca"])).toMatchObject({
      authorized: false,
      error: "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
    });
  });

  it("lets a client trusting ca.pem verify the server by name and by IP", async () => {
    const server = tls.createServer({ cert: certs.server.cert, key: certs.server.key }, (socket) => socket.end("hi"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    try {
      for (const servername of ["localhost", undefined]) {
        const authorized = await new Promise<boolean>((resolve, reject) => {
          const socket = tls.connect({ port, host: "127.0.0.1", ca: certs.ca.cert, ...(servername ? { servername } : {}) }, () => {
            resolve(socket.authorized);
            socket.destroy();
          });
          socket.on("error", reject);
        });
        expect(authorized, `servername ${servername ?? "(IP 127.0.0.1)"}`).toBe(true);
      }
      const refused = await new Promise<string>((resolve) => {
        const socket = tls.connect({ port, host: "127.0.0.1", servername: "example.com", ca: certs.ca.cert }, () => resolve("connected"));
        socket.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
      });
      expect(refused).toBe("ERR_TLS_CERT_ALTNAME_INVALID");
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
