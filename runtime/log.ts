import { pino, type DestinationStream, type Logger } from "pino";

/**
 * Keys whose values are secrets: credentials, PEM private keys, signing secrets, signatures. Leaves only, never
 * the objects holding them (`auth`, `callback_auth`): a redact path under another one (`*.auth` and `*.*.key`) makes
 * @pinojs/redact 0.4 write the censor into the caller's object instead of its copy (pinojs/redact#36), which would
 * destroy a live delivery's credentials the moment it was logged. A username or a certificate is not secret.
 */
const SECRET_KEYS = ["password", "key", "secret", "token", "signingSecret", "signing_secret", "authorization", "cookie", "webhook-signature"] as const;

/**
 * How deep in a logged object a secret key is looked for: `key` up to `a.b.c.key` (an ApiConfig logged under a key
 * holds its password at `api.webhook.defaultCallbackAuth.password`). Each level adds a wildcard path per key, and
 * pino's redaction costs about 1.5 µs per wildcard path on every line (36 paths: about 50 µs a line, against 3 µs without).
 */
const REDACT_DEPTH = 4;

/** The pino redact path of `key` under `wildcards` levels: `*.*.password`, `*["webhook-signature"]`. */
function redactPath(wildcards: number, key: string): string {
  const prefix = Array.from({ length: wildcards }, () => "*").join(".");
  if (!/^[A-Za-z_$][\w$]*$/.test(key)) return `${prefix}["${key}"]`;
  return prefix === "" ? key : `${prefix}.${key}`;
}

/**
 * Paths whose values are censored wherever they appear in a log object, up to {@link REDACT_DEPTH} levels deep:
 * redaction is configuration, so a secret that slips into a logged object (a config, a delivery, headers) is
 * censored rather than relying on every call site's care.
 */
export const REDACTED_PATHS: string[] = SECRET_KEYS.flatMap((key) => Array.from({ length: REDACT_DEPTH }, (_, wildcards) => redactPath(wildcards, key)));

/** Log levels `--log-level` accepts. */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** @defaultValue "info" */
  level?: (typeof LOG_LEVELS)[number];
  /** Where JSON lines go; stdout by default. */
  destination?: DestinationStream;
}

/** The runtime's structured logger: one JSON object per line, ISO timestamps, secrets redacted. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? "info",
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
