import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deliveryYaml, postJson, statusOf, waitForSettledWebhook } from "../helpers/delivery-config.js";
import { startRecorder, type Recorder } from "../helpers/recorder.js";
import { startTestRuntime, type TestRuntime } from "../helpers/runtime-fixture.js";
import { generateTestCerts, type TestCerts } from "../helpers/test-certs.js";
import { waitUntil } from "../helpers/wait-until.js";

// Contract section 3 (Launch surface) and the Launch report of section 4, end to end.
let runtime: TestRuntime;
let defaultReceiver: Recorder;
let receiver: Recorder;
let certs: TestCerts;
const PASSWORD = "launch-pw-8c1e0b97";

beforeAll(async () => {
  certs = await generateTestCerts();
  defaultReceiver = await startRecorder();
  receiver = await startRecorder();
  runtime = await startTestRuntime({
    yaml: deliveryYaml(
      { name: "echo", webhook: { default_callback_url: `${defaultReceiver.url}/default` } },
      { name: "no-default" },
      { name: "serial", predictor: { threads_per_process: 1 }, webhook: { default_callback_url: `${defaultReceiver.url}/default` } },
    ),
  });
});
afterAll(async () => {
  await runtime.close();
  await defaultReceiver.close();
  await receiver.close();
});

const submit = (api: string, body: unknown, headers: Record<string, string> = {}) =>
  postJson(`${runtime.url}/v1/async-tasks?model_endpoint_name=${api}`, body, headers);

async function settledStatus(taskId: string): Promise<Record<string, unknown>> {
  await waitForSettledWebhook(runtime, `/v1/async-tasks/${taskId}`);
  return statusOf(runtime, `/v1/async-tasks/${taskId}`);
}

describe("POST /v1/async-tasks", () => {
  it("answers 200 {task_id} and reports SUCCESS in the Launch format", async () => {
    const { status, body } = await submit("echo", { args: { x: 2 }, callback_url: `${receiver.url}/hook` });
    expect(status).toBe(200);
    expect(Object.keys(body)).toEqual(["task_id"]);
    const taskId = String(body.task_id);

    const answer = await settledStatus(taskId);
    // The status answer wraps the value as the Launch client reads it; the webhook body below keeps it bare.
    expect(answer).toMatchObject({ task_id: taskId, status: "SUCCESS", result: { result: { payload: { x: 2 } } }, webhook: { status: "delivered", attempts: 1, last_status_code: 200 } });
    expect(answer).not.toHaveProperty("traceback");

    const report = receiver.requests.find((request) => request.headers["x-request-id"] === taskId)!;
    const json = report.json as Record<string, unknown>;
    expect(Object.keys(json)).toEqual(["task_id", "status", "result", "timestamp"]);
    expect(json).toMatchObject({ task_id: taskId, status: "SUCCESS", result: { payload: { x: 2 } } });
    expect(json.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it("reports FAILURE with result null and the traceback", async () => {
    const { body } = await submit("echo", { args: { fail: "no such model" }, callback_url: `${receiver.url}/hook` });
    const taskId = String(body.task_id);
    const answer = await settledStatus(taskId);
    expect(answer).toMatchObject({ task_id: taskId, status: "FAILURE" });
    expect(answer.traceback).toContain("no such model");
    expect(answer).not.toHaveProperty("result");

    const json = receiver.requests.find((request) => request.headers["x-request-id"] === taskId)!.json as Record<string, unknown>;
    expect(Object.keys(json)).toEqual(["task_id", "status", "result", "traceback", "timestamp"]);
    expect(json).toMatchObject({ task_id: taskId, status: "FAILURE", result: null });
    expect(json.traceback).toContain("no such model");
  });

  it("shows PENDING while a task waits and while it runs (the Launch client raises on any other unfinished status)", async () => {
    const first = String((await submit("serial", { args: { delay_ms: 600 } })).body.task_id);
    const second = String((await submit("serial", { args: { delay_ms: 1 } })).body.task_id);
    await waitUntil("the first task runs", async () => (await statusOf(runtime, `/serial/${first}`)).status === "in_progress");
    expect(await statusOf(runtime, `/v1/async-tasks/${first}`)).toEqual({ task_id: first, status: "PENDING" });
    const waiting = await statusOf(runtime, `/v1/async-tasks/${second}`);
    expect(waiting).toEqual({ task_id: second, status: "PENDING" });
    expect((await settledStatus(second)).status).toBe("SUCCESS");
  });

  it("answers a repeated x-request-id with 200 and the first task's id, running it once", async () => {
    const key = `launch-key-${Date.now()}`;
    const first = await submit("echo", { args: { n: 1 } }, { "x-request-id": key });
    const again = await submit("echo", { args: { n: 2 } }, { "x-request-id": key });
    expect(again).toMatchObject({ status: 200, body: { task_id: first.body.task_id } });
    const answer = await settledStatus(String(first.body.task_id));
    expect(answer.result).toMatchObject({ result: { payload: { n: 1 } } });
  });

  it("sends callback_auth given without callback_url to the API's default_callback_url", async () => {
    const { status, body } = await submit("echo", { args: {}, callback_url: null, callback_auth: { kind: "basic", username: "user", password: PASSWORD } });
    expect(status).toBe(200);
    await settledStatus(String(body.task_id));
    const report = defaultReceiver.requests.find((request) => request.headers["x-request-id"] === body.task_id)!;
    expect(report.headers.authorization).toBe(`Basic ${Buffer.from(`user:${PASSWORD}`).toString("base64")}`);
  });

  it("takes the Launch client's null fields", async () => {
    const { status } = await submit("echo", { args: 1, url: null, cloudpickle: null, callback_url: null, callback_auth: null, return_pickled: false });
    expect(status).toBe(200);
  });
});

describe("Launch errors", () => {
  it("404s an unknown model_endpoint_name and an unknown task", async () => {
    expect((await submit("nope", { args: {} })).status).toBe(404);
    expect((await fetch(`${runtime.url}/v1/async-tasks/not-a-task`)).status).toBe(404);
  });

  it("400s a missing model_endpoint_name", async () => {
    const { status, body } = await postJson(`${runtime.url}/v1/async-tasks`, { args: {} });
    expect(status).toBe(400);
    expect(body.error).toContain("model_endpoint_name");
  });

  it.each([
    [{ kind: "basic", username: "user" }, "callback_auth.password is required for kind basic"],
    [{ kind: "basic", password: PASSWORD }, "callback_auth.username is required for kind basic"],
    [{ kind: "basic", username: "user", password: PASSWORD, token: "x" }, "callback_auth of kind basic takes only kind, username, password; remove token"],
    [{ kind: "basic", username: "us:er", password: PASSWORD }, "callback_auth.username may not contain a colon (RFC 7617)"],
    [{ kind: "basic", username: "user", password: 42 }, "callback_auth.password must be a non-empty string"],
    [{ kind: "bearer", token: PASSWORD }, 'callback_auth.kind must be "basic" or "mtls"'],
    [{ username: "user", password: PASSWORD }, 'callback_auth.kind must be "basic" or "mtls"'],
    ["user:" + PASSWORD, "callback_auth must be an object"],
    [{ kind: "mtls", key: "KEY" }, "callback_auth.cert is required for kind mtls"],
    [{ kind: "mtls", cert: "/etc/client.pem", key: "/etc/client-key.pem" }, "callback_auth.cert must be PEM text (starting with -----BEGIN), not a file path"],
  ])("400s callback_auth %j with an actionable message that quotes no secret", async (auth, message) => {
    const { status, body, text } = await submit("echo", { args: {}, callback_url: `${receiver.url}/hook`, callback_auth: auth });
    expect(status).toBe(400);
    expect(String(body.error)).toContain(message);
    expect(text).not.toContain(PASSWORD);
  });

  it("400s client-certificate credentials that cannot work, without quoting the key", async () => {
    const mismatched = { kind: "mtls", cert: certs.client.cert, key: certs.foreignClient.key, ca: certs.ca.cert };
    const mismatch = await submit("echo", { args: {}, callback_url: `${receiver.url}/hook`, callback_auth: mismatched });
    expect(mismatch.status).toBe(400);
    expect(mismatch.body.error).toBe("callback_auth.key does not belong to cert (their public keys differ); give the key the certificate was issued for");

    const serverCertificate = { kind: "mtls", cert: certs.server.cert, key: certs.server.key };
    const wrongUse = await submit("echo", { args: {}, callback_url: `${receiver.url}/hook`, callback_auth: serverCertificate });
    expect(wrongUse.body.error).toContain("callback_auth.cert is not meant for client authentication");

    const garbage = { kind: "mtls", cert: certs.client.cert, key: "-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n" };
    const unreadable = await submit("echo", { args: {}, callback_url: `${receiver.url}/hook`, callback_auth: garbage });
    expect(unreadable.body.error).toContain("callback_auth.key is not a PEM private key");

    const keyLines = [certs.foreignClient.key, certs.server.key].flatMap((pem) => pem.split("\n").filter((line) => line.length > 0 && !line.startsWith("-----")));
    for (const answer of [mismatch, wrongUse, unreadable]) {
      for (const line of [...keyLines, "not base64"]) expect(answer.text).not.toContain(line);
    }
  });

  it("400s callback_auth without a callback_url when the API has no default to send it to", async () => {
    const { status, body } = await submit("no-default", { args: {}, callback_auth: { kind: "basic", username: "user", password: PASSWORD } });
    expect(status).toBe(400);
    expect(body.error).toBe('callback_auth was given without callback_url, and API "no-default" has no default_callback_url to use it with; give callback_url too');
  });

  it("400s Launch features this runtime does not have", async () => {
    expect((await submit("echo", { args: {}, cloudpickle: "gASV" })).body.error).toContain("cloudpickle payloads are not supported");
    expect((await submit("echo", { args: {}, return_pickled: true })).body.error).toContain("return_pickled is not supported");
  });
});
