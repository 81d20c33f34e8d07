import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generate } from "selfsigned";
import request from "supertest";
import { afterAll, describe, expect, it } from "vitest";
import { startRecorder } from "../helpers/recorder.js";
import { FIXTURE_PREDICTORS, REPO_ROOT } from "../helpers/runtime-fixture.js";
import { spawnServe } from "../helpers/spawn-runtime.js";
import { waitUntil } from "../helpers/wait-until.js";

const dir = mkdtempSync(join(tmpdir(), "secrets-in-logs-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sum = join(REPO_ROOT, "predictors/sum.ts");
const echo = join(FIXTURE_PREDICTORS, "echo.ts");
const base64 = (text: string) => Buffer.from(text).toString("base64");

interface LogLine {
  msg: string;
  level: string;
  [key: string]: unknown;
}

function parseLines(stdout: string): LogLine[] {
  return stdout
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as LogLine);
}

describe("the whole log of a run, at the most verbose level, holds no secret", () => {
  it("never shows default or per-request credentials, the signing secret, signatures, private keys or callback URL tokens", async () => {
    const secrets = {
      defaultPassword: `default-pw-${randomBytes(8).toString("hex")}`,
      signingSecret: `whsec_${randomBytes(32).toString("base64")}`,
      launchPassword: `launch-pw-${randomBytes(8).toString("hex")}`,
      queryToken: `qtok${randomBytes(8).toString("hex")}`,
    };
    const client = await generate([{ name: "commonName", value: "client" }], { keyType: "ec" });
    let flakyFailed = false;
    const receiver = await startRecorder((req, _index, res) => {
      // One failing attempt, so retry lines (with their error text) are in the log too.
      const fail = req.path.startsWith("/flaky") && !flakyFailed;
      flakyFailed ||= fail;
      res.writeHead(fail ? 500 : 200).end();
    });
    const config = join(dir, "cortex.yaml");
    writeFileSync(
      config,
      `- name: sum
  kind: AsyncAPI
  predictor: { type: typescript, path: ${sum} }
  webhook:
    post_inference_hooks: [callback]
    default_callback_url: ${receiver.url}/hook?token=${secrets.queryToken}
    default_callback_auth: { kind: basic, username: runtime-user, password: "\${DEFAULT_PASSWORD}" }
    signing_secret: \${SIGNING_SECRET}
    allow_networks: [127.0.0.0/8]
- name: flaky
  kind: AsyncAPI
  predictor: { type: typescript, path: ${echo} }
  webhook:
    post_inference_hooks: [callback]
    default_callback_url: ${receiver.url}/flaky
    default_callback_auth: { kind: basic, username: runtime-user, password: "\${DEFAULT_PASSWORD}" }
    signing_secret: \${SIGNING_SECRET}
    retry_schedule_s: [0, 0.05]
    allow_networks: [127.0.0.0/8]
`,
    );
    const served = await spawnServe(["--config", config, "--data-dir", join(dir, "data"), "--log-level", "trace"], {
      env: { DEFAULT_PASSWORD: secrets.defaultPassword, SIGNING_SECRET: secrets.signingSecret },
    });
    const ids: string[] = [];
    try {
      const json = (path: string, body: unknown) => request(served.url).post(path).set("content-type", "application/json").send(JSON.stringify(body));
      ids.push((await json("/sum", { x: 2, y: "hello" }).expect(202)).body.id);
      ids.push((await json("/flaky", { a: 1 }).expect(202)).body.id);
      ids.push(
        (
          await json("/v1/async-tasks?model_endpoint_name=sum", {
            args: { x: 1, y: "a" },
            callback_url: `${receiver.url}/launch?token=${secrets.queryToken}`,
            callback_auth: { kind: "basic", username: "launch-user", password: secrets.launchPassword },
          }).expect(200)
        ).body.task_id,
      );
      // Per-request client certificate: its private key travels in the body (this surface is plain HTTP here).
      const mtls = await json("/v1/async-tasks?model_endpoint_name=sum", {
        args: { x: 1, y: "b" },
        callback_url: `${receiver.url}/mtls`,
        callback_auth: { kind: "mtls", cert: client.cert, key: client.private },
      });
      expect([200, 400]).toContain(mtls.status);
      // Refused bodies carrying credentials: their error messages must not echo them.
      await json("/v1/async-tasks?model_endpoint_name=sum", { args: {}, callback_url: "http://127.0.0.1:1/x", callback_auth: { kind: "basic", username: "", password: secrets.launchPassword } }).expect(400);
      await json("/v1/async-tasks?model_endpoint_name=sum", { args: {}, callback_url: "http://127.0.0.1:1/x", callback_auth: { kind: "digest", password: secrets.launchPassword } }).expect(400);
      await json(`/sum?callback_url=${encodeURIComponent(`${receiver.url}/q?token=${secrets.queryToken}`)}`, { x: 0, y: "" }).expect(202);

      // The secrets were really in play: the receiver got the credentials and signatures.
      await waitUntil("the reports arrived", () => receiver.requests.filter((r) => r.path !== "/mtls").length >= 5);
      const received = receiver.requests;
      expect(received.find((r) => r.path.startsWith("/hook"))?.headers.authorization).toBe(`Basic ${base64(`runtime-user:${secrets.defaultPassword}`)}`);
      expect(received.find((r) => r.path.startsWith("/launch"))?.headers.authorization).toBe(`Basic ${base64(`launch-user:${secrets.launchPassword}`)}`);
      const signatures = received.map((r) => String(r.headers["webhook-signature"] ?? "")).filter(Boolean);
      expect(signatures.length).toBeGreaterThanOrEqual(5);
      await waitUntil("every attempt is logged", () => served.stdout().split("\n").filter((line) => line.includes('"webhook attempt"')).length >= received.length);
    } finally {
      served.child.kill("SIGTERM");
      await served.exited;
      await receiver.close();
    }

    const output = served.stdout() + served.stderr();
    const lines = parseLines(served.stdout());
    // It is the whole log: start-up, every request and every attempt, each task's lines carrying its id.
    expect(lines.some((line) => line.msg === "serving")).toBe(true);
    expect(lines.some((line) => line.msg === "stopped")).toBe(true);
    for (const id of ids) {
      expect(lines.some((line) => line.msg === "request" && line.taskId === id), `request line of ${id}`).toBe(true);
      expect(lines.some((line) => line.msg === "webhook attempt" && line.taskId === id), `attempt line of ${id}`).toBe(true);
    }
    expect(lines.some((line) => line.msg === "webhook attempt" && line.outcome === "retryable")).toBe(true);

    const keyBody = client.private.split("\n").filter((line) => line && !line.startsWith("-----"));
    const forbidden = [
      secrets.defaultPassword,
      secrets.launchPassword,
      secrets.signingSecret,
      secrets.signingSecret.slice("whsec_".length),
      secrets.queryToken,
      base64(`runtime-user:${secrets.defaultPassword}`),
      base64(`launch-user:${secrets.launchPassword}`),
      ...receiver.requests.map((r) => String(r.headers["webhook-signature"] ?? "")).filter(Boolean),
      ...keyBody,
    ];
    for (const secret of forbidden) expect(output.includes(secret), `the log contains ${secret.slice(0, 12)}...`).toBe(false);
  });
});

describe("--log-level", () => {
  it("at warn writes warnings but no per-request or per-attempt lines", async () => {
    const receiver = await startRecorder();
    const config = join(dir, "warn.yaml");
    // A short signing secret makes the runtime warn at start-up: proof that warnings still get through.
    writeFileSync(
      config,
      `- name: sum
  kind: AsyncAPI
  predictor: { type: typescript, path: ${sum} }
  webhook: { post_inference_hooks: [callback], default_callback_url: "${receiver.url}/hook", signing_secret: whsec_c2hvcnQ=, allow_networks: [127.0.0.0/8] }
`,
    );
    const served = await spawnServe(["--config", config, "--data-dir", join(dir, "data-warn"), "--log-level", "warn"]);
    try {
      const { id } = (await request(served.url).post("/sum").set("content-type", "application/json").send('{"x": 1, "y": ""}').expect(202)).body;
      await request(served.url).get("/nope").expect(404);
      await receiver.waitFor(1);
      await waitUntil("the webhook settled", async () => (await request(served.url).get(`/sum/${id}`)).body.webhook?.status === "delivered");
    } finally {
      served.child.kill("SIGTERM");
      await served.exited;
      await receiver.close();
    }
    const lines = parseLines(served.stdout());
    expect(lines.map((line) => line.msg)).toEqual([expect.stringContaining("signing_secret is 5 bytes")]);
    expect(lines.every((line) => line.level === "warn")).toBe(true);
  });
});
