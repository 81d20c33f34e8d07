import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger, REDACTED_PATHS } from "../../runtime/log.js";

function capture(): { lines: string[]; log: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString("utf8"));
      callback();
    },
  });
  return { lines, log: createLogger({ level: "trace", destination }) };
}

describe("log redaction is configuration (REDACTED_PATHS), not care at each call site", () => {
  it("censors secrets in the shapes the runtime holds them: config, delivery, task, headers, request body", () => {
    const { lines, log } = capture();
    const api = {
      name: "sum",
      webhook: { signingSecret: "whsec_SIGNING", defaultCallbackAuth: { kind: "basic", username: "u", password: "DEFAULT_PW" } },
    };
    const delivery = { taskId: "t1", url: "http://x/hook", auth: { kind: "mtls", cert: "CERT", key: "PEM_KEY" } };
    const shapes: Record<string, unknown>[] = [
      { password: "TOP_PW", secret: "TOP_SECRET", token: "TOP_TOKEN" },
      { api },
      { spec: { webhook: { signing_secret: "whsec_YAML" } } },
      { delivery },
      { task: { callback: { url: "http://x/hook", auth: { kind: "basic", username: "u", password: "TASK_PW" } } } },
      { headers: { authorization: "Basic QVVUSA==", "webhook-signature": "v1,SIG", cookie: "COOKIE" } },
      { req: { headers: { authorization: "Basic REQAUTH" } } },
      { body: { args: {}, callback_url: "http://x/hook", callback_auth: { kind: "basic", username: "u", password: "BODY_PW" } } },
    ];
    for (const shape of shapes) log.info(shape, "shape");
    const output = lines.join("");
    for (const secret of ["TOP_PW", "TOP_SECRET", "TOP_TOKEN", "whsec_", "DEFAULT_PW", "PEM_KEY", "TASK_PW", "QVVUSA", "v1,SIG", "COOKIE", "REQAUTH", "BODY_PW"]) {
      expect(output, secret).not.toContain(secret);
    }
    // What is not secret stays readable.
    expect(output).toContain('"url":"http://x/hook"');
    expect(output).toContain('"taskId":"t1"');
    expect(output).toContain('"username":"u"');
    expect(output).toContain('"cert":"CERT"');
  });

  it("leaves the logged objects untouched: logging a delivery must not destroy its credentials (pinojs/redact#36)", () => {
    const { log } = capture();
    const delivery = { taskId: "t1", auth: { kind: "mtls", cert: "CERT", key: "PEM_KEY" } };
    const request = { headers: { authorization: "Basic QVVUSA==" }, body: { callback_auth: { kind: "basic", username: "u", password: "PW" } } };
    const api = { webhook: { signingSecret: "whsec_SIGNING", defaultCallbackAuth: { kind: "basic", username: "u", password: "DEFAULT_PW" } } };
    const shapes = [{ delivery }, { request }, { api }, delivery, request, api];
    const before = structuredClone(shapes);
    for (const shape of shapes) log.info(shape, "shape");
    expect(shapes).toEqual(before);
  });

  it("every path is one pino accepts (a bad path would throw when the logger is made)", () => {
    expect(REDACTED_PATHS.length).toBeGreaterThan(20);
    expect(() => capture()).not.toThrow();
    expect(REDACTED_PATHS).toContain("*.*.password");
    expect(REDACTED_PATHS).toContain('*.*["webhook-signature"]');
  });
});
