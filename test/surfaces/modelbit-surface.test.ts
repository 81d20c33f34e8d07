import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRecorder, type Recorder } from "../helpers/recorder.js";
import { FIXTURE_PREDICTORS, REPO_ROOT, startTestRuntime, type TestRuntime } from "../helpers/runtime-fixture.js";
import { waitUntil } from "../helpers/wait-until.js";

const echo = join(FIXTURE_PREDICTORS, "echo.ts");
const sum = join(REPO_ROOT, "predictors/sum.ts");
const SECRET = `whsec_${randomBytes(24).toString("base64")}`;

describe("the Modelbit surface: POST /v1/NAME/VERSION (issue 13)", () => {
  let t: TestRuntime;
  let receiver: Recorder;
  /** Answers slowly on /slow (past timeout_s), 200 elsewhere. */
  let slowReceiver: Recorder;

  beforeAll(async () => {
    receiver = await startRecorder();
    slowReceiver = await startRecorder((_request, _index, res) => {
      setTimeout(() => res.writeHead(200).end("{}"), 1500).unref();
    });
    const webhook = `
  webhook:
    signing_secret: ${SECRET}
    timeout_s: 0.3
    retry_schedule_s: [0, 0.05]
    allow_networks: [127.0.0.0/8]`;
    t = await startTestRuntime({
      yaml: `
- name: sum-now
  kind: RealtimeAPI
  predictor: { type: typescript, path: ${sum} }${webhook}
- name: echo-now
  kind: RealtimeAPI
  predictor: { type: typescript, path: ${echo}, threads_per_process: 2 }${webhook}
- name: echo-async
  kind: AsyncAPI
  predictor: { type: typescript, path: ${echo} }${webhook}
`,
    });
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
    await slowReceiver?.close();
  });

  async function post(path: string, body: unknown): Promise<{ status: number; headers: Headers; json: any }> {
    const response = await fetch(`${t.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    return { status: response.status, headers: response.headers, json: await response.json() };
  }

  it("single inference answers {data: result}, under any version segment", async () => {
    expect(await post("/v1/sum-now/latest", { data: { x: 2, y: "hello" } })).toMatchObject({ status: 200, json: { data: 7 } });
    expect(await post("/v1/sum-now/12", { data: { x: 1, y: "" } })).toMatchObject({ status: 200, json: { data: 1 } });
  });

  it("a failed predict() answers 200 {error}, as Modelbit does", async () => {
    const answer = await post("/v1/sum-now/latest", { data: { x: "two" } });
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ error: 'expected a payload like {"x": 2, "y": "hello"}' });
  });

  it("batch inference runs one predict() per item and answers sorted by ID", async () => {
    const answer = await post("/v1/sum-now/latest", { data: [[3, { x: 3, y: "" }], [1, { x: 1, y: "a" }], [2, { x: 2, y: "bb" }]] });
    expect(answer).toMatchObject({ status: 200, json: { data: [[1, 2], [2, 4], [3, 3]] } });
    const failed = await post("/v1/sum-now/latest", { data: [[1, { x: 1, y: "" }], [2, { nope: true }]] });
    expect(failed.json.error).toMatch(/^batch item 2 failed: expected a payload/);
  });

  it("?batch=false keeps a batch-shaped payload whole; ?batch=true takes string IDs; a bad forced batch is a 400", async () => {
    const single = await post("/v1/echo-now/latest?batch=false", { data: [[1, 2], [3, 4]] });
    expect(single.json.data.payload).toEqual([[1, 2], [3, 4]]);
    const named = await post("/v1/echo-now/latest?batch=true", { data: [["b", 2], ["a", 1]] });
    expect(named.json.data.map((item: [string, any]) => [item[0], item[1].payload])).toEqual([["a", 1], ["b", 2]]);
    const bad = await post("/v1/echo-now/latest?batch=true", { data: { x: 1 } });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toContain("a batch is a non-empty list of [ID, payload] pairs");
    expect((await post("/v1/echo-now/latest", { payload: 1 })).status).toBe(400);
    expect((await post("/v1/nope/latest", { data: 1 })).status).toBe(404);
  });

  it("the synchronous form on an AsyncAPI queues the task and answers when it finishes", async () => {
    const answer = await post("/v1/echo-async/latest", { data: { q: 1 } });
    expect(answer.json.data.payload).toEqual({ q: 1 });
    const batch = await post("/v1/echo-async/latest", { data: [[2, "b"], [1, "a"]] });
    expect(batch.json.data.map((item: [number, any]) => [item[0], item[1].payload])).toEqual([[1, "a"], [2, "b"]]);
  });

  for (const api of ["echo-async", "echo-now"]) {
    it(`response_webhook (${api}): {batchId} at once with x-mb-batch-id, then the same body POSTed with x-mb-batch-id, signed`, async () => {
      const path = `/hook-${api}`;
      const answer = await post(`/v1/${api}/latest`, { data: [[1, "x"], [2, "y"]], response_webhook: `${receiver.url}${path}` });
      expect(answer.status).toBe(200);
      expect(Object.keys(answer.json)).toEqual(["batchId"]);
      const batchId = answer.json.batchId as string;
      expect(answer.headers.get("x-mb-batch-id")).toBe(batchId);

      const delivered = await waitUntil("the webhook arrived", () => receiver.requests.find((r) => r.path === path));
      expect(delivered.headers["x-mb-batch-id"]).toBe(batchId);
      const body = delivered.json as any;
      expect(Object.keys(body)).toEqual(["data"]);
      expect(body.data.map((item: [number, any]) => [item[0], item[1].payload])).toEqual([[1, "x"], [2, "y"]]);
      // The standardwebhooks library verifies the signature on the raw body as received.
      const verified = new Webhook(SECRET).verify(delivered.body, delivered.headers as Record<string, string>);
      expect(verified).toEqual(body);
      // The request is a task like any other: its webhook state is visible, keyed by the batch id.
      const status = await waitUntil("the webhook is delivered", async () => {
        const task = (await (await fetch(`${t.url}/${api}/${batchId}`)).json()) as any;
        return task.webhook?.status === "delivered" && task;
      });
      expect(status.webhook).toMatchObject({ attempts: 1, last_status_code: 200 });
    });
  }

  it("response_webhook_ignore_timeout: a receiver slower than timeout_s counts as delivered, once", async () => {
    const answer = await post("/v1/echo-now/latest", { data: 1, response_webhook: `${slowReceiver.url}/slow`, response_webhook_ignore_timeout: true });
    const webhook = await waitUntil("the webhook settled", async () => {
      const task = (await (await fetch(`${t.url}/echo-now/${answer.json.batchId}`)).json()) as any;
      return task.webhook?.status !== "pending" && task.webhook;
    });
    expect(webhook).toMatchObject({ status: "delivered", attempts: 1 });
    expect(webhook.last_error).toContain("counted as delivered because ignore_timeout is true");
    // Without it, the same receiver fails after its retries.
    const strict = await post("/v1/echo-now/latest", { data: 2, response_webhook: `${slowReceiver.url}/slow` });
    const failed = await waitUntil("the strict webhook settled", async () => {
      const task = (await (await fetch(`${t.url}/echo-now/${strict.json.batchId}`)).json()) as any;
      return task.webhook?.status !== "pending" && task.webhook;
    });
    expect(failed).toMatchObject({ status: "failed", attempts: 2 });
  });

  it("the SSRF guard applies to response_webhook", async () => {
    const refused = await post("/v1/echo-now/latest", { data: 1, response_webhook: "http://10.1.2.3/hook" });
    expect(refused.status).toBe(400);
    expect(refused.json.error).toContain("refused");
    expect((await post("/v1/echo-now/latest", { data: 1, response_webhook: 42 })).status).toBe(400);
  });
});
