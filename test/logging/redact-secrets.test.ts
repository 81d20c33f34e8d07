import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { createLogger, REDACTED_PATHS, redactSecrets } from "../../runtime/log.js";

/** A logger writing into an array; `make` builds it on the stream. */
function capture(make: (stream: Writable) => pino.Logger): { log: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString("utf8").split("\n").filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { log: make(stream), lines };
}

/** Every "path=value" leaf of a parsed log line. */
function leaves(value: unknown, path = ""): string[] {
  if (value === null || typeof value !== "object") return [`${path}=${JSON.stringify(value)}`];
  return Object.entries(value).flatMap(([key, inner]) => leaves(inner, path ? `${path}.${key}` : key));
}

const SAMPLES: Array<Record<string, unknown>> = [
  { password: "p1", key: "k1", auth: { kind: "basic", username: "u", password: "p" }, signingSecret: "whsec_x" },
  { api: { defaultCallbackAuth: { kind: "basic", password: "p" }, signing_secret: "s" }, callback_auth: { password: "p" } },
  { request: { headers: { authorization: "Basic dTpw", "webhook-signature": "v1,abc", accept: "*/*" }, key: "k" } },
  { taskId: "t", delivery: { auth: { kind: "mtls", cert: "C", key: "K" }, url: "http://127.0.0.1/hook" } },
  { nested: { inner: { password: "p", kept: 1 } }, authorization: "Bearer x" },
];

describe("log redaction", () => {
  it("censors everything pino's redact with REDACTED_PATHS censors", async () => {
    const reference = capture((stream) => pino({ redact: { paths: [...REDACTED_PATHS], censor: "[redacted]" } }, stream));
    const ours = capture((stream) => createLogger({ destination: stream }));
    for (const sample of SAMPLES) {
      reference.log.info(sample, "sample");
      ours.log.info(sample, "sample");
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(ours.lines).toHaveLength(SAMPLES.length);
    SAMPLES.forEach((_, index) => {
      const censoredByPino = leaves(reference.lines[index]).filter((leaf) => leaf.endsWith('="[redacted]"'));
      expect(censoredByPino.length).toBeGreaterThan(0);
      expect(leaves(ours.lines[index])).toEqual(expect.arrayContaining(censoredByPino));
    });
  });

  it("leaves other values alone and never changes the caller's object", () => {
    const secret = { headers: { authorization: "Basic x", accept: "json" }, status: 202 };
    const redacted = redactSecrets(secret);
    expect(redacted).toEqual({ headers: { authorization: "[redacted]", accept: "json" }, status: 202 });
    expect(secret.headers.authorization).toBe("Basic x");
  });

  it("returns the very same object when it holds no secret (no copy on the hot path)", () => {
    const line = { method: "POST", path: "/sum", status: 202, durationMs: 0.4, nested: { a: [1, 2] } };
    expect(redactSecrets(line)).toBe(line);
  });

  it("keeps Error instances for pino's error serializer", () => {
    const error = new Error("boom");
    const object = { err: error };
    expect(redactSecrets(object).err).toBe(error);
  });
});
