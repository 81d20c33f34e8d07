/**
 * kill -9 mid-flight, restart on the same data dir: every accepted task gets its terminal report (duplicates
 * allowed, losses not), and a task submitted twice with one x-request-id (once before the kill, once after) runs
 * predict() once. The runtime runs as a child process, exactly as `serve` runs for a user.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Pool } from "undici";
import { afterAll, describe, expect, it } from "vitest";
import { startCountingReceiver } from "../helpers/counting-receiver.js";
import { FIXTURE_PREDICTORS } from "../helpers/runtime-fixture.js";
import { startRuntimeProcess, type RuntimeProcess } from "../helpers/runtime-process.js";
import { waitUntil } from "../helpers/wait-until.js";

/** Tasks submitted in all; the process is killed once KILL_AFTER of them were accepted, with submits in flight. */
const TASKS = 3000;
const KILL_AFTER = 2000;
/** Submits in flight at once. */
const IN_FLIGHT = 32;
const DUPLICATE_KEY = "crash-test-same-request";
/** First attempt at once, then quick retries for far longer than the receiver stays down in this test (~40 s). */
const RETRY_SCHEDULE_S = [0, 0.2, 0.5, ...Array.from({ length: 40 }, () => 1)];

/** A port nothing listens on yet: callbacks to it are refused until the receiver starts there. */
async function reservePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** POSTs one task; resolves to its id when accepted (202), undefined otherwise (refused, or the process died). */
async function submit(pool: Pool, payload: unknown, requestId?: string): Promise<string | undefined> {
  try {
    const response = await pool.request({
      path: "/crash",
      method: "POST",
      headers: { "content-type": "application/json", ...(requestId === undefined ? {} : { "x-request-id": requestId }) },
      body: JSON.stringify(payload),
    });
    const body = (await response.body.json()) as { id?: string };
    return response.statusCode === 202 ? body.id : undefined;
  } catch {
    return undefined;
  }
}

describe("crash: kill -9 mid-flight, then restart on the same data dir", () => {
  const dir = mkdtempSync(join(tmpdir(), "crash-test-"));
  const processes: RuntimeProcess[] = [];
  const servers: Server[] = [];
  afterAll(async () => {
    for (const child of processes) await child.kill("SIGKILL");
    for (const server of servers) {
      server.closeAllConnections();
      server.close();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it("delivers a terminal report for every accepted task and runs a repeated x-request-id once", { timeout: 90_000 }, async () => {
    const receiverPort = await reservePort();
    const callsFile = join(dir, "predict-calls.txt");
    writeFileSync(callsFile, "");
    const config = join(dir, "cortex.yaml");
    writeFileSync(
      config,
      `- name: crash
  kind: AsyncAPI
  predictor:
    type: typescript
    path: ${join(FIXTURE_PREDICTORS, "call-log.ts")}
    threads_per_process: 4
    config: { calls_file: ${JSON.stringify(callsFile)}, delay_ms: 1 }
  webhook:
    post_inference_hooks: [callback]
    default_callback_url: http://127.0.0.1:${receiverPort}/hook
    retry_schedule_s: [${RETRY_SCHEDULE_S.join(", ")}]
    timeout_s: 2
    allow_networks: [127.0.0.0/8]
  autoscaling:
    max_replica_concurrency: 10000
`,
    );
    const dataDir = join(dir, "data");
    const first = await startRuntimeProcess({ config, dataDir, logFile: join(dir, "first.log") });
    processes.push(first);
    const firstPool = new Pool(first.url, { connections: IN_FLIGHT });

    // The repeated request runs to completion before the kill, so the only way it could run again is a broken
    // idempotency check after the restart (a task killed mid-predict may rightly run twice).
    const duplicateId = await submit(firstPool, { duplicate: true }, DUPLICATE_KEY);
    expect(duplicateId).toBeDefined();
    await waitUntil("the repeated request's task completed", async () => {
      const response = await firstPool.request({ path: `/crash/${duplicateId}`, method: "GET" });
      return ((await response.body.json()) as { status: string }).status === "completed";
    });

    // Submit with the receiver down, and kill -9 while submits, predictions and delivery retries are in flight.
    const accepted = new Set<string>([duplicateId!]);
    let next = 0;
    let killed: Promise<void> | undefined;
    const submitLoop = async (): Promise<void> => {
      while (next < TASKS && killed === undefined) {
        const id = await submit(firstPool, { n: next++ });
        if (id !== undefined) accepted.add(id);
        if (accepted.size >= KILL_AFTER) killed ??= first.kill("SIGKILL");
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, submitLoop));
    await killed;
    await firstPool.destroy();
    expect(first.child.signalCode).toBe("SIGKILL");
    expect(accepted.size).toBeGreaterThanOrEqual(KILL_AFTER);

    // Restart on the same data dir: the reports are still owed (the receiver never answered).
    const second = await startRuntimeProcess({ config, dataDir, logFile: join(dir, "second.log") });
    processes.push(second);
    const recovered = await waitUntil("the restarted runtime logged what it recovered", () => {
      const line = readFileSync(join(dir, "second.log"), "utf8").split("\n").find((text) => text.includes('"task store opened"'));
      return line === undefined ? undefined : (JSON.parse(line) as { requeued: number; queued: number; pendingDeliveries: number });
    });
    expect(recovered.pendingDeliveries).toBeGreaterThan(0);
    const secondPool = new Pool(second.url, { connections: 4 });
    expect(await submit(secondPool, { duplicate: "again" }, DUPLICATE_KEY)).toBe(duplicateId);

    // Bring the receiver up: every accepted task's report arrives, through retries or first attempts.
    const receiver = await startCountingReceiver({ port: receiverPort });
    servers.push(receiver.server);
    await waitUntil(
      "every accepted task was reported",
      () => [...accepted].every((id) => receiver.reports.has(id)),
      45_000,
    ).catch(() => undefined); // The assertion below names what is missing.
    const missing = [...accepted].filter((id) => !receiver.reports.has(id));
    expect(missing, `${missing.length} of ${accepted.size} accepted tasks never got a report`).toEqual([]);
    expect([...accepted].every((id) => receiver.reports.get(id)!.status === "completed")).toBe(true);

    const calls = readFileSync(callsFile, "utf8").split("\n").filter(Boolean);
    expect(calls.filter((id) => id === duplicateId)).toHaveLength(1);
    // Every accepted task ran at least once; tasks killed mid-predict may have run twice (at least once).
    const ran = new Set(calls);
    expect([...accepted].every((id) => ran.has(id))).toBe(true);

    await secondPool.close();
    await second.kill("SIGTERM");
    expect(second.child.exitCode).toBe(0);
  });
});
