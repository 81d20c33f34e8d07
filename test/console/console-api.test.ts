import { networkInterfaces } from "node:os";
import { request } from "undici";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { deliveryYaml, postJson, waitForSettledWebhook } from "../helpers/delivery-config.js";
import { answerWith, startRecorder, type Recorder } from "../helpers/recorder.js";
import { startTestRuntime, type TestRuntime } from "../helpers/runtime-fixture.js";
import { waitUntil } from "../helpers/wait-until.js";
import { redisSuiteCanRun, startRedisServer } from "../helpers/redis-server.js";
import { BullmqEngine } from "../../runtime/engine/bullmq-engine.js";

const SIGNING_SECRET = `whsec_${Buffer.from("console-test-signing-secret-32by").toString("base64")}`;
const CALLBACK_PASSWORD = "callback-password-never-shown-9c1f";
const ADMIN_KEY = "admin-key-for-the-console-test-7d2e0a";

async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string; json: any }> {
  const response = await request(url, { headers });
  const text = await response.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.statusCode, text, json };
}

describe("console JSON (/console/api/)", () => {
  let receiver: Recorder;
  let runtime: TestRuntime;

  beforeAll(async () => {
    // Two 503s, then 200: a report with a timeline of three attempts.
    receiver = await startRecorder(answerWith([503, 503, 200]));
    runtime = await startTestRuntime({
      yaml: deliveryYaml(
        { name: "hooks", webhook: { default_callback_url: `${receiver.url}/hook?token=receiver-token-in-query`, signing_secret: SIGNING_SECRET } },
        { name: "quiet", webhook: { post_inference_hooks: [] } },
      ),
    });
  });
  afterAll(async () => {
    await runtime?.close();
    await receiver?.close();
  });

  it("shows every attempt of a report, counts per API, and lists tasks newest first with filters", async () => {
    const submitted = await postJson(`${runtime.url}/hooks`, { x: 1 });
    const id = String(submitted.body.id);
    expect(await waitForSettledWebhook(runtime, `/hooks/${id}`)).toMatchObject({ status: "delivered", attempts: 3 });

    const detail = await get(`${runtime.url}/console/api/tasks/${id}`);
    expect(detail.status).toBe(200);
    expect(detail.json).toMatchObject({ id, api: "hooks", status: "completed", payload: { x: 1 }, webhook: { status: "delivered", attempts: 3, last_status_code: 200 } });
    const origin = new URL(receiver.url).origin;
    expect(detail.json.attempts.map((a: any) => [a.attempt, a.origin, a.outcome, a.status_code])).toEqual([
      [1, origin, "retryable", 503],
      [2, origin, "retryable", 503],
      [3, origin, "delivered", 200],
    ]);
    expect(detail.json.attempts[0].next_attempt_at).toBeGreaterThanOrEqual(detail.json.attempts[0].started_at);
    expect(detail.json.attempts[2].next_attempt_at).toBeUndefined();
    expect(detail.json.attempts[0].error).toContain("503");
    // The report's target without its query (it holds a token); the status route's own answer rides along.
    expect(detail.json.callback_url).not.toContain("receiver-token-in-query");
    expect(detail.json.status_answer).toMatchObject({ id, status: "completed", webhook: { status: "delivered" } });

    const quiet = String((await postJson(`${runtime.url}/quiet`, { y: 2 })).body.id);
    const overview = await get(`${runtime.url}/console/api/overview`);
    expect(overview.status).toBe(200);
    const hooks = overview.json.apis.find((api: any) => api.name === "hooks");
    expect(hooks).toMatchObject({ kind: "AsyncAPI", webhook: true, reports: { delivered: 1, pending: 0, failed: 0 } });
    expect(hooks.tasks.completed).toBe(1);

    const list = await get(`${runtime.url}/console/api/tasks`);
    expect(list.json.tasks.map((task: any) => task.id)).toEqual([quiet, id]);
    expect((await get(`${runtime.url}/console/api/tasks?api=hooks&webhook_status=delivered`)).json.tasks.map((task: any) => task.id)).toEqual([id]);
    expect((await get(`${runtime.url}/console/api/tasks?id=${id.slice(0, -4)}`)).json.tasks.map((task: any) => task.id)).toEqual([id]);
    expect((await get(`${runtime.url}/console/api/tasks?status=failed`)).json.tasks).toEqual([]);

    const activity = await get(`${runtime.url}/console/api/activity?api=hooks`);
    expect(activity.json.buckets).toHaveLength(15);
    const last = activity.json.buckets.at(-1);
    expect(last.finished + activity.json.buckets.at(-2).finished).toBeGreaterThanOrEqual(1);
  });

  it("sends a large payload and result as a preview of their text, with their size", async () => {
    const big = { blob: "y".repeat(300 * 1024) };
    const id = String((await postJson(`${runtime.url}/quiet`, big)).body.id);
    await waitUntil("the task finished", async () => (await get(`${runtime.url}/quiet/${id}`)).json.status === "completed");
    const detail = await get(`${runtime.url}/console/api/tasks/${id}`);
    expect(detail.json.payload).toBeUndefined();
    expect(detail.json.payload_chars).toBe(JSON.stringify(big).length);
    expect(detail.json.payload_preview).toBe(JSON.stringify(big).slice(0, 16 * 1024));
    expect(detail.json.result_chars).toBeGreaterThan(300 * 1024);
    expect(detail.json.status_answer).toBeUndefined();
    expect(detail.text.length).toBeLessThan(64 * 1024);
  });

  it("answers bad filters and unknown tasks with a clear error, never a stack", async () => {
    const badStatus = await get(`${runtime.url}/console/api/tasks?status=done`);
    expect(badStatus.status).toBe(400);
    expect(badStatus.json.error).toContain("status must be one of in_queue");
    expect((await get(`${runtime.url}/console/api/activity?api=nope`)).json.error).toContain("configured API (hooks, quiet)");
    const unknown = await get(`${runtime.url}/console/api/tasks/not-a-task`);
    expect(unknown.status).toBe(404);
    expect(unknown.json.error).toContain("no task not-a-task");
    expect((await get(`${runtime.url}/console/api/nothing`)).status).toBe(404);
  });

  it("answers only requests addressed to a loopback name, so a rebinding page cannot read it", async () => {
    const refused = await get(`${runtime.url}/console/api/overview`, { host: "attacker.example:80" });
    expect(refused.status).toBe(403);
    expect(refused.json.error).toContain("Host");
    expect((await get(`${runtime.url}/console/api/overview`, { host: `localhost:${runtime.runtime.port}` })).status).toBe(200);
    expect((await get(`${runtime.url}/console`, { host: "attacker.example" })).status).toBe(403);
  });
});

describe("console access with --admin-key-env", () => {
  let runtime: TestRuntime | undefined;
  afterEach(async () => {
    await runtime?.close();
    runtime = undefined;
  });

  it("needs Bearer KEY for its JSON; the page itself (no data) loads so it can ask for the key", async () => {
    runtime = await startTestRuntime({ yaml: deliveryYaml({ name: "hooks", webhook: { post_inference_hooks: [] } }), adminKey: ADMIN_KEY });
    const none = await get(`${runtime.url}/console/api/overview`);
    expect(none.status).toBe(401);
    expect(none.json.error).toContain("Authorization: Bearer");
    const wrong = await get(`${runtime.url}/console/api/overview`, { authorization: "Bearer not-the-key" });
    expect(wrong.status).toBe(401);
    expect(wrong.text).not.toContain(ADMIN_KEY);
    expect((await get(`${runtime.url}/console/api/overview`, { authorization: `Bearer ${ADMIN_KEY}` })).status).toBe(200);
    const page = await get(`${runtime.url}/console`);
    expect(page.status).toBe(200);
    expect(page.text).toContain("predictor-runtime console");
  });

  it("with a key, a client on another address gets in with it; without a key, it is refused", async () => {
    const address = Object.values(networkInterfaces())
      .flat()
      .find((entry) => entry !== undefined && entry.family === "IPv4" && !entry.internal)?.address;
    if (address === undefined) {
      console.warn("*** skipping the non-loopback client check: this machine has no non-loopback IPv4 address ***");
      return;
    }
    runtime = await startTestRuntime({ yaml: deliveryYaml({ name: "hooks", webhook: { post_inference_hooks: [] } }), host: "0.0.0.0" });
    const port = runtime.runtime.port;
    const refused = await get(`http://${address}:${port}/console/api/overview`);
    expect(refused.status).toBe(403);
    expect(refused.json.error).toContain("loopback clients only");
    await runtime.close();

    runtime = await startTestRuntime({ yaml: deliveryYaml({ name: "hooks", webhook: { post_inference_hooks: [] } }), host: "0.0.0.0", adminKey: ADMIN_KEY });
    const url = `http://${address}:${runtime.runtime.port}/console/api/overview`;
    expect((await get(url)).status).toBe(401);
    expect((await get(url, { authorization: `Bearer ${ADMIN_KEY}` })).status).toBe(200);
  });
});

describe("console secrets scan", () => {
  it("no console answer holds a credential, key, signing secret or the receiver's query token", async () => {
    const receiver = await startRecorder(answerWith([500]));
    const runtime = await startTestRuntime({
      yaml: deliveryYaml({
        name: "secretive",
        webhook: {
          default_callback_url: `${receiver.url}/hook?token=receiver-token-in-query`,
          default_callback_auth: { kind: "basic", username: "runtime", password: CALLBACK_PASSWORD },
          signing_secret: SIGNING_SECRET,
          retry_schedule_s: [0, 0.05],
        },
      }),
      adminKey: ADMIN_KEY,
    });
    try {
      const perRequestPassword = "per-request-password-5b7f";
      const launch = await postJson(`${runtime.url}/v1/async-tasks?model_endpoint_name=secretive`, {
        args: { hello: "world" },
        callback_url: `${receiver.url}/launch?sig=another-query-token`,
        callback_auth: { kind: "basic", username: "u", password: perRequestPassword },
      });
      const launchId = String(launch.body.task_id);
      const cortexId = String((await postJson(`${runtime.url}/secretive`, { x: 1 })).body.id);
      await waitForSettledWebhook(runtime, `/secretive/${cortexId}`);
      await waitForSettledWebhook(runtime, `/v1/async-tasks/${launchId}`);

      const auth = { authorization: `Bearer ${ADMIN_KEY}` };
      const paths = [
        "/console",
        "/console/assets/console.js",
        "/console/assets/json-view.js",
        "/console/assets/console.css",
        "/console/api/overview",
        "/console/api/activity?api=secretive",
        "/console/api/tasks",
        "/console/api/tasks?webhook_status=failed",
        `/console/api/tasks/${launchId}`,
        `/console/api/tasks/${cortexId}`,
        "/console/api/tasks/unknown",
        "/console/api/nothing",
      ];
      const secrets = [ADMIN_KEY, SIGNING_SECRET, SIGNING_SECRET.slice(6), CALLBACK_PASSWORD, perRequestPassword, "receiver-token-in-query", "another-query-token", Buffer.from(`runtime:${CALLBACK_PASSWORD}`).toString("base64")];
      let scanned = 0;
      for (const path of paths) {
        for (const headers of [auth, {}, { authorization: "Bearer wrong" }]) {
          const answer = await get(`${runtime.url}${path}`, headers);
          scanned++;
          for (const secret of secrets) expect(answer.text, `${path} answered with a secret`).not.toContain(secret);
        }
      }
      const detail = await get(`${runtime.url}/console/api/tasks/${launchId}`, auth);
      // The per-request credentials were erased when the task finished: no kind is claimed for them.
      expect(detail.json.callback_auth).toBeUndefined();
      expect((await get(`${runtime.url}/console/api/tasks/${cortexId}`, auth)).json.callback_auth).toBe("basic (the API's default_callback_auth)");
      expect(detail.json.attempts.length).toBeGreaterThan(0);
      expect(scanned).toBe(paths.length * 3);
    } finally {
      await runtime.close();
      await receiver.close();
    }
  });
});

const redisAvailable = redisSuiteCanRun("the console on --engine redis");

describe.skipIf(!redisAvailable)("console on --engine redis", () => {
  it("shows counts, the task list and a report's attempts from the Redis store", async () => {
    const redis = await startRedisServer();
    const receiver = await startRecorder(answerWith([503, 200]));
    const runtime = await startTestRuntime({
      yaml: deliveryYaml({ name: "hooks", webhook: { default_callback_url: `${receiver.url}/hook` } }),
      engine: (context) => new BullmqEngine({ ...context, url: redis.url }),
    });
    try {
      const id = String((await postJson(`${runtime.url}/hooks`, { on: "redis" })).body.id);
      expect(await waitForSettledWebhook(runtime, `/hooks/${id}`)).toMatchObject({ status: "delivered", attempts: 2 });
      const overview = await get(`${runtime.url}/console/api/overview`);
      expect(overview.json.engine).toBe("redis");
      expect(overview.json.apis[0]).toMatchObject({ name: "hooks", tasks: { completed: 1 }, reports: { delivered: 1 } });
      expect((await get(`${runtime.url}/console/api/tasks?webhook_status=delivered`)).json.tasks.map((task: any) => task.id)).toEqual([id]);
      const detail = await get(`${runtime.url}/console/api/tasks/${id}`);
      expect(detail.json.payload).toEqual({ on: "redis" });
      expect(detail.json.attempts.map((a: any) => [a.attempt, a.outcome, a.status_code])).toEqual([
        [1, "retryable", 503],
        [2, "delivered", 200],
      ]);
      const activity = await get(`${runtime.url}/console/api/activity?api=hooks`);
      const delivered = activity.json.buckets.filter((bucket: any) => bucket.delivered > 0);
      expect(delivered).toHaveLength(1);
      expect(delivered[0].p99_latency_ms).toBeGreaterThanOrEqual(0);
    } finally {
      await runtime.close();
      await receiver.close();
      await redis.stop();
    }
  });
});
