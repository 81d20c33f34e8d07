import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe } from "vitest";
import { RedisTaskStore } from "../../runtime/store/redis-task-store.js";
import { redisServerAvailable, startRedisServer, type RedisServer } from "../helpers/redis-server.js";
import { describeEngineContract } from "./engine-contract.js";
import { storeEngine } from "../helpers/store-engine.js";

const available = redisServerAvailable();
if (!available) {
  if (process.env.REQUIRE_REDIS_TESTS === "1") throw new Error("REQUIRE_REDIS_TESTS=1 but redis-server is not installed (apt-get install redis-server)");
  console.warn("\n*** SKIPPED: the Redis engine suite needs redis-server (apt-get install redis-server); .ci/run installs it ***\n");
}

describe.skipIf(!available)("StoreEngine over RedisTaskStore on a real redis-server", () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  // Each test gets its own key prefix on the one server: a fresh engine; `reopen` is a new process on the same data.
  describeEngineContract("StoreEngine over RedisTaskStore", (hooks) => {
    const prefix = `{e-${randomUUID()}}:`;
    return {
      engine: storeEngine("redis", new RedisTaskStore({ url: redis.url, prefix }), hooks),
      reopen: (reopenedHooks) => storeEngine("redis", new RedisTaskStore({ url: redis.url, prefix }), reopenedHooks),
    };
  });
});
