import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LaunchClientWire } from "../helpers/launch-client.js";
import { startRecorder, type Recorder } from "../helpers/recorder.js";
import { FIXTURE_PREDICTORS, REPO_ROOT, startTestRuntime, type TestRuntime } from "../helpers/runtime-fixture.js";

const echo = join(FIXTURE_PREDICTORS, "echo.ts");
const sum = join(REPO_ROOT, "predictors/sum.ts");

describe("the official Launch client's wire form, step by step (issue 13)", () => {
  let t: TestRuntime;
  let receiver: Recorder;
  let client: LaunchClientWire;

  beforeAll(async () => {
    receiver = await startRecorder();
    t = await startTestRuntime({
      yaml: `
- name: classify
  kind: AsyncAPI
  predictor: { type: typescript, path: ${echo}, threads_per_process: 1 }
  webhook:
    post_inference_hooks: [callback]
    default_callback_url: ${receiver.url}/hook?token=secret-token-123
    allow_networks: [127.0.0.0/8]
- name: sum
  kind: AsyncAPI
  predictor: { type: typescript, path: ${sum} }
- name: sum-now
  kind: RealtimeAPI
  predictor: { type: typescript, path: ${sum} }
`,
    });
    client = new LaunchClientWire("any-key-without-api-keys-configured", t.url);
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  it("1. get_model_endpoint(name) finds the endpoint and dispatches on endpoint_type", async () => {
    const endpoint = await client.getModelEndpoint("classify");
    expect(endpoint).toEqual({
      kind: "AsyncEndpoint",
      model_endpoint: {
        name: "classify",
        id: "classify",
        status: "READY",
        endpoint_type: "async",
        post_inference_hooks: ["callback"],
        // Shown without its query, where receivers keep tokens.
        default_callback_url: `${receiver.url}/hook?…`,
      },
    });
    expect((await client.getModelEndpoint("sum-now"))?.kind).toBe("SyncEndpoint");
    expect(await client.getModelEndpoint("no-such-endpoint")).toBeNull();
    const all = await client.listModelEndpoints();
    expect(all.map((e) => `${e.kind}:${e.model_endpoint.name}`)).toEqual(["AsyncEndpoint:classify", "AsyncEndpoint:sum", "SyncEndpoint:sum-now"]);
    const one = await fetch(`${t.url}/v1/model-endpoints/sum-now`);
    expect(await one.json()).toEqual({ id: "sum-now", name: "sum-now", endpoint_type: "sync", status: "READY", post_inference_hooks: [] });
    expect((await fetch(`${t.url}/v1/model-endpoints/nope`)).status).toBe(404);
  });

  it("2-3. AsyncEndpoint.predict posts with model_endpoint_id, and future.get() reads result['result'] (a dict)", async () => {
    const taskId = await client.asyncPredict("classify", { args: { text: "good" } });
    const sent = client.requests.at(-1)!;
    expect(sent.path).toBe("/v1/async-tasks?model_endpoint_id=classify");
    expect(sent.body).toBe('{"return_pickled": false, "args": {"text": "good"}}');
    expect(sent.headers.authorization).toBe(`Basic ${Buffer.from("any-key-without-api-keys-configured:").toString("base64")}`);
    const response = await client.futureGet(taskId);
    expect(response.status).toBe("SUCCESS");
    expect(response.result).toMatchObject({ payload: { text: "good" }, requestId: taskId });
    expect(response.polls.every((status) => status === "PENDING" || status === "SUCCESS")).toBe(true);
    // The webhook body keeps the bare value, as the Launch callback docs show.
    const report = await receiver.waitFor(1);
    expect((report[0]!.json as any).result).toMatchObject({ payload: { text: "good" } });
  });

  it("3. a number result no longer breaks the client (it read .get on an int), and a running task polls as PENDING", async () => {
    const taskId = await client.asyncPredict("sum", { args: { x: 2, y: "hello" } });
    expect((await client.futureGet(taskId)).result).toBe(7);
    const slow = await client.asyncPredict("classify", { args: { delay_ms: 400 } });
    const polled = await client.futureGet(slow);
    expect(polled.status).toBe("SUCCESS");
    expect(new Set(polled.polls)).toEqual(new Set(["PENDING", "SUCCESS"]));
  });

  it("3. FAILURE carries the traceback the client returns", async () => {
    const taskId = await client.asyncPredict("classify", { args: { fail: "model exploded" } });
    const response = await client.futureGet(taskId);
    expect(response).toMatchObject({ status: "FAILURE", result: null });
    expect(String(response.traceback)).toContain("model exploded");
  });

  it("model_endpoint_name still works; conflicting id and name are refused", async () => {
    const byName = await fetch(`${t.url}/v1/async-tasks?model_endpoint_name=sum`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"args": {"x": 1, "y": ""}}' });
    expect(byName.status).toBe(200);
    const both = await fetch(`${t.url}/v1/async-tasks?model_endpoint_name=sum&model_endpoint_id=classify`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"args": {}}' });
    expect(both.status).toBe(400);
    expect(((await both.json()) as { error: string }).error).toContain("name different endpoints");
  });

  it("4. SyncEndpoint.predict posts to /v1/sync-tasks and reads result['result'], or FAILURE with the traceback", async () => {
    const success = await client.syncPredict("sum-now", { x: 40, y: "hi" });
    expect(client.requests.at(-1)!.path).toBe("/v1/sync-tasks?model_endpoint_id=sum-now");
    expect(success).toEqual({ status: "SUCCESS", result_url: null, result: 42, traceback: null });
    const failure = await client.syncPredict("sum-now", { x: "not a number" });
    expect(failure).toMatchObject({ status: "FAILURE", result: null });
    expect(String(failure.traceback)).toContain('expected a payload like {"x": 2, "y": "hello"}');
    const onAsync = await fetch(`${t.url}/v1/sync-tasks?model_endpoint_id=sum`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"args": {}}' });
    expect(onAsync.status).toBe(400);
    expect(((await onAsync.json()) as { error: string }).error).toContain("POST /v1/async-tasks?model_endpoint_id=sum");
  });
});
