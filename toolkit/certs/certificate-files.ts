import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { ToolkitError, ToolkitErrorCode } from "../errors.js";
import { certificateNames, type CertificateName } from "./certificate-profiles.js";
import { generateCertificates, type CertificateOptions, type CertificateSet } from "./generate-certificates.js";

/** Private keys are readable by their owner only; certificates by anyone. */
const keyFileMode = 0o600;
const certFileMode = 0o644;

/** File name of a certificate (`NAME.pem`) or of its key (`NAME-key.pem`). */
export function certificateFileName(name: CertificateName, part: "cert" | "key"): string {
  return part === "cert" ? `${name}.pem` : `${name}-key.pem`;
}

/** Options of {@link writeCertificates}: generation options, or a set made earlier. */
export interface WriteCertificatesOptions extends CertificateOptions {
  /** Write these instead of generating new ones. */
  certificates?: CertificateSet;
}

/**
 * Writes every fixture to `dir` (created if missing), overwriting older fixtures there, and returns the paths
 * written. Each file is written to a temporary name and renamed, so a key never exists, even briefly, with
 * an older file's looser mode.
 */
export async function writeCertificates(dir: string, options: WriteCertificatesOptions = {}): Promise<string[]> {
  const certificates = options.certificates ?? (await generateCertificates(options));
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const name of certificateNames) {
    const pair = certificates[name];
    written.push(await writeAtomically(join(dir, certificateFileName(name, "cert")), pair.cert, certFileMode));
    written.push(await writeAtomically(join(dir, certificateFileName(name, "key")), pair.key, keyFileMode));
  }
  return written;
}

async function writeAtomically(path: string, content: string, mode: number): Promise<string> {
  const temporary = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    // `wx` with an explicit mode: the umask can only tighten it, and an existing file is never reused.
    await writeFile(temporary, content, { mode, flag: "wx" });
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  return path;
}

/**
 * Reads `dir/NAME.pem` (or its key). A missing file raises CERT_FILE_MISSING naming the file and the command
 * that makes it; the file's content never appears in an error.
 */
export async function readCertificateFile(dir: string, name: CertificateName, part: "cert" | "key"): Promise<string> {
  const path = join(dir, certificateFileName(name, part));
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : "cannot be read";
    throw new ToolkitError(
      ToolkitErrorCode.certFileMissing,
      `${resolve(path)} ${reason}; run \`predictor-runtime certs --out ${dir}\` first to create the certificate fixtures`,
      { cause: error },
    );
  }
}
