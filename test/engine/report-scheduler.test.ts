import { mkdtempSync, rmSync } from "node:fs";
import type { ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import type { ApiConfig } from "../../runtime/config/api-config.js";
import { SqliteTaskStore } from "../../runtime/store/sqlite-task-store.js";
import type { TaskStore } from "../../runtime/store/task-store.js";
import type { DeliveryUpdate } from "../../runtime/tasks/delivery.js";
import { InThreadSender } from "../../runtime/webhook/attempt-sender.js";
import { ReportScheduler } from "../../runtime/engine/report-scheduler.js";
import { reportAttempter, reportLeaseMs } from "../../runtime/webhook/report-attempt.js";
import { startRecorder, type Recorder } from "../helpers/recorder.js";
import { waitUntil } from "../helpers/wait-until.js";

// The dispatcher's bound on concurrent exchanges, against a real store file, real sockets and a receiver that holds
// its answers until the test lets them go.

const api: ApiConfig = {
  name: "sum",
  kind: "AsyncAPI",
  predictor: { type: "typescript", path: "sum.ts", config: {}, processesPerReplica: 1, threadsPerProcess: 1, inProcess: false, pythonExecutable: "python3" },
  webhook: { callbackEnabled: true, timeoutMs: 10_000, ignoreTimeout: false, retryScheduleMs: [0, 60_000], allowNetworks: ["127.0.0.0/8"] },
  maxReplicaConcurrency: 100,
};

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A receiver that holds every answer until `release()`, counting the requests waiting at once. */
async function holdingReceiver(): Promise<{ recorder: Recorder; waiting: () => number; mostWaiting: () => number; release: () => void }> {
  const held: ServerResponse[] = [];
  let mostWaiting = 0;
  let releasing = false;
  const recorder = await startRecorder((_request, _index, res) => {
    if (releasing) {
      res.writeHead(200).end();
      return;
    }
    held.push(res);
    mostWaiting = Math.max(mostWaiting, held.length);
  });
  cleanups.push(() => recorder.close());
  return {
    recorder,
    waiting: () => held.length,
    mostWaiting: () => mostWaiting,
    release: () => {
      releasing = true;
      for (const res of held.splice(0)) res.writeHead(200).end();
    },
  };
}

async function storeWithReports(url: string, count: number): Promise<SqliteTaskStore> {
  const dir = mkdtempSync(join(tmpdir(), "scheduler-"));
  const store = new SqliteTaskStore({ dataDir: dir, thread: "main" });
  await store.open();
  cleanups.push(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const now = Date.now();
  for (let index = 0; index < count; index++) {
    const id = `task-${index}`;
    await store.createTask({ id, api: "sum", format: "cortex", payloadJson: "{}", createdAt: now, startedAt: now });
    const body = `{"id":"${id}","status":"completed","result":${index}}`;
    await store.finishTask(id, { status: "completed", resultJson: String(index), finishedAt: now }, { status: "pending", url, body, webhookId: `msg_${id}`, nextAttemptAt: now });
  }
  return store;
}

function dispatcher(store: TaskStore, maxInFlight: number): ReportScheduler {
  const sender = new InThreadSender([api]);
  const log = pino({ level: "silent" });
  const made = new ReportScheduler({
    store,
    attempt: reportAttempter({ apis: new Map([["sum", api]]), sender, log }),
    leaseMs: reportLeaseMs([api]),
    log,
    maxInFlight,
  });
  cleanups.push(async () => {
    await made.stop(0);
    await sender.close();
  });
  return made;
}

describe("ReportScheduler concurrency", () => {
  it("never has more than maxInFlight exchanges running, and sends every due report", async () => {
    const receiver = await holdingReceiver();
    const store = await storeWithReports(`${receiver.recorder.url}/hook`, 12);
    dispatcher(store, 3).start();
    await waitUntil("three requests wait at the receiver", () => receiver.waiting() === 3);
    // Given time, no fourth request arrives while three are unanswered.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(receiver.waiting()).toBe(3);
    receiver.release();
    await waitUntil("every report was delivered", async () => (await store.getTask("task-11"))?.webhook?.status === "delivered");
    for (let index = 0; index < 12; index++) expect((await store.getTask(`task-${index}`))?.webhook?.status).toBe("delivered");
    expect(receiver.mostWaiting()).toBe(3);
    expect(receiver.recorder.requests).toHaveLength(12);
  });

  it("frees an exchange's slot when its answer arrives, before its outcome is recorded", async () => {
    const receiver = await startRecorder();
    cleanups.push(() => receiver.close());
    const stored = await storeWithReports(`${receiver.url}/hook`, 2);
    // The store records attempts slowly (a busy disk, say); the next report must not wait for that.
    let recordsStarted = 0;
    const recordSlowly = async (taskId: string, update: DeliveryUpdate): Promise<void> => {
      recordsStarted++;
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await stored.recordAttempt(taskId, update);
    };
    const slowRecords = new Proxy(stored, {
      get(target, key) {
        if (key === "recordAttempt") return recordSlowly;
        const value: unknown = Reflect.get(target, key, target);
        return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    }) as TaskStore;
    dispatcher(slowRecords, 1).start();
    await waitUntil("both reports reached the receiver", () => receiver.requests.length === 2, 1400);
    expect(recordsStarted).toBeGreaterThanOrEqual(1);
    await waitUntil("both outcomes are recorded", async () => (await stored.getTask("task-1"))?.webhook?.status === "delivered");
    expect((await stored.getTask("task-0"))?.webhook?.status).toBe("delivered");
  });
});
