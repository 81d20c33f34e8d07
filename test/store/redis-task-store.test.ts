import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { RedisTaskStore } from "../../runtime/store/redis-task-store.js";
import { redisSuiteCanRun, startRedisServer } from "../helpers/redis-server.js";
import { useRedisServer } from "../helpers/use-redis-server.js";
import { describeTaskStoreContract } from "./task-store-contract.js";

const REPO_ROOT = resolve(import.meta.dirname, "../..");
const available = redisSuiteCanRun("the Redis engine suite");

describe.skipIf(!available)("RedisTaskStore on a real redis-server", () => {
  const redis = useRedisServer();

  // Each test gets its own key prefix on the one server: a fresh store; `reopen` is a new process on the same data.
  describeTaskStoreContract("RedisTaskStore", () => {
    const prefix = `{t-${randomUUID()}}:`;
    return {
      store: new RedisTaskStore({ url: redis.url, prefix }),
      reopen: () => new RedisTaskStore({ url: redis.url, prefix }),
    };
  });

  it("recordAttempt written again with the same attempt (a retry after a lost answer) keeps one timeline entry", async () => {
    const store = new RedisTaskStore({ url: redis.url, prefix: `{t-${randomUUID()}}:` });
    await store.open();
    try {
      const id = randomUUID();
      const now = Date.now();
      await store.createTask({ id, api: "sum", format: "cortex", payloadJson: "{}", createdAt: now });
      expect((await store.claimTask(id, now)).kind).toBe("run");
      await store.finishTask(id, { status: "completed", resultJson: "1", finishedAt: now }, { status: "pending", url: "https://example.com/hook", body: "{}", webhookId: `msg_${id}`, nextAttemptAt: now });
      const first = { attempt: 1, startedAt: now, durationMs: 5, origin: "https://example.com", outcome: "retryable" as const, statusCode: 503, nextAttemptAt: now + 100 };
      const update = { status: "pending" as const, attempts: 1, nextAttemptAt: now + 100, lastStatusCode: 503 };
      await store.recordAttempt(id, update, first);
      await store.recordAttempt(id, update, first);
      expect(await store.listAttempts(id)).toEqual([first]);
      // A different attempt is still recorded, even one that ended the same way.
      const second = { ...first, attempt: 2, startedAt: now + 100 };
      await store.recordAttempt(id, { ...update, attempts: 2 }, second);
      expect(await store.listAttempts(id)).toEqual([first, second]);
    } finally {
      await store.close();
    }
  });

  describe("shared by several processes", () => {
    it("a task claimed by a process killed with -9 is taken over by another once its heartbeat expires", async () => {
      const prefix = `{t-${randomUUID()}}:`;
      const child = spawn(process.execPath, [join(REPO_ROOT, "bin/run-ts.js"), join(REPO_ROOT, "test/fixtures/redis-claim-and-hang.ts"), redis.url, prefix, "1000"], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      const [line] = (await once(child.stdout!, "data")) as [Buffer];
      const taskId = line.toString().trim();
      const live = new RedisTaskStore({ url: redis.url, prefix, ownerTtlMs: 1000 });
      await live.open();
      try {
        expect(await live.getTask(taskId)).toMatchObject({ status: "in_progress" });
        expect(await live.claimQueued("sum", 1, Date.now())).toEqual([]);
        child.kill("SIGKILL");
        let claimed: string[] = [];
        for (let tries = 0; tries < 100 && claimed.length === 0; tries++) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          claimed = (await live.claimQueued("sum", 1, Date.now())).map((task) => task.id);
        }
        expect(claimed).toEqual([taskId]);
      } finally {
        child.kill("SIGKILL");
        await live.close();
      }
    });

    it("open() refuses a server that may evict keys, naming the setting and the fix", async () => {
      const server = await startRedisServer();
      try {
        const admin = new RedisTaskStore({ url: server.url });
        await admin.open();
        await admin.close();
        const { Redis } = await import("ioredis");
        const raw = new Redis(server.url);
        await raw.config("SET", "maxmemory-policy", "allkeys-lru");
        await raw.quit();
        const store = new RedisTaskStore({ url: server.url });
        await expect(store.open()).rejects.toThrow(/maxmemory-policy is allkeys-lru.*noeviction/);
      } finally {
        await server.stop();
      }
    });

    it("open() fails with a clear message when nothing listens, without the URL's password", async () => {
      const store = new RedisTaskStore({ url: "redis://:hunter2@127.0.0.1:1/0" });
      const error = await store.open().then(() => undefined, (reason: Error) => reason);
      expect(error?.message).toMatch(/could not connect to Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:1\/0/);
      expect(error?.message).not.toContain("hunter2");
    });
  });
});

