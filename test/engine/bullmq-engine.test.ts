import { randomUUID } from "node:crypto";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { RedisTaskStore } from "../../runtime/store/redis-task-store.js";
import { waitUntil } from "../helpers/wait-until.js";
import { BullmqEngine } from "../../runtime/engine/bullmq-engine.js";
import type { EngineHooks } from "../../runtime/engine/engine.js";
import type { NewDelivery } from "../../runtime/tasks/delivery.js";
import type { TaskOutcome, TaskRecord } from "../../runtime/tasks/task.js";
import { redisSuiteCanRun } from "../helpers/redis-server.js";
import { useRedisServer } from "../helpers/use-redis-server.js";
import { describeEngineContract } from "./engine-contract.js";

const available = redisSuiteCanRun("the BullMQ engine suite");

describe.skipIf(!available)("BullmqEngine (--engine redis) on a real redis-server", () => {
  const redis = useRedisServer();

  // Each test gets its own key prefix on the one server (BullMQ's queues included): a fresh engine; `reopen` is a
  // new process on the same data.
  describeEngineContract("BullmqEngine", (hooks) => {
    const prefix = `{e-${randomUUID()}}:`;
    const make = (withHooks: EngineHooks) =>
      new BullmqEngine({ ...withHooks, url: redis.url, prefix, retentionMs: 7 * 24 * 3600 * 1000, log: pino({ level: "silent" }) });
    return { engine: make(hooks), reopen: make };
  });

  it("a task whose outcome write landed but whose answer was lost (Redis restarting) still gets its report attempted", { timeout: 20_000 }, async () => {
    const prefix = `{lost-reply-${randomUUID()}}:`;
    const plan = (task: TaskRecord): NewDelivery => ({ status: "pending", url: "http://127.0.0.1:9/hook", body: JSON.stringify({ id: task.id }), webhookId: `msg_${task.id}`, nextAttemptAt: Date.now() });
    // Another connection to the same records: it writes the outcome and report first, as the engine's own write would
    // have landed before Redis went away; the engine's retry of that write then finds the task finished.
    const records = new RedisTaskStore({ url: redis.url, prefix, heartbeat: false });
    await records.open();
    const attempted: string[] = [];
    const engine = new BullmqEngine({ url: redis.url, prefix, retentionMs: 7 * 24 * 3600 * 1000, log: pino({ level: "silent" }), planReport: plan });
    try {
      await engine.open();
      engine.deliver(async (report) => {
        attempted.push(report.taskId);
        return { update: { status: "delivered", attempts: 1, lastStatusCode: 200 } };
      });
      engine.work("sum", {
        concurrency: 1,
        predict: async (task) => {
          const outcome: TaskOutcome = { status: "completed", resultJson: "1", finishedAt: Date.now() };
          expect(await records.finishTask(task.id, outcome, plan(task))).toBe(true);
          return outcome;
        },
      });
      const id = randomUUID();
      await engine.submit({ id, api: "sum", format: "cortex", payloadJson: '{"n":1}', createdAt: Date.now() });
      await waitUntil("the report was attempted", () => attempted.includes(id), 10_000);
      await waitUntil("the report reads delivered", async () => (await engine.get(id))?.webhook?.status === "delivered", 5_000);
    } finally {
      await engine.stop(0);
      await engine.close();
      await records.close();
    }
  });

  it("a pending report left without a job (its add failed after the record was written) is attempted once a process delivers", { timeout: 20_000 }, async () => {
    const prefix = `{orphan-report-${randomUUID()}}:`;
    const records = new RedisTaskStore({ url: redis.url, prefix, heartbeat: false });
    await records.open();
    const id = randomUUID();
    // Finished, its report pending since a minute ago, and neither a task job nor a report job: the state a report
    // job's failed add leaves behind.
    await records.createTask({ id, api: "sum", format: "cortex", payloadJson: '{"n":1}', createdAt: Date.now() });
    expect((await records.claimTask(id, Date.now())).kind).toBe("run");
    const dueAt = Date.now() - 60_000;
    expect(await records.finishTask(id, { status: "completed", resultJson: "1", finishedAt: dueAt }, { status: "pending", url: "http://127.0.0.1:9/hook", body: "{}", webhookId: `msg_${id}`, nextAttemptAt: dueAt })).toBe(true);
    await records.close();
    const logged: Array<{ msg: string; reports?: number }> = [];
    const attempted: string[] = [];
    const engine = new BullmqEngine({
      url: redis.url,
      prefix,
      retentionMs: 7 * 24 * 3600 * 1000,
      log: pino({ level: "warn" }, { write: (line: string) => void logged.push(JSON.parse(line) as { msg: string; reports?: number }) }),
      planReport: () => null,
    });
    try {
      await engine.open();
      engine.deliver(async (report) => {
        attempted.push(report.taskId);
        return { update: { status: "delivered", attempts: 1, lastStatusCode: 200 } };
      });
      await waitUntil("the orphaned report was attempted", () => attempted.includes(id), 10_000);
      expect(logged.filter((line) => line.msg.startsWith("pending reports had no job")).map((line) => line.reports)).toEqual([1]);
      await waitUntil("the report reads delivered", async () => (await engine.get(id))?.webhook?.status === "delivered", 5_000);
      expect(attempted).toEqual([id]);
    } finally {
      await engine.stop(0);
      await engine.close();
    }
  });

  it("a job whose processing keeps failing is retried every second, logged once per 10 s rather than once per failure", { timeout: 20_000 }, async () => {
    const prefix = `{failing-${randomUUID()}}:`;
    const logged: Array<{ msg: string; failedJobs?: number }> = [];
    let plans = 0;
    const engine = new BullmqEngine({
      url: redis.url,
      prefix,
      retentionMs: 7 * 24 * 3600 * 1000,
      log: pino({ level: "warn" }, { write: (line: string) => void logged.push(JSON.parse(line) as { msg: string; failedJobs?: number }) }),
      // Throws after predict(), where a lost Redis connection would: the job fails and BullMQ runs it again.
      planReport: () => {
        plans++;
        throw new Error("planning failed");
      },
    });
    try {
      await engine.open();
      engine.work("sum", { concurrency: 1, predict: async () => ({ status: "completed", resultJson: "1", finishedAt: Date.now() }) });
      await engine.submit({ id: randomUUID(), api: "sum", format: "cortex", payloadJson: '{"n":1}', createdAt: Date.now() });
      await waitUntil("the job failed three times", () => plans >= 3, 10_000);
      const lines = logged.filter((line) => line.msg.startsWith("a job's processing failed"));
      expect(lines.map((line) => line.failedJobs)).toEqual([1]);
    } finally {
      await engine.stop(0);
      await engine.close();
    }
  });

  it("a task recorded without its job (the process stopped between the two at submit) runs after the next start; tasks with a job are not added again", async () => {
    const prefix = `{orphan-${randomUUID()}}:`;
    const logged: Array<{ msg: string; tasks?: number }> = [];
    const engineAt = () =>
      new BullmqEngine({
        url: redis.url,
        prefix,
        retentionMs: 7 * 24 * 3600 * 1000,
        log: pino({ level: "warn" }, { write: (line: string) => void logged.push(JSON.parse(line) as { msg: string; tasks?: number }) }),
        planReport: () => null,
      });
    // Three tasks submitted through an engine (record and job), left queued: no process works on them yet.
    const submitting = engineAt();
    await submitting.open();
    const submitted = [randomUUID(), randomUUID(), randomUUID()];
    for (const id of submitted) await submitting.submit({ id, api: "sum", format: "cortex", payloadJson: '{"n":1}', createdAt: Date.now() });
    await submitting.close();
    // One more recorded without its job.
    const records = new RedisTaskStore({ url: redis.url, prefix, heartbeat: false });
    await records.open();
    const orphan = randomUUID();
    await records.createTask({ id: orphan, api: "sum", format: "cortex", payloadJson: '{"n":1}', createdAt: Date.now() });
    await records.close();
    const predicted: string[] = [];
    const engine = engineAt();
    try {
      expect((await engine.open()).queued).toBe(4);
      expect(logged.filter((line) => line.msg.startsWith("queued tasks had no job")).map((line) => line.tasks)).toEqual([1]);
      engine.work("sum", { concurrency: 1, predict: async (task) => (predicted.push(task.id), { status: "completed", resultJson: "1", finishedAt: Date.now() }) });
      await waitUntil("every queued task ran", async () => (await Promise.all([orphan, ...submitted].map((id) => engine.get(id)))).every((task) => task?.status === "completed"), 10_000);
      expect(predicted.sort()).toEqual([orphan, ...submitted].sort());
    } finally {
      await engine.stop(0);
      await engine.close();
    }
  });
});
