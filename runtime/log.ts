import { pino, type DestinationStream, type Logger } from "pino";

/**
 * Keys whose values are secrets wherever they appear in a log object. Redaction is configuration, so a secret that
 * slips into a logged object is censored rather than relying on every call site's care.
 */
export const REDACTED_PATHS = [
  "password",
  "*.password",
  "*.*.password",
  "key",
  "*.key",
  "*.*.key",
  "signingSecret",
  "*.signingSecret",
  "signing_secret",
  "*.signing_secret",
  "auth",
  "*.auth",
  "callback_auth",
  "*.callback_auth",
  "defaultCallbackAuth",
  "*.defaultCallbackAuth",
  "authorization",
  "*.authorization",
  "*.headers.authorization",
  "*.headers[\"webhook-signature\"]",
];

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
