/**
 * Cancel with a shared engine: a task running in a worker process is cancelled through another process's HTTP
 * (DELETE /NAME/ID on an --role api runtime), and the worker's predict() sees its signal abort.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BullmqEngine } from "../../runtime/engine/bullmq-engine.js";
import { startRecorder, type Recorder } from "../helpers/recorder.js";
import { redisSuiteCanRun, startRedisServer, type RedisServer } from "../helpers/redis-server.js";
import { FIXTURE_PREDICTORS, startTestRuntime, type TestRuntime } from "../helpers/runtime-fixture.js";
import { waitUntil } from "../helpers/wait-until.js";

const available = redisSuiteCanRun("the cross-process cancel test");

describe.skipIf(!available)("cancel across processes (--engine redis)", () => {
  const dir = mkdtempSync(join(tmpdir(), "cancel-redis-"));
  const predictLog = join(dir, "predict.log");
  let redis: RedisServer;
  let receiver: Recorder;
  let api: TestRuntime;
  let worker: TestRuntime;

  beforeAll(async () => {
    writeFileSync(predictLog, "");
    redis = await startRedisServer();
    receiver = await startRecorder();
    const yaml = `
- name: slow
  kind: AsyncAPI
  predictor: { type: typescript, path: ${join(FIXTURE_PREDICTORS, "abortable.ts")}, config: { log_file: ${predictLog} } }
  webhook:
    post_inference_hooks: [callback]
    default_callback_url: ${receiver.url}/hook
    allow_networks: [127.0.0.0/8]
`;
    api = await startTestRuntime({ yaml, role: "api", engine: (context) => new BullmqEngine({ ...context, url: redis.url }) });
    worker = await startTestRuntime({ yaml, role: "worker", engine: (context) => new BullmqEngine({ ...context, url: redis.url }) });
  });
  afterAll(async () => {
    await api?.close();
    await worker?.close();
    await receiver?.close();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("DELETE on the API process aborts predict() in the worker process; the cancelled report is sent once", async () => {
    const submitted = await fetch(`${api.url}/slow`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"wait_ms": 30000}' });
    const { id } = (await submitted.json()) as { id: string };
    await waitUntil("the worker runs it", () => readFileSync(predictLog, "utf8").includes(`started ${id}`));
    const cancelled = await fetch(`${api.url}/slow/${id}`, { method: "DELETE" });
    expect(await cancelled.json()).toEqual({ id, status: "cancelled" });
    await waitUntil("the worker's predict() saw the abort", () => new RegExp(`aborted ${id}: [^\\n]*cancelled`).test(readFileSync(predictLog, "utf8")), 10_000);
    const [report] = await receiver.waitFor(1);
    expect(report!.json).toMatchObject({ id, status: "cancelled" });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(receiver.requests.filter((r) => (r.json as { id?: string }).id === id)).toHaveLength(1);
  });
});
