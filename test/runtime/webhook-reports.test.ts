import { join } from "node:path";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VERSION } from "../../runtime/version.js";
import { startRecorder, type Recorder } from "../helpers/recorder.js";
import { FIXTURE_PREDICTORS, REPO_ROOT, startTestRuntime, type TestRuntime } from "../helpers/runtime-fixture.js";
import { waitUntil } from "../helpers/wait-until.js";

const echo = join(FIXTURE_PREDICTORS, "echo.ts");
const sum = join(REPO_ROOT, "predictors/sum.ts");
const fail = join(REPO_ROOT, "predictors/fail.ts");

function submit(url: string, api: string, payload: unknown, callbackUrl?: string) {
  const post = request(url).post(`/${api}`).set("content-type", "application/json");
  if (callbackUrl) post.query({ callback_url: callbackUrl });
  return post.send(JSON.stringify(payload)).expect(202);
}

async function finishedWithWebhook(url: string, api: string, id: string): Promise<Record<string, any>> {
  return waitUntil(`task ${id} finished and its webhook settled`, async () => {
    const body = (await request(url).get(`/${api}/${id}`)).body as Record<string, any>;
    return body.webhook && body.webhook.status !== "pending" ? body : undefined;
  });
}

describe("webhook reports (Cortex body)", () => {
  let receiver: Recorder;
  let other: Recorder;
  let t: TestRuntime;

  beforeAll(async () => {
    receiver = await startRecorder();
    other = await startRecorder();
    const hook = `
    allow_networks: [127.0.0.0/8]`;
    t = await startTestRuntime({
      yaml: `
- name: sum
  kind: AsyncAPI
  predictor: { type: typescript, path: ${sum} }
  webhook:
    post_inference_hooks: [callback]
    default_callback_url: ${receiver.url}/hook${hook}
- name: fail
  kind: AsyncAPI
  predictor: { type: typescript, path: ${fail}, config: { message: model exploded } }
  webhook:
    post_inference_hooks: [callback]
    default_callback_url: ${receiver.url}/hook${hook}
- name: no-hooks
  kind: AsyncAPI
  predictor: { type: typescript, path: ${echo} }
  webhook:
    default_callback_url: ${receiver.url}/should-never-be-called${hook}
- name: no-url
  kind: AsyncAPI
  predictor: { type: typescript, path: ${echo} }
  webhook:
    post_inference_hooks: [callback]${hook}
- name: slow
  kind: AsyncAPI
  predictor: { type: typescript, path: ${echo} }
  webhook:
    post_inference_hooks: [callback]
    default_callback_url: ${receiver.url}/slow${hook}
`,
    });
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
    await other?.close();
  });

  it("sends a completed task's report with the exact body and headers of contract section 4", async () => {
    const submittedAt = Date.now();
    const { id } = (await submit(t.url, "sum", { x: 2, y: "hello" })).body as { id: string };
    const status = await finishedWithWebhook(t.url, "sum", id);
    const report = receiver.requests.find((r) => (r.json as any)?.id === id)!;
    expect(report.method).toBe("POST");
    expect(report.path).toBe("/hook");
    // Exact bytes: key order and values as the contract writes them.
    expect(report.body).toBe(JSON.stringify({ id, status: "completed", result: 7, timestamp: status.timestamp }));
    expect(report.headers["content-type"]).toBe("application/json");
    expect(report.headers["user-agent"]).toBe(`predictor-runtime/${VERSION}`);
    expect(report.headers["x-request-id"]).toBe(id);
    expect(report.headers["webhook-id"]).toBe(`msg_${id}`);
    const webhookTimestamp = Number(report.headers["webhook-timestamp"]);
    expect(webhookTimestamp).toBeGreaterThanOrEqual(Math.floor(submittedAt / 1000));
    expect(webhookTimestamp).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
    expect(report.headers["webhook-signature"]).toBeUndefined();
    expect(report.headers.authorization).toBeUndefined();
    expect(status.webhook).toEqual({ status: "delivered", attempts: 1, last_status_code: 200 });
  });

  it("sends a failed task's report with what predict() threw", async () => {
    const { id } = (await submit(t.url, "fail", {})).body as { id: string };
    const status = await finishedWithWebhook(t.url, "fail", id);
    const report = receiver.requests.find((r) => (r.json as any)?.id === id)!;
    expect(report.body).toBe(JSON.stringify({ id, status: "failed", error: `model exploded (request ${id})`, timestamp: status.timestamp }));
    expect(status.error).toBe(`model exploded (request ${id})`);
  });

  it("stamps the report with when the task finished, not when it was sent", async () => {
    const { id } = (await submit(t.url, "slow", { delay_ms: 300 })).body as { id: string };
    const submittedAt = Date.now();
    await finishedWithWebhook(t.url, "slow", id);
    const report = receiver.requests.find((r) => (r.json as any)?.id === id)!;
    const finishedAt = Date.parse((report.json as { timestamp: string }).timestamp);
    expect(finishedAt).toBeGreaterThanOrEqual(submittedAt + 250);
    expect(finishedAt).toBeLessThanOrEqual(report.receivedAt);
  });

  it("sends to the request's callback_url instead of the default", async () => {
    const { id } = (await submit(t.url, "sum", { x: 1, y: "ab" }, `${other.url}/mine?token=abc`)).body as { id: string };
    await finishedWithWebhook(t.url, "sum", id);
    const report = other.requests.find((r) => (r.json as any)?.id === id);
    expect(report?.path).toBe("/mine?token=abc");
    expect(report?.json).toMatchObject({ id, status: "completed", result: 3 });
    expect(receiver.requests.some((r) => (r.json as any)?.id === id)).toBe(false);
  });

  it("sends exactly one report per task", async () => {
    const ids = await Promise.all(Array.from({ length: 20 }, async (_, i) => ((await submit(t.url, "sum", { x: i, y: "" })).body as { id: string }).id));
    for (const id of ids) await finishedWithWebhook(t.url, "sum", id);
    // A further report would follow at once if one were due; give it a moment to show up.
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const id of ids) expect(receiver.requests.filter((r) => (r.json as any)?.id === id)).toHaveLength(1);
  });

  it("sends nothing when post_inference_hooks does not list callback, even with a callback_url", async () => {
    const plain = (await submit(t.url, "no-hooks", { a: 1 })).body as { id: string };
    const withUrl = (await submit(t.url, "no-hooks", { a: 2 }, `${other.url}/unexpected`)).body as { id: string };
    const plainStatus = await waitUntil("plain finished", async () => {
      const body = (await request(t.url).get(`/no-hooks/${plain.id}`)).body;
      return body.status === "completed" ? body : undefined;
    });
    const withUrlStatus = await finishedWithWebhook(t.url, "no-hooks", withUrl.id);
    expect(plainStatus.webhook).toBeUndefined();
    expect(withUrlStatus.webhook).toEqual({
      status: "skipped",
      attempts: 0,
      last_error: "not sent: API no-hooks does not list callback in webhook.post_inference_hooks",
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(receiver.requests.filter((r) => r.path === "/should-never-be-called")).toHaveLength(0);
    expect(other.requests.filter((r) => r.path === "/unexpected")).toHaveLength(0);
  });

  it("skips, and says why, when there is no URL to send to", async () => {
    const { id } = (await submit(t.url, "no-url", {})).body as { id: string };
    const status = await finishedWithWebhook(t.url, "no-url", id);
    expect(status.webhook).toEqual({
      status: "skipped",
      attempts: 0,
      last_error: "not sent: no callback_url was given and API no-url has no default_callback_url",
    });
  });
});
