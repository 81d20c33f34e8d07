/**
 * `--engine redis` with real processes on one real redis-server: several `serve` processes share tasks and
 * reports; a worker killed with -9 mid-predict and mid-delivery loses nothing; a Redis restart mid-load (AOF on)
 * is survived without a restart of any process. Every accepted task gets its terminal report.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Pool } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCountingReceiver } from "../helpers/counting-receiver.js";
import { FIXTURE_PREDICTORS } from "../helpers/runtime-fixture.js";
import { startRuntimeProcess, type RuntimeProcess } from "../helpers/runtime-process.js";
import { redisSuiteCanRun, startRedisServer, type RedisServer } from "../helpers/redis-server.js";
import { waitUntil } from "../helpers/wait-until.js";

const available = redisSuiteCanRun("the multi-process Redis tests");

async function submit(pool: Pool, payload: unknown, requestId?: string): Promise<{ status: number; id?: string; retryAfter?: string }> {
  try {
    const response = await pool.request({
      path: "/shared",
      method: "POST",
      headers: { "content-type": "application/json", ...(requestId === undefined ? {} : { "x-request-id": requestId }) },
      body: JSON.stringify(payload),
    });
    const body = (await response.body.json()) as { id?: string };
    const retryAfter = response.headers["retry-after"];
    return { status: response.statusCode, ...(body.id ? { id: body.id } : {}), ...(typeof retryAfter === "string" ? { retryAfter } : {}) };
  } catch {
    return { status: 0 };
  }
}

async function statusOn(pool: Pool, id: string): Promise<{ status?: string; result?: { payload?: unknown } }> {
  const response = await pool.request({ path: `/shared/${id}`, method: "GET" });
  return (await response.body.json()) as { status?: string };
}

describe.skipIf(!available)("--engine redis: several serve processes on one redis-server", () => {
  const dir = mkdtempSync(join(tmpdir(), "redis-processes-"));
  let redis: RedisServer;
  const processes: RuntimeProcess[] = [];
  const servers: Server[] = [];
  let logCount = 0;

  beforeAll(async () => {
    // The restart below kills redis-server with SIGKILL and checks that nothing acknowledged is lost: the setting
    // that promises that is appendfsync always. With everysec, Redis may postpone its AOF writes for up to 2 s
    // while an fsync is slow (a busy CI disk), and a kill then drops writes it already acknowledged: the likely cause
    // of 2 of 250 tasks missing once in CI under everysec (not proven; the failure message now says whether a
    // missing task is unknown to the runtime, which would be a lost write, or stuck).
    redis = await startRedisServer({ appendfsync: "always" });
  });
  afterAll(async () => {
    await Promise.all(processes.map((child) => child.kill("SIGKILL")));
    for (const server of servers) {
      server.closeAllConnections();
      server.close();
    }
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function writeConfig(receiverUrl: string): string {
    const config = join(dir, `cortex-${logCount}.yaml`);
    writeFileSync(
      config,
      `- name: shared
  kind: AsyncAPI
  predictor:
    type: typescript
    path: ${join(FIXTURE_PREDICTORS, "echo.ts")}
    threads_per_process: 8
  webhook:
    post_inference_hooks: [callback]
    default_callback_url: ${receiverUrl}
    retry_schedule_s: [0, 0.2, 0.5, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
    timeout_s: 5
    allow_networks: [127.0.0.0/8]
  autoscaling:
    max_replica_concurrency: 100000
`,
    );
    return config;
  }

  async function serve(config: string, role: "all" | "api" | "worker"): Promise<RuntimeProcess> {
    const child = await startRuntimeProcess({
      config,
      dataDir: join(dir, "unused-data"),
      logFile: join(dir, `serve-${logCount++}.log`),
      extraArgs: ["--engine", "redis", "--redis-url", `${redis.url}/0`, "--role", role],
    });
    processes.push(child);
    return child;
  }

  it("a task submitted to one process is predicted by another and polled on a third; x-request-id is idempotent across them", { timeout: 60_000 }, async () => {
    const receiver = await startCountingReceiver();
    servers.push(receiver.server);
    const config = writeConfig(receiver.url);
    const api = await serve(config, "api");
    const worker = await serve(config, "worker");
    const both = await serve(config, "all");
    const apiPool = new Pool(api.url, { connections: 8 });
    const bothPool = new Pool(both.url, { connections: 8 });
    try {
      const ids = await Promise.all(Array.from({ length: 40 }, async (_, n) => (await submit(apiPool, { n })).id!));
      expect(ids.every((id) => typeof id === "string")).toBe(true);
      await waitUntil("every task's report arrived", () => ids.every((id) => receiver.reports.has(id)), 30_000);
      for (const [n, id] of ids.entries()) {
        const status = await statusOn(bothPool, id);
        expect(status).toMatchObject({ status: "completed", result: { payload: { n } } });
        expect(receiver.reports.get(id)).toEqual({ count: 1, status: "completed" });
      }
      // The worker role serves no API, only the operations routes.
      const workerPool = new Pool(worker.url);
      expect((await workerPool.request({ path: "/shared", method: "POST", body: "{}", headers: { "content-type": "application/json" } })).statusCode).toBe(404);
      expect((await workerPool.request({ path: "/healthz", method: "GET" })).statusCode).toBe(200);
      await workerPool.close();

      const first = await submit(apiPool, { once: true }, "same-request");
      const again = await submit(bothPool, { once: "again" }, "same-request");
      expect(first.status).toBe(202);
      expect(again).toMatchObject({ status: 202, id: first.id });
    } finally {
      await apiPool.close();
      await bothPool.close();
      for (const child of [api, worker, both]) await child.kill("SIGTERM");
    }
  });

  it("kill -9 of a worker mid-predict and mid-delivery under load: every accepted task gets its terminal report", { timeout: 90_000 }, async () => {
    const receiver = await startCountingReceiver({ delayMs: 30 });
    servers.push(receiver.server);
    const config = writeConfig(receiver.url);
    const api = await serve(config, "api");
    const apiLog = join(dir, `serve-${logCount - 1}.log`);
    const doomedLog = join(dir, `serve-${logCount}.log`);
    const doomed = await serve(config, "worker");
    const survivorLog = join(dir, `serve-${logCount}.log`);
    const survivor = await serve(config, "worker");
    const pool = new Pool(api.url, { connections: 16 });
    try {
      const accepted = new Set<string>();
      let next = 0;
      const submitLoop = async (): Promise<void> => {
        while (next < 600) {
          // Slow enough that each worker always holds threads_per_process tasks: the kill finds work in flight.
          const { id } = await submit(pool, { n: next++, delay_ms: 200 });
          if (id !== undefined) accepted.add(id);
        }
      };
      const load = Promise.all(Array.from({ length: 16 }, submitLoop));
      await waitUntil("the doomed worker delivered reports", () => readFileSync(doomedLog, "utf8").includes('"webhook attempt"'), 30_000);
      await waitUntil("some reports arrived", () => receiver.reports.size >= 100, 30_000);
      await doomed.kill("SIGKILL");
      await load;
      expect(accepted.size).toBe(600);
      await waitUntil("every accepted task was reported", () => [...accepted].every((id) => receiver.reports.has(id)), 60_000).catch(() => undefined);
      const missing = [...accepted].filter((id) => !receiver.reports.has(id));
      expect(missing, `${missing.length} of ${accepted.size} accepted tasks never got a report`).toEqual([]);
      expect([...accepted].every((id) => receiver.reports.get(id)!.status === "completed")).toBe(true);
      // The kill caught work in flight, and a surviving process (any of them watches the others) took it over.
      const survivorLines = [apiLog, survivorLog].flatMap((file) => readFileSync(file, "utf8").split("\n"));
      const takeOver = survivorLines.find((line) => line.includes("took over the work of a stopped process"));
      expect(takeOver, "no surviving process logged a take-over").toBeDefined();
      const { jobId } = JSON.parse(takeOver!) as { jobId: string };
      expect(jobId).toMatch(/\S/);
    } finally {
      await pool.close();
      for (const child of [api, survivor]) await child.kill("SIGTERM");
    }
  });

  it("a Redis restart mid-load: submits answer 503 with Retry-After meanwhile, the processes reconnect by themselves, nothing accepted is lost", { timeout: 90_000 }, async () => {
    const receiver = await startCountingReceiver();
    servers.push(receiver.server);
    const config = writeConfig(receiver.url);
    const api = await serve(config, "api");
    const worker = await serve(config, "worker");
    const pool = new Pool(api.url, { connections: 8 });
    try {
      const accepted = new Set<string>();
      const refused: { status: number; retryAfter?: string }[] = [];
      let restarted = false;
      let afterRestart = 0;
      const submitLoop = async (): Promise<void> => {
        // Submit until well after the restart: accepted tasks before, during and after it.
        while (afterRestart < 100) {
          const answer = await submit(pool, { delay_ms: 5 });
          if (answer.id !== undefined) {
            accepted.add(answer.id);
            if (restarted) afterRestart++;
          } else refused.push(answer);
          if (!restarted && accepted.size === 150) {
            restarted = true;
            await redis.restart();
          }
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
      };
      await Promise.all(Array.from({ length: 4 }, submitLoop));
      // Refusals, if the outage was seen at all, were 503s with Retry-After, never hangs or 500s.
      expect(refused.every((answer) => answer.status === 503 && answer.retryAfter === "1"), JSON.stringify(refused.slice(0, 3))).toBe(true);
      console.info(`redis restart: ${accepted.size} accepted, ${refused.length} refused with 503 during the outage`);
      await waitUntil("every accepted task was reported", () => [...accepted].every((id) => receiver.reports.has(id)), 60_000).catch(() => undefined);
      const missing = [...accepted].filter((id) => !receiver.reports.has(id));
      // What the runtime says of each missing one tells a lost write (unknown: Redis dropped it) from a stuck task.
      const states = await Promise.all(missing.slice(0, 5).map(async (id) => `${id}: ${JSON.stringify(await statusOn(pool, id).catch((error: unknown) => String(error)))}`));
      expect(missing, `${missing.length} of ${accepted.size} accepted tasks never got a report; ${states.join("; ")}`).toEqual([]);
    } finally {
      await pool.close();
      for (const child of [api, worker]) await child.kill("SIGTERM");
    }
  });
});
