import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIXTURE_PREDICTORS, REPO_ROOT, startTestRuntime, type TestRuntime } from "../helpers/runtime-fixture.js";
import { waitUntil } from "../helpers/wait-until.js";

const echo = join(FIXTURE_PREDICTORS, "echo.ts");
const sum = join(REPO_ROOT, "predictors/sum.ts");

async function statusOf(url: string, api: string, id: string): Promise<Record<string, any>> {
  const response = await request(url).get(`/${api}/${id}`).expect(200);
  return response.body as Record<string, any>;
}

async function finished(url: string, api: string, id: string): Promise<Record<string, any>> {
  return waitUntil(`task ${id} finished`, async () => {
    const body = await statusOf(url, api, id);
    return body.status === "completed" || body.status === "failed" ? body : undefined;
  });
}

function submit(url: string, api: string, payload: unknown) {
  return request(url).post(`/${api}`).set("content-type", "application/json").send(JSON.stringify(payload));
}

describe("Cortex surface", () => {
  const dir = mkdtempSync(join(tmpdir(), "cortex-surface-"));
  const counterFile = join(dir, "calls.log");
  let t: TestRuntime;

  beforeAll(async () => {
    writeFileSync(counterFile, "");
    t = await startTestRuntime({
      dir,
      yaml: `
- name: echo
  kind: AsyncAPI
  predictor: { type: typescript, path: ${echo}, config: { greeting: hi } }
- name: sum
  kind: AsyncAPI
  predictor: { type: typescript, path: ${sum} }
- name: sum-now
  kind: RealtimeAPI
  predictor: { type: typescript, path: ${sum} }
- name: echo-now
  kind: RealtimeAPI
  predictor: { type: typescript, path: ${echo}, predict_timeout_s: 0.3 }
- name: counting
  kind: AsyncAPI
  predictor: { type: typescript, path: ${join(FIXTURE_PREDICTORS, "counting.ts")}, config: { log_file: ${counterFile} } }
- name: parallel
  kind: AsyncAPI
  predictor: { type: typescript, path: ${join(FIXTURE_PREDICTORS, "concurrency.ts")}, threads_per_process: 3 }
- name: parallel-cap
  kind: AsyncAPI
  predictor: { type: typescript, path: ${join(FIXTURE_PREDICTORS, "concurrency.ts")}, threads_per_process: 3 }
- name: slow
  kind: AsyncAPI
  predictor: { type: typescript, path: ${echo}, predict_timeout_s: 0.3 }
- name: ordered
  kind: AsyncAPI
  predictor: { type: typescript, path: ${echo} }
- name: tiny-queue
  kind: AsyncAPI
  predictor: { type: typescript, path: ${echo} }
  autoscaling: { max_replica_concurrency: 2 }
`,
    });
  });
  afterAll(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe("AsyncAPI", () => {
    it("answers 202 with an id, then shows the result, its finish time and no webhook", async () => {
      const before = Date.now();
      const response = await submit(t.url, "sum", { x: 2, y: "hello" }).expect(202).expect("content-type", /json/);
      expect(Object.keys(response.body)).toEqual(["id"]);
      const status = await finished(t.url, "sum", response.body.id);
      expect(status).toEqual({ id: response.body.id, status: "completed", result: 7, timestamp: expect.any(String) });
      const finishedAt = Date.parse(status.timestamp);
      expect(status.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(finishedAt).toBeGreaterThanOrEqual(before - 1);
      expect(finishedAt).toBeLessThanOrEqual(Date.now());
    });

    it("passes the payload, the task id as requestId, and the API's config to the predictor", async () => {
      const response = await submit(t.url, "echo", { n: [1, "two", null] }).expect(202);
      const status = await finished(t.url, "echo", response.body.id);
      expect(status.result).toEqual({ payload: { n: [1, "two", null] }, requestId: response.body.id, config: { greeting: "hi" }, calls: expect.any(Number) });
    });

    it("accepts any JSON value as the payload, not only objects", async () => {
      for (const payload of [42, "text", [1, 2], null, true]) {
        const response = await submit(t.url, "echo", payload).expect(202);
        expect((await finished(t.url, "echo", response.body.id)).result.payload).toEqual(payload);
      }
    });

    it("shows in_queue and in_progress while a task waits and runs", async () => {
      // parallel runs 3 at a time: the 4th of 4 long tasks must wait in the queue.
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) ids.push((await submit(t.url, "parallel", { delay_ms: 600 }).expect(202)).body.id);
      const seen = await waitUntil("one task in_progress and one in_queue", async () => {
        const statuses = await Promise.all(ids.map(async (id) => (await statusOf(t.url, "parallel", id)).status as string));
        return statuses.includes("in_progress") && statuses.includes("in_queue") ? statuses : undefined;
      });
      expect(seen.filter((s) => s === "in_progress")).toHaveLength(3);
      const inQueue = await statusOf(t.url, "parallel", ids[3]!);
      expect(inQueue).toEqual({ id: ids[3], status: "in_queue" });
      for (const id of ids) await finished(t.url, "parallel", id);
    });

    it("fails only the task whose predict() threw, with its message", async () => {
      const bad = await submit(t.url, "echo", { fail: "the model exploded" }).expect(202);
      const good = await submit(t.url, "echo", { ok: 1 }).expect(202);
      expect(await finished(t.url, "echo", bad.body.id)).toEqual({ id: bad.body.id, status: "failed", error: "the model exploded", timestamp: expect.any(String) });
      expect((await finished(t.url, "echo", good.body.id)).status).toBe("completed");
    });

    it("fails a task whose predict() outlives predict_timeout_s, and keeps serving", async () => {
      const response = await submit(t.url, "slow", { delay_ms: 5000 }).expect(202);
      const status = await finished(t.url, "slow", response.body.id);
      expect(status.status).toBe("failed");
      expect(status.error).toBe("predict() did not finish within predict_timeout_s (0.3 s)");
      await request(t.url).get("/healthz").expect(200);
    });

    it("runs at most threads_per_process predictions at once, and more than one", async () => {
      const ids = await Promise.all(Array.from({ length: 9 }, async () => (await submit(t.url, "parallel-cap", { delay_ms: 80 }).expect(202)).body.id as string));
      const results = await Promise.all(ids.map((id) => finished(t.url, "parallel-cap", id)));
      const max = Math.max(...results.map((r) => r.result.max_concurrent as number));
      expect(max).toBe(3);
    });

    it("runs tasks in the order they were submitted, even when a slot frees up while others wait", async () => {
      // threads_per_process 1: the first task holds the slot, the rest queue behind it; a task submitted while
      // they wait must not start ahead of them when the slot frees.
      const first = (await submit(t.url, "ordered", { delay_ms: 300 }).expect(202)).body.id as string;
      const queued: string[] = [];
      for (let n = 0; n < 5; n++) queued.push((await submit(t.url, "ordered", { n }).expect(202)).body.id as string);
      const calls = await Promise.all([first, ...queued].map(async (id) => (await finished(t.url, "ordered", id)).result.calls as number));
      expect(calls).toEqual([...calls].sort((a, b) => a - b));
      expect(new Set(calls).size).toBe(6);
    });

    it("never runs predict twice for a repeated x-request-id, answering 202 with the first task's id", async () => {
      const first = await submit(t.url, "counting", { n: 1 }).set("x-request-id", "client-key-1").expect(202);
      const again = await submit(t.url, "counting", { n: 2 }).set("x-request-id", "client-key-1").expect(202);
      expect(again.body).toEqual({ id: first.body.id });
      await finished(t.url, "counting", first.body.id);
      const afterFinish = await submit(t.url, "counting", { n: 3 }).set("x-request-id", "client-key-1").expect(202);
      expect(afterFinish.body).toEqual({ id: first.body.id });
      const other = await submit(t.url, "counting", { n: 4 }).set("x-request-id", "client-key-2").expect(202);
      await finished(t.url, "counting", other.body.id);
      const calls = readFileSync(counterFile, "utf8").trim().split("\n");
      expect(calls.filter((line) => line.startsWith(first.body.id))).toHaveLength(1);
      expect(calls).toHaveLength(2);
    });

    it("answers 503 above max_replica_concurrency and accepts again once tasks finish", async () => {
      const a = await submit(t.url, "tiny-queue", { delay_ms: 400 }).set("x-request-id", "full-queue-retry").expect(202);
      await submit(t.url, "tiny-queue", { delay_ms: 400 }).expect(202);
      const refused = await submit(t.url, "tiny-queue", {}).expect(503);
      expect(refused.body.error).toContain("already holds 2 tasks (autoscaling.max_replica_concurrency)");
      // A repeat of an accepted task is not new work: it gets its task even while the queue is full.
      expect((await submit(t.url, "tiny-queue", {}).set("x-request-id", "full-queue-retry").expect(202)).body).toEqual({ id: a.body.id });
      await finished(t.url, "tiny-queue", a.body.id);
      await waitUntil("a slot frees up", async () => (await submit(t.url, "tiny-queue", {})).status === 202);
    });
  });

  describe("RealtimeAPI", () => {
    it("answers 200 with the result as the JSON body", async () => {
      const response = await submit(t.url, "sum-now", { x: 2, y: "hello" }).expect(200).expect("content-type", /json/);
      expect(response.body).toBe(7);
      expect(response.text).toBe("7");
    });

    it("answers 500 with the error when predict() throws, and 504 when it times out", async () => {
      expect((await submit(t.url, "echo-now", { fail: "bad input shape" }).expect(500)).body).toEqual({ error: "bad input shape" });
      expect((await submit(t.url, "echo-now", { delay_ms: 3000 }).expect(504)).body.error).toContain("predict_timeout_s (0.3 s)");
    });

    it("has no tasks to look up", async () => {
      const response = await request(t.url).get("/sum-now/some-id").expect(404);
      expect(response.body.error).toContain('no task "some-id" of API "sum-now"');
    });
  });

  describe("bad requests get a JSON error that says what to do", () => {
    it("404 for an unknown API, naming the ones that exist", async () => {
      const response = await submit(t.url, "nope", {}).expect(404);
      expect(response.body.error).toBe('no API named "nope"; this runtime serves: echo, sum, sum-now, echo-now, counting, parallel, parallel-cap, slow, ordered, tiny-queue');
      await request(t.url).get("/nope/123").expect(404);
    });

    it("404 for an unknown task id", async () => {
      const response = await request(t.url).get("/sum/not-a-task").expect(404);
      expect(response.body).toEqual({ error: 'no task "not-a-task" of API "sum"; task results are kept for 7 days' });
    });

    it("404 for a task of another API", async () => {
      const response = await submit(t.url, "sum", { x: 1, y: "" }).expect(202);
      await request(t.url).get(`/echo/${response.body.id}`).expect(404);
    });

    it("415 for a body that is not JSON, with the curl fix", async () => {
      const form = await request(t.url).post("/sum").type("form").send("x=1").expect(415);
      expect(form.body.error).toContain("content-type: application/json (this request has content-type application/x-www-form-urlencoded)");
      expect(form.body.error).toContain("-H 'content-type: application/json'");
      await request(t.url).post("/sum").set("content-type", "text/plain").send('{"x":1}').expect(415);
      await request(t.url).post("/sum").set("content-type", "application/json; charset=latin1").send("{}").expect(415);
    });

    it("accepts application/*+json and a utf-8 charset", async () => {
      await request(t.url).post("/echo").set("content-type", "application/vnd.api+json").send("{}").expect(202);
      await request(t.url).post("/echo").set("content-type", "application/json; charset=UTF-8").send("{}").expect(202);
    });

    it("400 for malformed or empty JSON", async () => {
      const malformed = await request(t.url).post("/sum").set("content-type", "application/json").send('{"x": 2,').expect(400);
      expect(malformed.body.error).toMatch(/^the body is not valid JSON \(.+\); check quoting and commas$/);
      const empty = await request(t.url).post("/sum").set("content-type", "application/json").send("").expect(400);
      expect(empty.body.error).toContain("the request body is empty");
    });

    it("413 for a body over 10 MiB", async () => {
      const big = JSON.stringify({ blob: "x".repeat(10 * 1024 * 1024) });
      const response = await request(t.url).post("/echo").set("content-type", "application/json").send(big).expect(413);
      expect(response.body.error).toContain("above the limit of 10485760 bytes");
    });

    it("400 for an invalid callback_url or x-request-id", async () => {
      const notUrl = await submit(t.url, "sum", {}).query({ callback_url: "not a url" }).expect(400);
      expect(notUrl.body.error).toBe("callback_url is not an absolute URL; give one like https://example.com/hook");
      const ftp = await submit(t.url, "sum", {}).query({ callback_url: "ftp://example.com/x" }).expect(400);
      expect(ftp.body.error).toContain("only http and https");
      const twice = await request(t.url).post("/sum?callback_url=http://a.example/&callback_url=http://b.example/").set("content-type", "application/json").send("{}").expect(400);
      expect(twice.body.error).toContain("give the callback_url query parameter once");
      const key = await submit(t.url, "sum", {}).set("x-request-id", "has space").expect(400);
      expect(key.body.error).toContain("x-request-id must be 1 to 256 visible ASCII characters");
    });

    it("404 with a JSON body for routes that do not exist, 405 for methods no route answers", async () => {
      const response = await request(t.url).get("/sum/abc/extra").expect(404);
      expect(response.body.error).toContain("no route GET /sum/abc/extra");
      const put = await request(t.url).put("/sum/abc").expect(405).expect("allow", "GET, HEAD, POST, DELETE");
      expect(put.body.error).toContain("method PUT is not allowed");
    });

    it("never answers with a stack trace", async () => {
      const responses = await Promise.all([
        request(t.url).post("/sum").set("content-type", "application/json").send("{bad"),
        request(t.url).post("/v1/async-tasks").set("content-type", "application/json").send("[]"),
        request(t.url).get("/%E0%A4%A"),
      ]);
      for (const response of responses) {
        expect(response.status).toBeGreaterThanOrEqual(400);
        expect(response.status).toBeLessThan(500);
        expect(response.text).not.toMatch(/\n\s+at /);
        expect(response.body.error).toEqual(expect.any(String));
      }
    });
  });

  describe("operations", () => {
    it("/healthz and /readyz answer 200 once every setup() finished", async () => {
      expect((await request(t.url).get("/healthz").expect(200)).body).toEqual({ status: "ok" });
      // A worker replaced by an earlier test (a timeout) may still be running its setup().
      await waitUntil("every worker is ready", async () => (await request(t.url).get("/readyz")).status === 200);
      expect((await request(t.url).get("/readyz").expect(200)).body).toEqual({ ready: true });
    });
  });
});
