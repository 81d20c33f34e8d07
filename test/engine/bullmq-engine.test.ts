import { randomUUID } from "node:crypto";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisTaskStore } from "../../runtime/store/redis-task-store.js";
import { waitUntil } from "../helpers/wait-until.js";
import { BullmqEngine } from "../../runtime/engine/bullmq-engine.js";
import type { EngineHooks } from "../../runtime/engine/engine.js";
import { redisSuiteCanRun, startRedisServer, type RedisServer } from "../helpers/redis-server.js";
import { describeEngineContract } from "./engine-contract.js";

const available = redisSuiteCanRun("the BullMQ engine suite");

describe.skipIf(!available)("BullmqEngine (--engine redis) on a real redis-server", () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  // Each test gets its own key prefix on the one server (BullMQ's queues included): a fresh engine; `reopen` is a
  // new process on the same data.
  describeEngineContract("BullmqEngine", (hooks) => {
    const prefix = `{e-${randomUUID()}}:`;
    const make = (withHooks: EngineHooks) =>
      new BullmqEngine({ ...withHooks, url: redis.url, prefix, retentionMs: 7 * 24 * 3600 * 1000, log: pino({ level: "silent" }) });
    return { engine: make(hooks), reopen: make };
  });

  it("a task recorded without its job (the process stopped between the two at submit) runs after the next start", async () => {
    const prefix = `{orphan-${randomUUID()}}:`;
    const records = new RedisTaskStore({ url: redis.url, prefix, heartbeat: false });
    await records.open();
    const id = randomUUID();
    await records.createTask({ id, api: "sum", format: "cortex", payloadJson: '{"n":1}', createdAt: Date.now() });
    await records.close();
    const predicted: string[] = [];
    const engine = new BullmqEngine({
      url: redis.url,
      prefix,
      retentionMs: 7 * 24 * 3600 * 1000,
      log: pino({ level: "silent" }),
      planReport: () => null,
    });
    try {
      expect((await engine.open()).queued).toBe(1);
      engine.work("sum", { concurrency: 1, predict: async (task) => (predicted.push(task.id), { status: "completed", resultJson: "1", finishedAt: Date.now() }) });
      await waitUntil("the orphaned task ran", async () => (await engine.get(id))?.status === "completed", 10_000);
      expect(predicted).toEqual([id]);
    } finally {
      await engine.stop(0);
      await engine.close();
    }
  });
});
