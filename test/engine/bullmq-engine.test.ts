import { randomUUID } from "node:crypto";
import { pino } from "pino";
import { afterAll, beforeAll, describe } from "vitest";
import { BullmqEngine } from "../../runtime/engine/bullmq-engine.js";
import type { EngineHooks } from "../../runtime/engine/engine.js";
import { redisServerAvailable, startRedisServer, type RedisServer } from "../helpers/redis-server.js";
import { describeEngineContract } from "./engine-contract.js";

const available = redisServerAvailable();
if (!available) {
  if (process.env.REQUIRE_REDIS_TESTS === "1") throw new Error("REQUIRE_REDIS_TESTS=1 but redis-server is not installed (apt-get install redis-server)");
  console.warn("\n*** SKIPPED: the BullMQ engine suite needs redis-server (apt-get install redis-server); .ci/run installs it ***\n");
}

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
