import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deliveryYaml, postJson, statusOf, waitForSettledWebhook } from "../helpers/delivery-config.js";
import { startRecorder, type Recorder, type Responder } from "../helpers/recorder.js";
import { startTestRuntime, type TestRuntime } from "../helpers/runtime-fixture.js";
import { generateTestCerts, type TestCerts } from "../helpers/test-certs.js";

// Passwords, private keys and signing secrets appear in no log line, status answer or error body: deliveries with
// every kind of credential run into every kind of failure, then everything the runtime said is searched.
const DEFAULT_PASSWORD = `default-${randomBytes(9).toString("hex")}`;
const LAUNCH_PASSWORD = `launch-${randomBytes(9).toString("hex")}`;
const SIGNING_SECRET = `whsec_${randomBytes(32).toString("base64")}`;

let certs: TestCerts;
let runtime: TestRuntime;
let echoing: Recorder;
let silent: Recorder;
let mtls: Recorder;
const statusPaths: string[] = [];
const answers: string[] = [];

/** Answers 401 and echoes the credentials it received, as a careless receiver might. */
const echoCredentials: Responder = (request, _index, res) =>
  res.writeHead(401).end(`denied ${String(request.headers.authorization)} ${String(request.headers["webhook-signature"])} ${request.body}`);

beforeAll(async () => {
  certs = await generateTestCerts();
  echoing = await startRecorder(echoCredentials);
  silent = await startRecorder(() => undefined);
  mtls = await startRecorder(undefined, { tls: { cert: certs.server.cert, key: certs.server.key, ca: certs.ca.cert, requestCert: true, rejectUnauthorized: true } });
  runtime = await startTestRuntime({
    yaml: deliveryYaml(
      {
        name: "basic",
        webhook: {
          default_callback_url: `${echoing.url}/hook`,
          default_callback_auth: { kind: "basic", username: "runtime", password: "${DEFAULT_PASSWORD}" },
          signing_secret: "${SIGNING_SECRET}",
        },
      },
      { name: "slow", webhook: { default_callback_url: `${silent.url}/hook`, signing_secret: "${SIGNING_SECRET}", timeout_s: 0.2 } },
      {
        name: "mtls",
        webhook: {
          // The foreign client certificate: the receiver refuses the handshake.
          default_callback_url: `https://localhost:${mtls.port}/hook`,
          default_callback_auth: { kind: "mtls", cert: "foreign.pem", key: "foreign-key.pem", ca: "ca.pem" },
          signing_secret: "${SIGNING_SECRET}",
        },
      },
      { name: "closed", webhook: { allow_networks: [], signing_secret: "${SIGNING_SECRET}" } },
    ),
    files: { "foreign.pem": certs.foreignClient.cert, "foreign-key.pem": certs.foreignClient.key, "ca.pem": certs.ca.cert },
    env: { DEFAULT_PASSWORD, SIGNING_SECRET },
  });

  const cortex = async (api: string, query = ""): Promise<void> => {
    const { status, body, text } = await postJson(`${runtime.url}/${api}${query}`, { x: 1 });
    answers.push(text);
    if (status === 202) statusPaths.push(`/${api}/${String(body.id)}`);
  };
  const launch = async (api: string, request: Record<string, unknown>): Promise<void> => {
    const { status, body, text } = await postJson(`${runtime.url}/v1/async-tasks?model_endpoint_name=${api}`, { args: { x: 1 }, ...request });
    answers.push(text);
    if (status === 200) statusPaths.push(`/v1/async-tasks/${String(body.task_id)}`);
  };

  await cortex("basic"); // default basic auth and signature, answered 401 with the credentials echoed
  await cortex("slow"); // signed, times out
  await cortex("mtls"); // client certificate refused in the TLS handshake
  await cortex("closed", `?callback_url=${encodeURIComponent(`http://localhost:${echoing.port}/hook`)}`); // refused address
  await cortex("closed", `?callback_url=${encodeURIComponent(`http://127.0.0.1:${echoing.port}/hook`)}`); // refused at submit
  await launch("basic", { callback_url: `${echoing.url}/launch`, callback_auth: { kind: "basic", username: "client", password: LAUNCH_PASSWORD } });
  await launch("basic", { callback_url: `https://localhost:${mtls.port}/launch`, callback_auth: { kind: "mtls", cert: certs.client.cert, key: certs.client.key, ca: certs.ca.cert } });
  await launch("basic", { callback_url: `${echoing.url}/launch`, callback_auth: { kind: "mtls", cert: certs.client.cert, key: certs.foreignClient.key } });
  await launch("basic", { callback_url: `${echoing.url}/launch`, callback_auth: { kind: "basic", username: "client:x", password: LAUNCH_PASSWORD } });
  await launch("basic", { callback_url: `${echoing.url}/launch`, callback_auth: { kind: "basic", password: LAUNCH_PASSWORD, extra: LAUNCH_PASSWORD } });
  await launch("closed", { callback_url: `http://[::1]:${echoing.port}/launch`, callback_auth: { kind: "basic", username: "client", password: LAUNCH_PASSWORD } });

  for (const path of statusPaths) await waitForSettledWebhook(runtime, path);
  for (const path of statusPaths) answers.push(JSON.stringify(await statusOf(runtime, path)));
  await runtime.close();
});
afterAll(async () => {
  await runtime.close();
  await Promise.all([echoing.close(), silent.close(), mtls.close()]);
});

/** Every form a secret could leak in: the text itself, base64 of user:password, and each line of a key's PEM body. */
function secretForms(): Array<[string, string]> {
  const keyLines = (name: string, pem: string): Array<[string, string]> =>
    pem
      .split("\n")
      .filter((line) => line.length >= 16 && !line.startsWith("-----"))
      .map((line, i): [string, string] => [`${name} line ${i + 1}`, line]);
  return [
    ["default password", DEFAULT_PASSWORD],
    ["default basic token", Buffer.from(`runtime:${DEFAULT_PASSWORD}`).toString("base64")],
    ["launch password", LAUNCH_PASSWORD],
    ["launch basic token", Buffer.from(`client:${LAUNCH_PASSWORD}`).toString("base64")],
    ["signing secret", SIGNING_SECRET],
    ["signing key base64", SIGNING_SECRET.slice("whsec_".length)],
    ...keyLines("client key", certs.client.key),
    ...keyLines("foreign key", certs.foreignClient.key),
  ];
}

describe("secrets stay secret", () => {
  it("exercised every failure it meant to", () => {
    expect(statusPaths).toHaveLength(6);
    expect(answers.filter((answer) => answer.includes('"error"'))).toHaveLength(5);
    const outcomes = runtime.logLines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line.msg === "webhook attempt")
      .map((line) => line.outcome);
    expect(new Set(outcomes)).toEqual(new Set(["rejected", "timeout", "retryable", "refused", "delivered"]));
    expect(echoing.requests.length).toBeGreaterThanOrEqual(2);
  });

  it("appears in no log line", () => {
    expect(runtime.logLines.length).toBeGreaterThan(20);
    for (const [name, secret] of secretForms()) {
      const leaking = runtime.logLines.filter((line) => line.includes(secret));
      expect({ name, leaking }).toEqual({ name, leaking: [] });
    }
  });

  it("appears in no status answer and no error body", () => {
    for (const [name, secret] of secretForms()) {
      const leaking = answers.filter((answer) => answer.includes(secret));
      expect({ name, leaking }).toEqual({ name, leaking: [] });
    }
  });

  it("was redacted from the receiver's echo, which the status answer still shows", () => {
    const echoed = answers.find((answer) => answer.includes("denied Basic"));
    expect(echoed).toContain("denied Basic [redacted]");
  });
});
