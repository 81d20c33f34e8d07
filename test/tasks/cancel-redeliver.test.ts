import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRecorder, type Recorder } from "../helpers/recorder.js";
import { FIXTURE_PREDICTORS, startTestRuntime, type TestRuntime } from "../helpers/runtime-fixture.js";
import { spawnCli } from "../helpers/spawn-runtime.js";
import { waitUntil } from "../helpers/wait-until.js";

const abortable = join(FIXTURE_PREDICTORS, "abortable.ts");
const echo = join(FIXTURE_PREDICTORS, "echo.ts");

describe("cancel (DELETE /NAME/ID) and redelivery (POST /NAME/ID/redeliver, POST /NAME/redeliver-failed, CLI)", () => {
  let receiver: Recorder;
  /** What the receiver answers now, per path; a test "fixes" the receiver by changing it. */
  const answers = new Map<string, number>();
  let t: TestRuntime;
  let predictLog: string;

  beforeAll(async () => {
    receiver = await startRecorder((request, _index, res) => {
      const status = answers.get(request.path) ?? 200;
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ status }));
    });
    const hooks = (path: string, extra = ""): string => `
  webhook:
    post_inference_hooks: [callback]
    default_callback_url: ${receiver.url}${path}
    retry_schedule_s: [0, 0.05]
    allow_networks: [127.0.0.0/8]${extra}`;
    const dir = mkdtempSync(join(tmpdir(), "cancel-redeliver-"));
    predictLog = join(dir, "predict.log");
    writeFileSync(predictLog, "");
    t = await startTestRuntime({
      dir,
      yaml: `
- name: slow
  kind: AsyncAPI
  predictor: { type: typescript, path: ${abortable}, threads_per_process: 1, config: { log_file: ${predictLog} } }${hooks("/slow")}
- name: launchy
  kind: AsyncAPI
  predictor: { type: typescript, path: ${abortable}, threads_per_process: 1, config: { log_file: ${predictLog} } }${hooks("/launchy")}
- name: broken-receiver
  kind: AsyncAPI
  predictor: { type: typescript, path: ${echo} }${hooks("/broken")}
- name: patient
  kind: AsyncAPI
  predictor: { type: typescript, path: ${echo} }${hooks("/patient").replace("[0, 0.05]", "[0, 3600]")}
- name: silent
  kind: AsyncAPI
  predictor: { type: typescript, path: ${echo} }
`,
    });
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
    if (t) rmSync(t.dir, { recursive: true, force: true });
  });

  const logText = (): string => readFileSync(predictLog, "utf8");

  async function submit(api: string, payload: unknown): Promise<string> {
    const answer = await request(t.url).post(`/${api}`).set("content-type", "application/json").send(JSON.stringify(payload)).expect(202);
    return (answer.body as { id: string }).id;
  }

  async function status(api: string, id: string): Promise<Record<string, any>> {
    return (await request(t.url).get(`/${api}/${id}`).expect(200)).body as Record<string, any>;
  }

  function reportsFor(id: string) {
    return receiver.requests.filter((r) => (r.json as any)?.id === id || (r.json as any)?.task_id === id);
  }

  it("cancels a running task: predict() sees its signal abort, the task ends cancelled, the report says so", async () => {
    const id = await submit("slow", { wait_ms: 30_000 });
    await waitUntil("the task runs", async () => (await status("slow", id)).status === "in_progress" && logText().includes(`started ${id}`));
    const cancelled = await request(t.url).delete(`/slow/${id}`).expect(200);
    expect(cancelled.body).toEqual({ id, status: "cancelled" });
    await waitUntil("predict() saw the abort", () => new RegExp(`aborted ${id}: [^\\n]*cancelled`).test(logText()));
    const report = await waitUntil("the cancelled report arrived", () => reportsFor(id)[0]);
    expect(Object.keys(report.json as object)).toEqual(["id", "status", "timestamp"]);
    expect(report.json).toMatchObject({ id, status: "cancelled" });
    const after = await waitUntil("the webhook was delivered", async () => {
      const body = await status("slow", id);
      return body.webhook?.status === "delivered" && body;
    });
    expect(after).toMatchObject({ id, status: "cancelled", timestamp: (report.json as any).timestamp });
    expect(after).not.toHaveProperty("result");
    // The slot is free again: the next task runs and completes.
    const next = await submit("slow", { wait_ms: 1 });
    await waitUntil("the next task completed", async () => (await status("slow", next)).status === "completed");
    expect(reportsFor(id)).toHaveLength(1);
  });

  it("cancels a queued task: it never runs; the one ahead of it is unaffected", async () => {
    const running = await submit("slow", { wait_ms: 30_000 });
    const queued = await submit("slow", { wait_ms: 1 });
    await waitUntil("the first runs", () => logText().includes(`started ${running}`));
    expect((await status("slow", queued)).status).toBe("in_queue");
    await request(t.url).delete(`/slow/${queued}`).expect(200, { id: queued, status: "cancelled" });
    expect((await status("slow", queued)).status).toBe("cancelled");
    await request(t.url).delete(`/slow/${running}`).expect(200);
    await waitUntil("both reports arrived", () => reportsFor(queued).length === 1 && reportsFor(running).length === 1);
    // Let the worker take what it would: the cancelled task must not start.
    const after = await submit("slow", { wait_ms: 1 });
    await waitUntil("a later task completed", async () => (await status("slow", after)).status === "completed");
    expect(logText()).not.toContain(`started ${queued}`);
    expect((reportsFor(queued)[0]!.json as any).status).toBe("cancelled");
  });

  it("a finished task answers 409 with its status; an unknown one 404; an unknown API 404", async () => {
    const id = await submit("slow", { wait_ms: 1 });
    await waitUntil("it completed", async () => (await status("slow", id)).status === "completed");
    const conflict = await request(t.url).delete(`/slow/${id}`).expect(409);
    expect(conflict.body).toMatchObject({ id, status: "completed" });
    expect(conflict.body.error).toMatch(/already finished \(completed\)/);
    const again = await request(t.url).delete(`/slow/${(await submitAndCancel())}`).expect(409);
    expect(again.body.status).toBe("cancelled");
    await request(t.url).delete("/slow/no-such-task").expect(404);
    await request(t.url).delete("/nope/x").expect(404);
  });

  async function submitAndCancel(): Promise<string> {
    const id = await submit("slow", { wait_ms: 30_000 });
    await request(t.url).delete(`/slow/${id}`).expect(200);
    return id;
  }

  it("a task submitted through Launch reads FAILURE with traceback cancelled, and its report says so too", async () => {
    const answer = await request(t.url)
      .post("/v1/async-tasks")
      .query({ model_endpoint_name: "launchy" })
      .send({ args: { wait_ms: 30_000 } })
      .expect(200);
    const id = (answer.body as { task_id: string }).task_id;
    await request(t.url).delete(`/launchy/${id}`).expect(200);
    const launch = (await request(t.url).get(`/v1/async-tasks/${id}`).expect(200)).body as Record<string, unknown>;
    expect(launch).toMatchObject({ task_id: id, status: "FAILURE", traceback: "cancelled" });
    const report = await waitUntil("the Launch report arrived", () => reportsFor(id)[0]);
    expect(report.json).toMatchObject({ task_id: id, status: "FAILURE", result: null, traceback: "cancelled" });
  });

  it("redelivers a failed report after the receiver was fixed: same body and webhook-id, a fresh schedule", async () => {
    answers.set("/broken", 410); // Gone: final at once.
    const id = await submit("broken-receiver", { n: 1 });
    const failed = await waitUntil("the webhook failed", async () => {
      const body = await status("broken-receiver", id);
      return body.webhook?.status === "failed" && body;
    });
    expect(failed.webhook).toMatchObject({ attempts: 1, last_status_code: 410 });
    answers.set("/broken", 200);
    const redelivered = await request(t.url).post(`/broken-receiver/${id}/redeliver`).expect(202);
    expect(redelivered.body).toEqual({ id, status: "completed", webhook: { status: "pending", attempts: 0 } });
    const delivered = await waitUntil("the webhook was delivered", async () => {
      const body = await status("broken-receiver", id);
      return body.webhook?.status === "delivered" && body;
    });
    expect(delivered.webhook).toEqual({ status: "delivered", attempts: 1, last_status_code: 200 });
    const [first, second] = reportsFor(id);
    expect(second!.body).toBe(first!.body);
    expect(second!.headers["webhook-id"]).toBe(first!.headers["webhook-id"]);
    // Redelivering a delivered report is allowed too (a receiver that lost it).
    await request(t.url).post(`/broken-receiver/${id}/redeliver`).expect(202);
    await waitUntil("a third copy arrived", () => reportsFor(id).length === 3);
  });

  it("a report sent with per-request credentials cannot be redelivered once they were erased: 409 says why, without the password", async () => {
    answers.set("/broken", 410);
    const submitted = await request(t.url)
      .post("/v1/async-tasks?model_endpoint_name=broken-receiver")
      .send({ args: { n: 4 }, callback_url: `${receiver.url}/broken`, callback_auth: { kind: "basic", username: "hook", password: "per-request-pw" } })
      .expect(200);
    const id = (submitted.body as { task_id: string }).task_id;
    await waitUntil("the webhook failed", async () => (await status("broken-receiver", id)).webhook?.status === "failed");
    answers.set("/broken", 200);
    const refused = await request(t.url).post(`/broken-receiver/${id}/redeliver`).expect(409);
    expect(refused.body.error).toMatch(/per-request credentials .* erased/);
    expect(JSON.stringify(refused.body)).not.toContain("per-request-pw");
  });

  it("409 while a delivery is pending, for an unfinished task and for a task without a report; 404 for an unknown one", async () => {
    answers.set("/patient", 503);
    const pending = await submit("patient", { n: 2 });
    await waitUntil("the first attempt failed and a retry is scheduled", async () => (await status("patient", pending)).webhook?.attempts === 1);
    const busy = await request(t.url).post(`/patient/${pending}/redeliver`).expect(409);
    expect(busy.body.error).toMatch(/still pending/);

    const running = await submit("slow", { wait_ms: 30_000 });
    const unfinished = await request(t.url).post(`/slow/${running}/redeliver`).expect(409);
    expect(unfinished.body.error).toMatch(/has not finished/);
    await request(t.url).delete(`/slow/${running}`).expect(200);

    const quiet = await submit("silent", { n: 3 });
    await waitUntil("it completed", async () => (await status("silent", quiet)).status === "completed");
    const none = await request(t.url).post(`/silent/${quiet}/redeliver`).expect(409);
    expect(none.body.error).toMatch(/has no report to redeliver/);

    await request(t.url).post("/patient/no-such-task/redeliver").expect(404);
  });

  it("POST /NAME/redeliver-failed and `predictor-runtime redeliver --api NAME --since 1h` redeliver every failed report, in pages, with progress", async () => {
    answers.set("/broken", 410);
    const ids = [await submit("broken-receiver", { n: 10 }), await submit("broken-receiver", { n: 11 }), await submit("broken-receiver", { n: 12 })];
    for (const id of ids) await waitUntil(`task ${id}'s webhook failed`, async () => (await status("broken-receiver", id)).webhook?.status === "failed");

    const bad = await request(t.url).post("/broken-receiver/redeliver-failed").query({ since: "yesterday" }).expect(400);
    expect(bad.body.error).toMatch(/duration such as 90s/);
    await request(t.url).post("/broken-receiver/redeliver-failed").expect(400);

    answers.set("/broken", 200);
    const cli = spawnCli(["redeliver", "--api", "broken-receiver", "--since", "1h", "--url", t.url, "--page-size", "2"]);
    expect((await cli.exited).code).toBe(0);
    expect(cli.stdout().trim().split("\n").sort()).toEqual([...ids].sort());
    expect(cli.stderr()).toContain("2 redelivered so far");
    expect(cli.stderr()).toContain("3 redelivered so far");
    for (const id of ids) await waitUntil(`task ${id}'s webhook delivered`, async () => (await status("broken-receiver", id)).webhook?.status === "delivered");

    // Nothing failed is left: a second run redelivers nothing.
    const empty = await request(t.url).post("/broken-receiver/redeliver-failed").query({ since: "1h" }).expect(200);
    expect(empty.body).toMatchObject({ redelivered: 0, task_ids: [], more: false });

    const unknown = spawnCli(["redeliver", "--api", "nope", "--since", "1h", "--url", t.url]);
    expect((await unknown.exited).code).toBe(2);
    expect(unknown.stderr()).toContain('no API named "nope"');
  });
});
