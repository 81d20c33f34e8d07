import { pino, type DestinationStream, type Logger } from "pino";

/**
 * Keys whose values are secrets: credentials, PEM private keys, signing secrets, signatures. Leaves only, never the
 * objects holding them (`auth`, `callback_auth`), so a logged delivery still shows which kind of auth it used; a
 * username or a certificate is not secret.
 */
const SECRET_KEYS: ReadonlySet<string> = new Set([
  "password",
  "key",
  "secret",
  "token",
  "signingSecret",
  "signing_secret",
  "authorization",
  "cookie",
  "webhook-signature",
]);

/**
 * How deep in a logged object a secret key is looked for: `key` up to `a.b.c.key` (an ApiConfig logged under a key
 * holds its password at `api.webhook.defaultCallbackAuth.password`).
 */
const REDACT_DEPTH = 4;
const CENSOR = "[redacted]";

/** The censored keys as pino redact paths (`password`, `*.password`, ...), for documentation and tests. */
export const REDACTED_PATHS: readonly string[] = [...SECRET_KEYS].flatMap((key) =>
  Array.from({ length: REDACT_DEPTH }, (_, wildcards) => {
    const prefix = Array.from({ length: wildcards }, () => "*").join(".");
    if (!/^[A-Za-z_$][\w$]*$/.test(key)) return `${prefix}["${key}"]`;
    return prefix === "" ? key : `${prefix}.${key}`;
  }),
);

/**
 * `object` with every value under a secret key replaced by "[redacted]", copying only the objects on the way to a
 * secret: the caller's object is never changed (pino's own `redact` with nested wildcard paths wrote the censor into
 * the caller's object, pinojs/redact#36, destroying a live delivery's key), and `object` itself comes back when it
 * holds no secret, the usual case. Plain objects and arrays are searched; other instances (Errors, Buffers) are left
 * to their serializers. Well under 1 µs a line, where pino's wildcard paths cost 15 to 50 µs.
 */
export function redactSecrets<T>(object: T, depth = 1): T {
  if (depth > REDACT_DEPTH || object === null || typeof object !== "object") return object;
  const isArray = Array.isArray(object);
  const prototype: unknown = Object.getPrototypeOf(object);
  if (!isArray && prototype !== Object.prototype && prototype !== null) return object;
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

let formattedAt = 0;
let formatted = "";

/**
 * pino's `isoTime`, formatted once per millisecond: a busy runtime writes several lines per millisecond (a request
 * line and an attempt line per task), and formatting a date is a good part of a line's cost.
 */
function isoTimeOncePerMillisecond(): string {
  const now = Date.now();
  if (now !== formattedAt) {
    formattedAt = now;
    formatted = `,"time":"${new Date(now).toISOString()}"`;
  }
  return formatted;
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

/** The runtime's structured logger: one JSON object per line, ISO timestamps, secrets censored by configuration. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? "info",
      base: { pid: process.pid },
      timestamp: isoTimeOncePerMillisecond,
      formatters: { level: (label) => ({ level: label }), log: (object) => redactSecrets(object) },
    },
    options.destination ?? bufferedStdout(),
  );
}

/** Log lines are written to stdout in blocks of at least this many bytes, or every {@link STDOUT_FLUSH_MS}. */
const STDOUT_BLOCK_BYTES = 4096;
const STDOUT_FLUSH_MS = 250;

/**
 * Stdout written in blocks rather than a write per line: a busy runtime logs thousands of lines a second, and each
 * write is handed to a libuv thread, a wake-up and a context switch on a machine whose cores the runtime needs.
 * Lines wait at most 250 ms; pino writes what is left synchronously when the process exits, so only a SIGKILL can
 * lose the last block.
 */
function bufferedStdout(): DestinationStream {
  const stdout = pino.destination({ dest: 1, sync: false, minLength: STDOUT_BLOCK_BYTES });
  setInterval(() => {
    try {
      stdout.flush();
    } catch {
      // stdout is gone (closed pipe, destroyed stream): nowhere to write to, and logging must not stop the runtime.
    }
  }, STDOUT_FLUSH_MS).unref();
  return stdout;
}
