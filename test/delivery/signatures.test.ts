import { createHmac, randomBytes } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deliveryYaml, postJson, waitForSettledWebhook } from "../helpers/delivery-config.js";
import { answerWith, startRecorder, type RecordedRequest, type Recorder } from "../helpers/recorder.js";
import { startTestRuntime, type TestRuntime } from "../helpers/runtime-fixture.js";

// Standard Webhooks interop: every signed report verifies with the standardwebhooks package, and with an HMAC
// computed here independently of runtime/webhook/signature.ts.
const SECRET = `whsec_${randomBytes(32).toString("base64")}`;
let runtime: TestRuntime;
let receiver: Recorder;

beforeAll(async () => {
  // Every report is refused once, so each is signed twice: one webhook-id, two timestamps.
  receiver = await startRecorder((request, _index, res) => {
    const seen = receiver.requests.filter((other) => other.headers["webhook-id"] === request.headers["webhook-id"]).length;
    answerWith([seen === 1 ? 503 : 200])(request, 0, res);
  });
  runtime = await startTestRuntime({
    yaml: deliveryYaml({ name: "signed", webhook: { signing_secret: "${WEBHOOK_SECRET}" } }, { name: "unsigned" }),
    env: { WEBHOOK_SECRET: SECRET },
  });
});
afterAll(async () => {
  await runtime.close();
  await receiver.close();
});

/** The signature as the Standard Webhooks spec defines it, computed without the runtime's code. */
function expectedSignature(request: RecordedRequest): string {
  const key = Buffer.from(SECRET.slice("whsec_".length), "base64");
  const signed = `${String(request.headers["webhook-id"])}.${String(request.headers["webhook-timestamp"])}.${request.body}`;
  return `v1,${createHmac("sha256", key).update(signed).digest("base64")}`;
}

function headersOf(request: RecordedRequest): Record<string, string> {
  return Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, String(value)]));
}

describe("Standard Webhooks signatures", () => {
  let reports: RecordedRequest[];
  const taskIds: string[] = [];

  beforeAll(async () => {
    const cortex = await postJson(`${runtime.url}/signed?callback_url=${encodeURIComponent(`${receiver.url}/cortex`)}`, { x: 1 });
    const failing = await postJson(`${runtime.url}/signed?callback_url=${encodeURIComponent(`${receiver.url}/cortex`)}`, { fail: "boom ✗ ünïcode" });
    const launch = await postJson(`${runtime.url}/v1/async-tasks?model_endpoint_name=signed`, { args: { text: "naïve 🙂" }, callback_url: `${receiver.url}/launch` });
    taskIds.push(String(cortex.body.id), String(failing.body.id), String(launch.body.task_id));
    await waitForSettledWebhook(runtime, `/signed/${taskIds[0]}`);
    await waitForSettledWebhook(runtime, `/signed/${taskIds[1]}`);
    await waitForSettledWebhook(runtime, `/v1/async-tasks/${taskIds[2]}`);
    reports = receiver.requests.filter((request) => taskIds.includes(String(request.headers["x-request-id"])));
  });

  it("signs every attempt of every report so that standardwebhooks' Webhook.verify accepts it", () => {
    expect(reports).toHaveLength(6);
    const verifier = new Webhook(SECRET);
    for (const report of reports) {
      expect(verifier.verify(report.body, headersOf(report))).toEqual(JSON.parse(report.body));
    }
  });

  it("computes the signature exactly as the spec says", () => {
    for (const report of reports) expect(report.headers["webhook-signature"]).toBe(expectedSignature(report));
  });

  it("is rejected by Webhook.verify with another secret or a changed body", () => {
    const report = reports[0]!;
    expect(() => new Webhook(`whsec_${randomBytes(32).toString("base64")}`).verify(report.body, headersOf(report))).toThrow();
    expect(() => new Webhook(SECRET).verify(report.body.replace("1", "2"), headersOf(report))).toThrow();
  });

  it("keeps webhook-id stable across retries (msg_<task id>) and stamps each attempt", () => {
    for (const taskId of taskIds) {
      const attempts = reports.filter((report) => report.headers["x-request-id"] === taskId);
      expect(attempts).toHaveLength(2);
      expect(attempts.map((attempt) => attempt.headers["webhook-id"])).toEqual([`msg_${taskId}`, `msg_${taskId}`]);
      expect(attempts[0]!.body).toBe(attempts[1]!.body);
      for (const attempt of attempts) {
        const timestamp = Number(attempt.headers["webhook-timestamp"]);
        expect(String(timestamp)).toBe(attempt.headers["webhook-timestamp"]);
        // Stamped when the attempt was sent: never after it arrived, and only seconds before it (a loaded machine
        // can hold an attempt between its stamp and its arrival for a second or two).
        const receivedS = Math.floor(attempt.receivedAt / 1000);
        expect(timestamp).toBeLessThanOrEqual(receivedS);
        expect(receivedS - timestamp).toBeLessThanOrEqual(5);
      }
    }
  });

  it("sends the contract's headers", () => {
    for (const report of reports) {
      expect(report.method).toBe("POST");
      expect(report.headers["content-type"]).toBe("application/json");
      expect(report.headers["user-agent"]).toMatch(/^predictor-runtime\/\d+\.\d+\.\d+/);
    }
  });
});

describe("without a signing secret", () => {
  it("sends webhook-id and webhook-timestamp but no signature", async () => {
    const { body } = await postJson(`${runtime.url}/unsigned?callback_url=${encodeURIComponent(`${receiver.url}/plain`)}`, { x: 1 });
    await waitForSettledWebhook(runtime, `/unsigned/${String(body.id)}`);
    const report = receiver.requests.find((request) => request.headers["x-request-id"] === body.id)!;
    expect(report.headers["webhook-id"]).toBe(`msg_${String(body.id)}`);
    expect(report.headers["webhook-timestamp"]).toMatch(/^\d+$/);
    expect(report.headers).not.toHaveProperty("webhook-signature");
  });
});
