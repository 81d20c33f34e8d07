import { decodeSigningSecret } from "../../runtime/webhook/signature.js";
import type { ReportFormat } from "../../runtime/tasks/task.js";
import { readCertificateFile } from "../certs/certificate-files.js";
import type { CertificatePair } from "../certs/generate-certificates.js";
import { ToolkitError, ToolkitErrorCode } from "../errors.js";
import { parseBasicCredentials, type BasicCredentials } from "../receiver/verdicts/basic-verdict.js";
import type { CheckResult } from "./check-result.js";

/** The certificate fixtures the mTLS checks present, as `predictor-runtime certs` writes them. */
export interface ConformanceCertificates {
  /** Trusted for the receiver's server certificate. */
  ca: CertificatePair;
  client: CertificatePair;
  "client-expired": CertificatePair;
  "client-wrong-eku": CertificatePair;
  "client-foreign-ca": CertificatePair;
}

/** What `onProgress` hears while the checks run. */
export type ConformanceProgress =
  | { type: "run-started"; url: string; total: number }
  | { type: "check-started"; id: string; index: number; total: number }
  | { type: "check-finished"; result: CheckResult; index: number; total: number };

/** Options of `runConformance`. Only `url` is required; each credential option turns on its checks. */
export interface ConformanceOptions {
  /** The receiver's URL, `http://` or `https://`, exactly as a runtime would call it (query included). */
  url: string;
  /** Which report bodies to send: the Cortex surface's or the Launch surface's. @defaultValue "cortex" */
  format?: ReportFormat;
  /** The receiver's Standard Webhooks secret (`whsec_...`): every delivery is signed, and the signature checks run. */
  secret?: string;
  /** Basic credentials, `"USER:PASS"` or an object: every delivery carries them, and the basic checks run. */
  basic?: string | BasicCredentials;
  /**
   * mTLS: a directory written by `predictor-runtime certs`, or the certificates themselves. Every delivery presents
   * `client`, the receiver's certificate is checked against `ca`, and the mTLS checks run. Needs an https URL.
   */
  mtls?: string | ConformanceCertificates;
  /** The acknowledgement deadline the `ack.latency` check holds the receiver to. @defaultValue 10000 (10 s) */
  ackDeadlineMs?: number;
  /** How long any one delivery may take before it counts as unanswered; generous, so only `ack.latency` judges speed. @defaultValue 30000 (30 s) */
  timeoutMs?: number;
  /** Deliveries sent at once by `ack.concurrent`. @defaultValue 50 */
  concurrentDeliveries?: number;
  /** Body size of the `ack.large-report` delivery, in bytes. @defaultValue 1048576 (1 MiB) */
  largeReportBytes?: number;
  /** Called as each check starts and finishes (the CLI draws its progress line from this). */
  onProgress?: (event: ConformanceProgress) => void;
}

/** ConformanceOptions checked, with defaults applied and files read. */
export interface ResolvedConformanceOptions {
  url: URL;
  /** The URL without its query string, which may hold a receiver's token: what output shows. */
  displayUrl: string;
  format: ReportFormat;
  /** The secret's decoded key; the secret text itself is kept only for redaction. */
  signing: { secret: string; key: Buffer } | undefined;
  basic: BasicCredentials | undefined;
  mtls: ConformanceCertificates | undefined;
  ackDeadlineMs: number;
  timeoutMs: number;
  concurrentDeliveries: number;
  largeReportBytes: number;
  onProgress: (event: ConformanceProgress) => void;
}

const mib = 1024 * 1024;

/**
 * Applies defaults and refuses bad options with a ToolkitError that says how to fix them (URL_INVALID,
 * BASIC_CREDENTIALS_INVALID, SIGNING_SECRET_INVALID, CERT_FILE_MISSING, OPTION_INVALID). Messages never repeat a
 * password, secret or key, and never the URL's credentials.
 */
export async function resolveConformanceOptions(options: ConformanceOptions): Promise<ResolvedConformanceOptions> {
  const url = parseReceiverUrl(options.url, options.mtls !== undefined);
  const format = options.format ?? "cortex";
  if (format !== "cortex" && format !== "launch") invalid(`format must be "cortex" or "launch", got ${JSON.stringify(format)}`);
  const resolved: ResolvedConformanceOptions = {
    url,
    displayUrl: `${url.origin}${url.pathname}`,
    format,
    signing: options.secret === undefined ? undefined : signingOf(options.secret),
    basic: options.basic === undefined ? undefined : basicOf(options.basic),
    mtls: options.mtls === undefined ? undefined : typeof options.mtls === "string" ? await readCertificates(options.mtls) : options.mtls,
    ackDeadlineMs: options.ackDeadlineMs ?? 10_000,
    timeoutMs: options.timeoutMs ?? 30_000,
    concurrentDeliveries: options.concurrentDeliveries ?? 50,
    largeReportBytes: options.largeReportBytes ?? mib,
    onProgress: options.onProgress ?? (() => undefined),
  };
  wholeNumber("ackDeadlineMs", resolved.ackDeadlineMs, 1, 10 * 60_000);
  wholeNumber("timeoutMs", resolved.timeoutMs, 1, 10 * 60_000);
  wholeNumber("concurrentDeliveries", resolved.concurrentDeliveries, 1, 1000);
  wholeNumber("largeReportBytes", resolved.largeReportBytes, 4096, 64 * mib);
  return resolved;
}

function parseReceiverUrl(text: string, mtls: boolean): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // The text is not echoed: a malformed URL may still carry a password.
    throw new ToolkitError(ToolkitErrorCode.urlInvalid, "the receiver URL is not a URL; give it in full, such as http://127.0.0.1:9000/hook");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ToolkitError(ToolkitErrorCode.urlInvalid, `the receiver URL must be http:// or https://, got ${url.protocol}//`);
  }
  if (url.username !== "" || url.password !== "") {
    throw new ToolkitError(ToolkitErrorCode.urlInvalid, "the receiver URL must not carry credentials (user:pass@host); pass them with --basic USER:PASS");
  }
  if (url.hash !== "") throw new ToolkitError(ToolkitErrorCode.urlInvalid, "the receiver URL must not have a #fragment (a sender never sends one)");
  if (mtls && url.protocol !== "https:") {
    throw new ToolkitError(ToolkitErrorCode.urlInvalid, `--mtls needs an https:// URL (client certificates travel in TLS), got ${url.origin}`);
  }
  return url;
}

function signingOf(secret: string): { secret: string; key: Buffer } {
  const decoded = decodeSigningSecret(secret);
  if ("problem" in decoded) throw new ToolkitError(ToolkitErrorCode.secretInvalid, `the signing secret ${decoded.problem}`);
  return { secret, key: decoded.key };
}

function basicOf(basic: string | BasicCredentials): BasicCredentials {
  const credentials = typeof basic === "string" ? parseBasicCredentials(basic) : basic;
  if (credentials.username === "" || credentials.username.includes(":")) {
    throw new ToolkitError(ToolkitErrorCode.basicInvalid, "the basic username must be non-empty and contain no colon (RFC 7617)");
  }
  return { username: credentials.username, password: credentials.password };
}

async function readCertificates(dir: string): Promise<ConformanceCertificates> {
  // One file after another, so a missing directory is always reported by its first file (ca.pem).
  const read = async (name: "client" | "client-expired" | "client-wrong-eku" | "client-foreign-ca"): Promise<CertificatePair> => ({
    cert: await readCertificateFile(dir, name, "cert"),
    key: await readCertificateFile(dir, name, "key"),
  });
  // The CA's key is not needed: the CA only vouches for the receiver's certificate.
  const ca = { cert: await readCertificateFile(dir, "ca", "cert"), key: "" };
  return {
    ca,
    client: await read("client"),
    "client-expired": await read("client-expired"),
    "client-wrong-eku": await read("client-wrong-eku"),
    "client-foreign-ca": await read("client-foreign-ca"),
  };
}

function wholeNumber(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) invalid(`${name} must be a whole number from ${min} to ${max}, got ${value}`);
}

function invalid(message: string): never {
  throw new ToolkitError(ToolkitErrorCode.optionInvalid, message);
}
