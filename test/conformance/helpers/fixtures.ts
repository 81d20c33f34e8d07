import { randomBytes } from "node:crypto";
import { afterAll, beforeAll } from "vitest";
import { writeCertificates } from "../../../toolkit/certs/certificate-files.js";
import { generateCertificates, type CertificateSet } from "../../../toolkit/certs/generate-certificates.js";
import { makeTempDir } from "../../toolkit/helpers/temp-dir.js";

/** The credentials every conformance test uses; the password and secret are searched for in outputs. */
export const credentials = {
  secret: `whsec_${randomBytes(32).toString("base64")}`,
  username: "hooks",
  password: `pw-${randomBytes(8).toString("hex")}`,
} as const;

/** `USER:PASS` as the CLI takes it. */
export const basicFlag = `${credentials.username}:${credentials.password}`;

/** Certificate fixtures made once per test file, in memory and on disk (for `--mtls DIR` and the Python receiver). */
export function useCertificates(): { certs: () => CertificateSet; dir: () => string } {
  let certs: CertificateSet | undefined;
  let dir: string | undefined;
  let remove: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    certs = await generateCertificates();
    const temp = await makeTempDir("conform-certs");
    dir = temp.dir;
    remove = temp.remove;
    await writeCertificates(dir, { certificates: certs });
  });
  afterAll(() => remove?.());
  return {
    certs: () => certs ?? failNotReady(),
    dir: () => dir ?? failNotReady(),
  };
}

function failNotReady(): never {
  throw new Error("the certificate fixtures are made in beforeAll; use them inside a test");
}
