import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../runtime/config/load-config.js";
import { ConfigError } from "../../runtime/errors.js";
import { deliveryYaml, postJson, waitForSettledWebhook } from "../helpers/delivery-config.js";
import { startRecorder, type Recorder } from "../helpers/recorder.js";
import { REPO_ROOT, startTestRuntime, type TestRuntime } from "../helpers/runtime-fixture.js";
import { generateTestCerts, type TestCerts } from "../helpers/test-certs.js";
import { waitUntil } from "../helpers/wait-until.js";

// Callback auth end to end: mTLS from config defaults and from a Launch request, and basic auth's origin rule.
let certs: TestCerts;
let mtlsReceiver: Recorder;
let defaultReceiver: Recorder;
let otherReceiver: Recorder;
let runtime: TestRuntime;
const PASSWORD = "default-pw-51d2e7";

beforeAll(async () => {
  certs = await generateTestCerts();
  const tls = { cert: certs.server.cert, key: certs.server.key, ca: certs.ca.cert, requestCert: true, rejectUnauthorized: true };
  mtlsReceiver = await startRecorder(undefined, { tls });
  defaultReceiver = await startRecorder();
  otherReceiver = await startRecorder();
  runtime = await startTestRuntime({
    yaml: deliveryYaml(
      {
        name: "mtls-default",
        webhook: {
          // A name, so the receiver's certificate is checked against it (its SANs are localhost, 127.0.0.1, ::1).
          default_callback_url: `https://localhost:${mtlsReceiver.port}/hook`,
          default_callback_auth: { kind: "mtls", cert: "certs/client.pem", key: "certs/client-key.pem", ca: "certs/ca.pem" },
        },
      },
      { name: "per-request" },
      {
        name: "basic-default",
        webhook: { default_callback_url: `${defaultReceiver.url}/hook`, default_callback_auth: { kind: "basic", username: "runtime", password: "${CALLBACK_PASSWORD}" } },
      },
    ),
    files: { "certs/client.pem": certs.client.cert, "certs/client-key.pem": certs.client.key, "certs/ca.pem": certs.ca.cert },
    env: { CALLBACK_PASSWORD: PASSWORD },
  });
});
afterAll(async () => {
  await runtime.close();
  await Promise.all([mtlsReceiver.close(), defaultReceiver.close(), otherReceiver.close()]);
});

async function cortexTask(api: string, callbackUrl?: string): Promise<string> {
  const query = callbackUrl === undefined ? "" : `?callback_url=${encodeURIComponent(callbackUrl)}`;
  const { status, body } = await postJson(`${runtime.url}/${api}${query}`, { x: 1 });
  expect(status).toBe(202);
  return String(body.id);
}

const reportOf = (receiver: Recorder, taskId: string) => receiver.requests.find((request) => request.headers["x-request-id"] === taskId);

describe("mTLS", () => {
  it("presents the configured client certificate to a receiver that requires one", async () => {
    const taskId = await cortexTask("mtls-default");
    expect(await waitForSettledWebhook(runtime, `/mtls-default/${taskId}`)).toEqual({ status: "delivered", attempts: 1, last_status_code: 200 });
    expect(reportOf(mtlsReceiver, taskId)?.clientCertificate).toBe("predictor-runtime client");
  });

  it("presents a client certificate given with a Launch request", async () => {
    const callbackAuth = { kind: "mtls", cert: certs.client.cert, key: certs.client.key, ca: certs.ca.cert };
    const { status, body } = await postJson(`${runtime.url}/v1/async-tasks?model_endpoint_name=per-request`, {
      args: { x: 1 },
      callback_url: `https://127.0.0.1:${mtlsReceiver.port}/launch`,
      callback_auth: callbackAuth,
    });
    expect(status).toBe(200);
    const taskId = String(body.task_id);
    expect(await waitForSettledWebhook(runtime, `/v1/async-tasks/${taskId}`)).toEqual({ status: "delivered", attempts: 1, last_status_code: 200 });
    const report = reportOf(mtlsReceiver, taskId)!;
    expect(report.clientCertificate).toBe("predictor-runtime client");
    expect(report.json).toMatchObject({ task_id: taskId, status: "SUCCESS" });
  });

  it("is refused by the receiver with a certificate from a CA it does not trust, and says so", async () => {
    const before = mtlsReceiver.tlsClientErrors;
    const callbackAuth = { kind: "mtls", cert: certs.foreignClient.cert, key: certs.foreignClient.key, ca: certs.ca.cert };
    const { body } = await postJson(`${runtime.url}/v1/async-tasks?model_endpoint_name=per-request`, {
      args: {},
      callback_url: `https://localhost:${mtlsReceiver.port}/launch`,
      callback_auth: callbackAuth,
    });
    const taskId = String(body.task_id);
    const webhook = await waitForSettledWebhook(runtime, `/v1/async-tasks/${taskId}`);
    expect(webhook).toMatchObject({ status: "failed", attempts: 3 });
    expect(webhook.last_error).toContain("the receiver refused the client certificate");
    expect(reportOf(mtlsReceiver, taskId)).toBeUndefined();
    expect(mtlsReceiver.tlsClientErrors).toBeGreaterThanOrEqual(before + 3);
  });
});

describe("basic auth", () => {
  it("sends the default credentials to default_callback_url", async () => {
    const taskId = await cortexTask("basic-default");
    await waitForSettledWebhook(runtime, `/basic-default/${taskId}`);
    expect(reportOf(defaultReceiver, taskId)?.headers.authorization).toBe(`Basic ${Buffer.from(`runtime:${PASSWORD}`).toString("base64")}`);
  });

  it("sends them to another path of the same origin", async () => {
    const taskId = await cortexTask("basic-default", `${defaultReceiver.url}/other-path`);
    await waitForSettledWebhook(runtime, `/basic-default/${taskId}`);
    expect(reportOf(defaultReceiver, taskId)?.headers.authorization).toMatch(/^Basic /);
  });

  it("never sends them to a callback_url of another origin, so a client cannot collect them", async () => {
    const taskId = await cortexTask("basic-default", `${otherReceiver.url}/hook`);
    expect(await waitForSettledWebhook(runtime, `/basic-default/${taskId}`)).toMatchObject({ status: "delivered" });
    const report = reportOf(otherReceiver, taskId)!;
    expect(report.headers).not.toHaveProperty("authorization");
  });
});

describe("credentials in cortex.yaml", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "predictor-runtime-auth-"));
    writeFileSync(join(dir, "client.pem"), certs.client.cert);
    writeFileSync(join(dir, "wrong-key.pem"), certs.foreignClient.key);
    writeFileSync(join(dir, "server.pem"), certs.server.cert);
    writeFileSync(join(dir, "server-key.pem"), certs.server.key);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const load = (auth: Record<string, string>): ConfigError => {
    const yaml = deliveryYaml({ name: "sum", webhook: { default_callback_url: "https://receiver.example/hook", default_callback_auth: { kind: "mtls", ...auth } } });
    try {
      parseConfig(yaml, join(dir, "cortex.yaml"));
    } catch (error) {
      if (error instanceof ConfigError) return error;
      throw error;
    }
    throw new Error("the config loaded");
  };

  it("refuses a key that does not belong to the certificate, naming the file and never quoting it", () => {
    const error = load({ cert: "client.pem", key: "wrong-key.pem" });
    expect(error.message).toMatch(
      /cortex\.yaml:\d+ apis\[0\]\.webhook\.default_callback_auth\.key: .*wrong-key\.pem does not belong to cert \(their public keys differ\)/,
    );
    expect(error.message).not.toContain(certs.foreignClient.key.split("\n")[1]);
  });

  it("refuses a certificate that is not for client authentication", () => {
    expect(load({ cert: "server.pem", key: "server-key.pem" }).message).toContain("server.pem is not meant for client authentication");
  });

  it("refuses a missing file", () => {
    expect(load({ cert: "client.pem", key: "missing.pem" }).message).toMatch(/default_callback_auth\.key: cannot read .*missing\.pem: ENOENT/);
  });
});

describe("mTLS without ca", () => {
  it("checks the receiver against Node's trust store, which honours NODE_EXTRA_CA_CERTS", async () => {
    // NODE_EXTRA_CA_CERTS is read once at process start, so this runs the real CLI in a child process.
    const dir = mkdtempSync(join(tmpdir(), "predictor-runtime-extra-ca-"));
    writeFileSync(join(dir, "client.pem"), certs.client.cert);
    writeFileSync(join(dir, "client-key.pem"), certs.client.key);
    writeFileSync(join(dir, "ca.pem"), certs.ca.cert);
    writeFileSync(
      join(dir, "cortex.yaml"),
      deliveryYaml({
        name: "trusting",
        webhook: { default_callback_url: `https://localhost:${mtlsReceiver.port}/extra-ca`, default_callback_auth: { kind: "mtls", cert: "client.pem", key: "client-key.pem" } },
      }),
    );
    const child = spawn(process.execPath, [join(REPO_ROOT, "bin/predictor-runtime.js"), "serve", "--config", join(dir, "cortex.yaml"), "--port", "0", "--data-dir", join(dir, "data")], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, "ca.pem") },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    try {
      const url = await waitUntil("the child runtime serves", () => /"url":"(http:\/\/[^"]+)"/.exec(output)?.[1], 20_000);
      await waitUntil("the child runtime is ready", async () => (await fetch(`${url}/readyz`)).status === 200);
      const { body } = await postJson(`${url}/trusting`, { x: 1 });
      const delivered = await waitUntil("the report arrived over mTLS", () => reportOf(mtlsReceiver, String(body.id)), 10_000);
      expect(delivered.clientCertificate).toBe("predictor-runtime client");
    } finally {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
