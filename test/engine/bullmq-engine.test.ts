import { randomUUID } from "node:crypto";
import { pino } from "pino";
import { afterAll, beforeAll, describe } from "vitest";
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
});
