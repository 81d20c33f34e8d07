import { randomUUID } from "node:crypto";
import { describe } from "vitest";
import { RedisTaskStore } from "../../runtime/store/redis-task-store.js";
import { redisSuiteCanRun } from "../helpers/redis-server.js";
import { useRedisServer } from "../helpers/use-redis-server.js";
import { describeEngineContract } from "./engine-contract.js";
import { storeEngine } from "../helpers/store-engine.js";

const available = redisSuiteCanRun("the Redis engine suite");

describe.skipIf(!available)("StoreEngine over RedisTaskStore on a real redis-server", () => {
  const redis = useRedisServer();

  // Each test gets its own key prefix on the one server: a fresh engine; `reopen` is a new process on the same data.
  describeEngineContract("StoreEngine over RedisTaskStore", (hooks) => {
    const prefix = `{e-${randomUUID()}}:`;
    return {
      engine: storeEngine("redis", new RedisTaskStore({ url: redis.url, prefix }), hooks),
      reopen: (reopenedHooks) => storeEngine("redis", new RedisTaskStore({ url: redis.url, prefix }), reopenedHooks),
    };
  });
});
