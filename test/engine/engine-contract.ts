/**
 * The Engine contract: what runtime/engine/engine.ts promises, in numbered sections, checked only through the
 * `Engine` interface with a real TaskWorker (a small in-test predict()) and a real ReportAttempter (records what it
 * was handed, answers delivered / pending / failed, or holds until aborted). Runnable against any engine; an
 * engine's test file adds one line:
 *
 *   describeEngineContract("BullmqEngine", (hooks) => ({ engine: new BullmqEngine({ ...hooks, ... }), reopen, cleanup }));
 *
 * Reports are planned by the core's real reportPlanner; the attempter never touches the network. Sections:
 *   1. a task's life (submit, work, outcome, onTaskSettled, the planned report attempted);  2. idempotency;
 *   3. the queue (before work(), submit order, concurrency);  4. report retries and redelivery;  5. cancel;
 *   6. stop and restart (grace, at-least-once, aborted attempts made again);  7. list, counts, activity, attempts;
 *   8. close;  9. several processes on one shared engine (only engines whose capabilities.shared is true).
 * Tests needing `reopen` skip without it.
 */
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { expectStorageError } from "../helpers/expect-storage-error.js";
import type { ApiConfig, WebhookConfig } from "../../runtime/config/api-config.js";
import type { Engine, EngineHooks, RecoverySummary, ReportAttempter, TaskWorker } from "../../runtime/engine/engine.js";
import { reportPlanner } from "../../runtime/outbox/plan-report.js";
import type { AttemptRecord, DeliveryRecord, NewDelivery } from "../../runtime/tasks/delivery.js";
import type { NewTask, TaskOutcome, TaskRecord } from "../../runtime/tasks/task.js";
import { waitUntil } from "../helpers/wait-until.js";

/** A fresh, unopened engine built with `hooks`, and how to dispose of what it left behind. */
export interface EngineFixture {
  engine: Engine;
  /** A second, unopened engine over the same data, as after a restart; omitted by engines without persistence. */
  reopen?: (hooks: EngineHooks) => Engine;
  cleanup?: () => Promise<void> | void;
}

/** Every wait is bounded by this: generous for a loaded 2-core CI machine, never reached when things work. */
const WAIT_MS = 10_000;
/**
 * How long a test watches for something that must NOT happen (a second attempt after a final failure, a cancelled
 * task being predicted). An absence cannot be awaited, so this is the one kind of fixed wait the suite makes.
 */
const QUIET_MS = 200;

const HOOK_URL = "http://127.0.0.1:9/hook";
/** The section run only by engines several processes share. */
const SHARED_SECTION = "9.";

function apiConfig(name: string, webhook: Partial<WebhookConfig>): ApiConfig {
  return {
    name,
    kind: "AsyncAPI",
    predictor: { type: "typescript", path: `${name}.ts`, config: {}, processesPerReplica: 1, threadsPerProcess: 1, inProcess: true, pythonExecutable: "python3" },
    webhook: { callbackEnabled: true, timeoutMs: 10_000, ignoreTimeout: false, retryScheduleMs: [0], allowNetworks: ["127.0.0.0/8"], ...webhook },
    maxReplicaConcurrency: 1000,
  };
}

/** `sum` reports to HOOK_URL; `quiet` never reports (planReport: null); `nowhere` skips its report (no callback URL). */
const APIS: ReadonlyMap<string, ApiConfig> = new Map([
  ["sum", apiConfig("sum", { defaultCallbackUrl: HOOK_URL })],
  ["quiet", apiConfig("quiet", { callbackEnabled: false })],
  ["nowhere", apiConfig("nowhere", {})],
]);

/** What the in-test predict() reads from a task's payload. */
interface Payload {
  n: number;
  /** Wait for `worker.release(id)` (or an abort) before answering. */
  hold?: boolean;
  /** With hold: an abort does not end predict(); only release() does (to check a late outcome is dropped). */
  ignoreAbort?: boolean;
}

function newTask(payload: Payload, overrides: Partial<NewTask> = {}): NewTask {
  return { id: randomUUID(), api: "sum", format: "cortex", payloadJson: JSON.stringify(payload), createdAt: Date.now(), ...overrides };
}

function doubled(n: number): string {
  return JSON.stringify({ doubled: n * 2 });
}

/** What the core's hooks saw: every report planned, every task settled. */
class HookRecorder {
  readonly planned: Array<{ taskId: string; outcome: TaskOutcome; delivery: NewDelivery | null }> = [];
  readonly settled: Array<{ task: TaskRecord; outcome: TaskOutcome }> = [];
  readonly hooks: EngineHooks;

  constructor() {
    const plan = reportPlanner(APIS);
    this.hooks = {
      planReport: (task, outcome) => {
        const delivery = plan(task, outcome);
        this.planned.push({ taskId: task.id, outcome, delivery });
        return delivery;
      },
      onTaskSettled: (task, outcome) => {
        this.settled.push({ task, outcome });
      },
    };
  }

  settledFor(taskId: string): TaskOutcome[] {
    return this.settled.filter((entry) => entry.task.id === taskId).map((entry) => entry.outcome);
  }

  /**
   * Expects `report` (what the attempter was handed) to be a report planReport built for this task from an outcome
   * of this status: its body, webhook-id and URL. (planReport may be called more than once for a task, a cancel of a
   * finished task asks it too; the engine stores one of them.)
   */
  expectReportPlanned(taskId: string, status: TaskOutcome["status"], report: DeliveryRecord | undefined): void {
    expect(report, `a report of task ${taskId} was attempted`).toBeDefined();
    const plans = this.planned.filter((entry) => entry.taskId === taskId && entry.outcome.status === status).map((entry) => entry.delivery);
    expect(plans.length, `planReport was called for task ${taskId} with a ${status} outcome`).toBeGreaterThan(0);
    const match = plans.find((plan) => plan?.status === "pending" && plan.body === report!.body);
    expect(match, "the attempted body is one planReport built").toBeDefined();
    if (match?.status !== "pending") return;
    expect(report).toMatchObject({ taskId, url: match.url, body: match.body, webhookId: match.webhookId });
  }
}

/** A predict() that doubles `n`, optionally held until released; counts what runs at once. */
class TestWorker implements TaskWorker {
  /** Task ids in the order predict() was called. */
  readonly started: string[] = [];
  /** Task ids whose signal aborted, with the reason. */
  readonly aborted = new Map<string, unknown>();
  running = 0;
  mostRunning = 0;
  readonly #held = new Map<string, (outcome: TaskOutcome | undefined) => void>();

  constructor(readonly concurrency: number) {}

  readonly predict = async (task: TaskRecord, signal: AbortSignal): Promise<TaskOutcome> => {
    this.started.push(task.id);
    this.running++;
    this.mostRunning = Math.max(this.mostRunning, this.running);
    try {
      const payload = JSON.parse(task.payloadJson) as Payload;
      if (payload.hold) {
        const released = await new Promise<TaskOutcome | undefined>((resolve) => {
          this.#held.set(task.id, resolve);
          const onAbort = (): void => {
            this.aborted.set(task.id, signal.reason);
            if (!payload.ignoreAbort) resolve({ status: "failed", error: "aborted", finishedAt: Date.now() });
          };
          if (signal.aborted) onAbort();
          else signal.addEventListener("abort", onAbort, { once: true });
        });
        this.#held.delete(task.id);
        if (released !== undefined) return released;
      }
      return { status: "completed", resultJson: doubled(payload.n), finishedAt: Date.now() };
    } finally {
      this.running--;
    }
  };

  /** Whether this task's predict() is waiting to be released. */
  holds(taskId: string): boolean {
    return this.#held.has(taskId);
  }

  /** Ends a held predict(): with `outcome`, or the computed one. */
  release(taskId: string, outcome?: TaskOutcome): void {
    const resolve = this.#held.get(taskId);
    if (resolve === undefined) throw new Error(`task ${taskId} is not held`);
    this.#held.delete(taskId);
    resolve(outcome);
  }

  releaseAll(): void {
    const held = [...this.#held.values()];
    this.#held.clear();
    for (const resolve of held) resolve(undefined);
  }
}

type Answer = "delivered" | "failed" | "hold" | { pendingForMs: number } | { deliveredAfterMs: number };

/** A report attempt that records what it was handed and answers what `answer` says (delivered by default). */
class TestAttempter {
  readonly calls: DeliveryRecord[] = [];
  /** When each of `calls` was made (epoch ms). */
  readonly callTimes: number[] = [];
  /** Task ids of attempts that were held and then aborted. */
  readonly aborted: string[] = [];
  answer: (report: DeliveryRecord) => Answer = () => "delivered";

  readonly attempt: ReportAttempter = async (report, signal) => {
    this.calls.push(structuredClone(report));
    this.callTimes.push(Date.now());
    const answer = this.answer(report);
    const made = report.attempts + 1;
    const startedAt = Date.now();
    const origin = new URL(report.url).origin;
    if (answer === "hold") {
      await new Promise<void>((resolve) => {
        if (signal.aborted) resolve();
        else signal.addEventListener("abort", () => resolve(), { once: true });
      });
      this.aborted.push(report.taskId);
      return undefined;
    }
    if (typeof answer === "object" && "deliveredAfterMs" in answer) {
      await sleep(answer.deliveredAfterMs);
      const attempt: AttemptRecord = { attempt: made, startedAt, durationMs: answer.deliveredAfterMs, origin, outcome: "delivered", statusCode: 200 };
      return { update: { status: "delivered", attempts: made, lastStatusCode: 200 }, attempt };
    }
    if (answer === "delivered") {
      const attempt: AttemptRecord = { attempt: made, startedAt, durationMs: 1, origin, outcome: "delivered", statusCode: 200 };
      return { update: { status: "delivered", attempts: made, lastStatusCode: 200 }, attempt };
    }
    if (answer === "failed") {
      const attempt: AttemptRecord = { attempt: made, startedAt, durationMs: 1, origin, outcome: "rejected", statusCode: 400, error: "HTTP 400" };
      return { update: { status: "failed", attempts: made, lastStatusCode: 400, lastError: "HTTP 400" }, attempt };
    }
    const nextAttemptAt = Date.now() + answer.pendingForMs;
    const attempt: AttemptRecord = { attempt: made, startedAt, durationMs: 1, origin, outcome: "retryable", statusCode: 503, error: "HTTP 503", nextAttemptAt };
    return { update: { status: "pending", attempts: made, nextAttemptAt, lastStatusCode: 503, lastError: "HTTP 503" }, attempt };
  };

  callsFor(taskId: string): DeliveryRecord[] {
    return this.calls.filter((call) => call.taskId === taskId);
  }
}

/** Which of the contract's numbered sections to register (by their number, "1." ... "9."); all by default. */
export interface EngineContractOptions {
  sections?: readonly string[];
}

/** Registers the whole contract for one engine (or the sections `options` names). `makeEngine` is called once per test. */
export function describeEngineContract(
  name: string,
  makeEngine: (hooks: EngineHooks) => EngineFixture | Promise<EngineFixture>,
  options: EngineContractOptions = {},
): void {
  /** Registers a numbered section unless `options.sections` leaves it out. */
  const section = (title: string, body: () => void): void => {
    if (options.sections === undefined || options.sections.some((number) => title.startsWith(number))) describe(title, body);
  };
  const suffix = options.sections === undefined ? "" : ` (sections ${options.sections.join(" ")})`;
  describe(`Engine contract: ${name}${suffix}`, () => {
    let fixture: EngineFixture;
    let engine: Engine;
    let hooks: HookRecorder;
    /** What the first engine's open() found. */
    let recovered: RecoverySummary;
    /** Every engine a test opened (the first, and any reopened), stopped and closed after it unless closed already. */
    const engines: Engine[] = [];
    const closed = new Set<Engine>();
    const workers: TestWorker[] = [];
    let cleanedUp = false;

    async function cleanup(): Promise<void> {
      if (cleanedUp) return;
      cleanedUp = true;
      await fixture.cleanup?.();
    }

    beforeEach(async (context) => {
      hooks = new HookRecorder();
      cleanedUp = false;
      fixture = await makeEngine(hooks.hooks);
      engine = fixture.engine;
      // Skipped before open(): opening costs most of a test's time on some engines.
      if (context.task.suite?.name.startsWith(SHARED_SECTION) && (!engine.capabilities.shared || fixture.reopen === undefined)) {
        await cleanup();
        context.skip("this engine runs in one process");
      }
      engines.push(engine);
      recovered = await engine.open();
    });

    afterEach(async () => {
      for (const worker of workers.splice(0)) worker.releaseAll();
      for (const opened of engines.splice(0).reverse()) {
        if (closed.has(opened)) continue;
        await opened.stop(0);
        await opened.close();
      }
      closed.clear();
      await cleanup();
    });

    function newWorker(concurrency = 1): TestWorker {
      const made = new TestWorker(concurrency);
      workers.push(made);
      return made;
    }

    /** Starts `engine` working on `api` and delivering; returns the worker and attempter. */
    function start(concurrency = 1, api = "sum", on: Engine = engine): { worker: TestWorker; attempter: TestAttempter } {
      const attempter = new TestAttempter();
      const made = newWorker(concurrency);
      on.deliver(attempter.attempt);
      on.work(api, made);
      return { worker: made, attempter };
    }

    async function close(which: Engine): Promise<void> {
      closed.add(which);
      await which.close();
    }

    /** A new engine over the same data as after a restart, opened, with its own hooks. */
    async function reopen(): Promise<{ engine: Engine; hooks: HookRecorder; recovered: RecoverySummary }> {
      const reopenedHooks = new HookRecorder();
      const reopened = fixture.reopen!(reopenedHooks.hooks);
      engines.push(reopened);
      const summary = await reopened.open();
      return { engine: reopened, hooks: reopenedHooks, recovered: summary };
    }

    function waitForStatus(id: string, status: TaskRecord["status"], on: Engine = engine): Promise<TaskRecord> {
      return waitUntil(`task ${id} is ${status}`, async () => {
        const task = await on.get(id);
        return task?.status === status && task;
      }, WAIT_MS);
    }

    function waitForWebhook(id: string, status: string, attempts?: number, on: Engine = engine): Promise<TaskRecord> {
      return waitUntil(`task ${id}'s report is ${status}${attempts === undefined ? "" : ` after ${attempts} attempts`}`, async () => {
        const task = await on.get(id);
        return task?.webhook?.status === status && (attempts === undefined || task.webhook.attempts === attempts) && task;
      }, WAIT_MS);
    }

    section("1. a task's life: submit, work, outcome, report", () => {
      it("1.1 runs a submitted task, settles it once, stores its outcome, and hands planReport's report to the attempter", async () => {
        const { worker, attempter } = start();
        const submitted = await engine.submit(newTask({ n: 21 }));
        expect(submitted.created).toBe(true);
        expect(submitted.task).toMatchObject({ api: "sum", format: "cortex" });

        const done = await waitForWebhook(submitted.task.id, "delivered");
        expect(done.status).toBe("completed");
        expect(done.outcome).toMatchObject({ status: "completed", resultJson: doubled(21) });
        expect(done.webhook).toMatchObject({ status: "delivered", attempts: 1, lastStatusCode: 200 });
        expect(worker.started).toEqual([submitted.task.id]);

        await waitUntil("the task settled", () => hooks.settledFor(submitted.task.id).length > 0, WAIT_MS);
        expect(hooks.settledFor(submitted.task.id)).toEqual([expect.objectContaining({ status: "completed", resultJson: doubled(21) })]);

        const calls = attempter.callsFor(submitted.task.id);
        expect(calls).toHaveLength(1);
        hooks.expectReportPlanned(submitted.task.id, "completed", calls[0]);
        expect(calls[0]).toMatchObject({ taskId: submitted.task.id, api: "sum", url: HOOK_URL, attempts: 0, status: "pending" });

        const attempts = await engine.attempts(submitted.task.id);
        expect(attempts).toEqual([expect.objectContaining({ attempt: 1, outcome: "delivered", statusCode: 200, origin: "http://127.0.0.1:9" })]);
      });

      it("1.2 get() and findByIdempotencyKey() read a queued task back with its fields; unknown ones are undefined", async () => {
        expect(recovered).toEqual({ requeued: 0, queued: 0, pendingDeliveries: 0 });
        expect(engine.stalled()).toBeUndefined();
        const task = newTask({ n: 1 }, { idempotencyKey: "key-1.2", format: "launch", callback: { url: "http://127.0.0.1:9/other" } });
        await engine.submit(task);
        const stored = await engine.get(task.id);
        expect(stored).toMatchObject({ id: task.id, api: "sum", format: "launch", idempotencyKey: "key-1.2", payloadJson: task.payloadJson, createdAt: task.createdAt, status: "in_queue" });
        expect(stored?.callback?.url).toBe("http://127.0.0.1:9/other");
        expect(stored?.outcome).toBeUndefined();
        expect(stored?.webhook).toBeUndefined();
        expect((await engine.findByIdempotencyKey("sum", "key-1.2"))?.id).toBe(task.id);
        expect(await engine.findByIdempotencyKey("sum", "no-such-key")).toBeUndefined();
        expect(await engine.findByIdempotencyKey("quiet", "key-1.2")).toBeUndefined();
        expect(await engine.get(randomUUID())).toBeUndefined();
      });

      it("1.3 a failed outcome is stored and reported like a completed one", async () => {
        const { worker, attempter } = start();
        const task = newTask({ n: 3, hold: true });
        await engine.submit(task);
        await waitUntil("predict() runs", () => worker.holds(task.id), WAIT_MS);
        worker.release(task.id, { status: "failed", error: "boom", traceback: "at predict", finishedAt: Date.now() });
        const done = await waitForWebhook(task.id, "delivered");
        expect(done.status).toBe("failed");
        expect(done.outcome).toMatchObject({ status: "failed", error: "boom" });
        hooks.expectReportPlanned(task.id, "failed", attempter.callsFor(task.id)[0]);
      });

      it("1.4 a task whose planReport is null has no report and no attempt; a skipped one shows why", async () => {
        const { attempter } = start(1, "quiet");
        const nowhere = newWorker(1);
        engine.work("nowhere", nowhere);
        const quiet = newTask({ n: 1 }, { api: "quiet" });
        const skipped = newTask({ n: 2 }, { api: "nowhere" });
        await engine.submit(quiet);
        await engine.submit(skipped);
        const quietDone = await waitForStatus(quiet.id, "completed");
        expect(quietDone.webhook).toBeUndefined();
        const skippedDone = await waitForStatus(skipped.id, "completed");
        expect(skippedDone.webhook).toMatchObject({ status: "skipped", lastError: expect.stringContaining("no default_callback_url") });
        await sleep(QUIET_MS);
        expect(attempter.calls).toEqual([]);
        expect(await engine.attempts(quiet.id)).toEqual([]);
        expect(await engine.attempts(skipped.id)).toEqual([]);
      });
    });

    section("2. idempotency", () => {
      it("2.1 two concurrent submits with one (api, idempotencyKey): one created, one existing with the same id", async () => {
        const first = newTask({ n: 1 }, { idempotencyKey: "same" });
        const second = newTask({ n: 2 }, { idempotencyKey: "same" });
        const results = await Promise.all([engine.submit(first), engine.submit(second)]);
        expect(results.map((result) => result.created).sort()).toEqual([false, true]);
        expect(results[0].task.id).toBe(results[1].task.id);
        const id = results[0].task.id;
        expect([first.id, second.id]).toContain(id);
        expect((await engine.findByIdempotencyKey("sum", "same"))?.id).toBe(id);
        expect(await engine.get([first.id, second.id].find((other) => other !== id)!)).toBeUndefined();
        expect(await engine.countUnfinished("sum")).toBe(1);
        // Another API may use the same key.
        expect((await engine.submit(newTask({ n: 3 }, { api: "quiet", idempotencyKey: "same" }))).created).toBe(true);
      });

      it("2.2 while working, a repeated key runs the task once and settles it once", async () => {
        const { worker } = start(4);
        const tasks = Array.from({ length: 4 }, (_, n) => newTask({ n }, { idempotencyKey: "busy" }));
        const results = await Promise.all(tasks.map((task) => engine.submit(task)));
        expect(results.filter((result) => result.created)).toHaveLength(1);
        const id = results[0]!.task.id;
        expect(results.every((result) => result.task.id === id)).toBe(true);
        await waitForWebhook(id, "delivered");
        await sleep(QUIET_MS);
        expect(worker.started).toEqual([id]);
        expect(hooks.settled.map((entry) => entry.task.id)).toEqual([id]);
        const again = await engine.submit(newTask({ n: 9 }, { idempotencyKey: "busy" }));
        expect(again).toMatchObject({ created: false, task: { id, status: "completed" } });
      });
    });

    section("3. the queue: order and concurrency", () => {
      it("3.1 a task submitted before work() runs once work() is called", async () => {
        const task = newTask({ n: 5 });
        await engine.submit(task);
        const attempter = new TestAttempter();
        engine.deliver(attempter.attempt);
        await sleep(QUIET_MS);
        expect((await engine.get(task.id))?.status).toBe("in_queue");
        const made = newWorker(1);
        engine.work("sum", made);
        const done = await waitForStatus(task.id, "completed");
        expect(done.outcome).toMatchObject({ resultJson: doubled(5) });
        expect(made.started).toEqual([task.id]);
        await waitForWebhook(task.id, "delivered");
      });

      it("3.2 with concurrency 1, tasks run one at a time in submit order (queued before work() and after)", async () => {
        const before = [newTask({ n: 0, hold: true }), newTask({ n: 1 }), newTask({ n: 2 })];
        for (const task of before) await engine.submit(task);
        const { worker } = start(1);
        const after = [newTask({ n: 3 }), newTask({ n: 4, hold: true }), newTask({ n: 5 })];
        await waitUntil("the first task runs", () => worker.holds(before[0]!.id), WAIT_MS);
        for (const task of after) await engine.submit(task);
        worker.release(before[0]!.id);
        await waitUntil("the held fifth task runs", () => worker.holds(after[1]!.id), WAIT_MS);
        worker.release(after[1]!.id);
        const all = [...before, ...after];
        for (const task of all) await waitForStatus(task.id, "completed");
        expect(worker.started).toEqual(all.map((task) => task.id));
        expect(worker.mostRunning).toBe(1);
      });

      it("3.3 concurrency N bounds the predictions running at once, and all of them run", async () => {
        const { worker } = start(3);
        const tasks = Array.from({ length: 7 }, (_, n) => newTask({ n, hold: true }));
        for (const task of tasks) await engine.submit(task);
        await waitUntil("3 predictions run", () => worker.running === 3, WAIT_MS);
        await sleep(QUIET_MS);
        expect(worker.running).toBe(3);
        expect(await engine.countUnfinished("sum")).toBe(7);
        // Release one at a time: each freed slot takes the next task, never more than 3 at once.
        for (let released = 0; released < tasks.length; released++) {
          const id = await waitUntil("a held prediction", () => tasks.find((task) => worker.holds(task.id))?.id, WAIT_MS);
          worker.release(id);
        }
        for (const task of tasks) await waitForStatus(task.id, "completed");
        expect(worker.mostRunning).toBe(3);
        expect([...worker.started].sort()).toEqual(tasks.map((task) => task.id).sort());
      });
    });

    section("4. report retries and redelivery", () => {
      it("4.1 a pending answer is attempted again at its nextAttemptAt; a final failed stops", async () => {
        const { attempter } = start();
        attempter.answer = (report) => (report.attempts < 2 ? { pendingForMs: 50 } : "failed");
        const task = newTask({ n: 1 });
        await engine.submit(task);
        const failed = await waitForWebhook(task.id, "failed", 3);
        expect(failed.webhook).toMatchObject({ status: "failed", attempts: 3, lastStatusCode: 400, lastError: "HTTP 400" });
        const calls = attempter.callsFor(task.id);
        expect(calls.map((call) => call.attempts)).toEqual([0, 1, 2]);
        expect(new Set(calls.map((call) => call.body)).size).toBe(1);
        expect(new Set(calls.map((call) => call.webhookId)).size).toBe(1);
        // Each retry was handed over with the time the pending answer scheduled, and not before it.
        const times = attempter.calls.map((call, index) => [call, attempter.callTimes[index]!] as const).filter(([call]) => call.taskId === task.id).map(([, at]) => at);
        for (const retry of [1, 2]) {
          expect(calls[retry]!.nextAttemptAt).toBeGreaterThanOrEqual(times[retry - 1]! + 50);
          expect(times[retry]).toBeGreaterThanOrEqual(calls[retry]!.nextAttemptAt);
        }
        const attempts = await engine.attempts(task.id);
        expect(attempts.map((attempt) => [attempt.attempt, attempt.outcome])).toEqual([
          [1, "retryable"],
          [2, "retryable"],
          [3, "rejected"],
        ]);
        await sleep(QUIET_MS);
        expect(attempter.callsFor(task.id)).toHaveLength(3);
      });

      it("4.2 while a retry is scheduled, get() shows the report pending with the last attempt's status", async () => {
        const { attempter } = start();
        attempter.answer = () => ({ pendingForMs: 60_000 });
        const task = newTask({ n: 1 });
        await engine.submit(task);
        const pending = await waitForWebhook(task.id, "pending", 1);
        expect(pending.webhook).toMatchObject({ status: "pending", attempts: 1, lastStatusCode: 503, lastError: "HTTP 503" });
        expect(await engine.redeliver(task.id)).toBe("pending");
        await sleep(QUIET_MS);
        expect(attempter.callsFor(task.id)).toHaveLength(1);
      });

      it("4.3 redeliver() of a failed report schedules it: attempted again with the same body, attempts starting over", async () => {
        const { attempter } = start();
        attempter.answer = () => "failed";
        const task = newTask({ n: 1 });
        await engine.submit(task);
        await waitForWebhook(task.id, "failed", 1);
        attempter.answer = () => "delivered";
        expect(await engine.redeliver(task.id)).toBe("scheduled");
        const delivered = await waitForWebhook(task.id, "delivered", 1);
        expect(delivered.webhook).toMatchObject({ status: "delivered", attempts: 1, lastStatusCode: 200 });
        expect(delivered.webhook?.lastError).toBeUndefined();
        const calls = attempter.callsFor(task.id);
        expect(calls.map((call) => call.attempts)).toEqual([0, 0]);
        expect(calls[1]!.body).toBe(calls[0]!.body);
        expect(calls[1]!.webhookId).toBe(calls[0]!.webhookId);
        expect((await engine.attempts(task.id)).map((attempt) => [attempt.attempt, attempt.outcome])).toEqual([
          [1, "rejected"],
          [1, "delivered"],
        ]);
        // A delivered report can be sent again too.
        expect(await engine.redeliver(task.id)).toBe("scheduled");
        await waitUntil("the third attempt", () => attempter.callsFor(task.id).length === 3, WAIT_MS);
        await waitForWebhook(task.id, "delivered", 1);
        expect(await engine.attempts(task.id)).toHaveLength(3);
      });

      it("4.4 redeliver() answers unknown, unfinished and no-report for tasks it cannot redeliver", async () => {
        expect(await engine.redeliver(randomUUID())).toBe("unknown");
        const queued = newTask({ n: 1 });
        await engine.submit(queued);
        expect(await engine.redeliver(queued.id)).toBe("unfinished");
        start(1, "quiet");
        const quiet = newTask({ n: 1 }, { api: "quiet" });
        await engine.submit(quiet);
        await waitForStatus(quiet.id, "completed");
        expect(await engine.redeliver(quiet.id)).toBe("no-report");
      });

      it("4.5 redeliverFailed(api, since, limit) returns the failed reports' ids a page at a time, and they are attempted", async () => {
        const { attempter } = start();
        attempter.answer = () => "failed";
        const since = Date.now();
        const tasks = [newTask({ n: 1 }), newTask({ n: 2 }), newTask({ n: 3 })];
        for (const task of tasks) await engine.submit(task);
        for (const task of tasks) await waitForWebhook(task.id, "failed", 1);
        expect(await engine.redeliverFailed("sum", Date.now() + 60_000, 10)).toEqual([]);
        expect(await engine.redeliverFailed("quiet", since, 10)).toEqual([]);
        attempter.answer = () => "delivered";
        const first = await engine.redeliverFailed("sum", since, 2);
        expect(first).toHaveLength(2);
        const second = await engine.redeliverFailed("sum", since, 2);
        expect(second).toHaveLength(1);
        expect([...first, ...second].sort()).toEqual(tasks.map((task) => task.id).sort());
        expect(await engine.redeliverFailed("sum", since, 2)).toEqual([]);
        for (const task of tasks) {
          await waitForWebhook(task.id, "delivered", 1);
          expect(attempter.callsFor(task.id).map((call) => call.attempts)).toEqual([0, 0]);
        }
      });

      it("4.6 a report stored before deliver() is called is attempted once it is", async () => {
        const made = newWorker(1);
        engine.work("sum", made);
        const task = newTask({ n: 1 });
        await engine.submit(task);
        const done = await waitForStatus(task.id, "completed");
        expect(done.webhook).toMatchObject({ status: "pending", attempts: 0 });
        const attempter = new TestAttempter();
        engine.deliver(attempter.attempt);
        await waitForWebhook(task.id, "delivered", 1);
        expect(attempter.callsFor(task.id)).toHaveLength(1);
      });
    });

    section("5. cancel", () => {
      it("5.1 a queued task (before work()): in_queue, never predicted, settled once as cancelled, its report delivered; a second cancel changes nothing", async () => {
        const task = newTask({ n: 1 });
        const { task: record } = await engine.submit(task);
        expect(await engine.cancel(record)).toBe("in_queue");
        expect(hooks.settledFor(task.id)).toEqual([expect.objectContaining({ status: "cancelled" })]);
        expect(await engine.cancel(record)).toBe("cancelled");
        expect(hooks.settledFor(task.id)).toHaveLength(1);
        const { worker, attempter } = start();
        const later = newTask({ n: 2 });
        await engine.submit(later);
        await waitForStatus(later.id, "completed");
        const cancelled = await waitForWebhook(task.id, "delivered");
        expect(cancelled.status).toBe("cancelled");
        expect(cancelled.outcome?.status).toBe("cancelled");
        expect(worker.started).toEqual([later.id]);
        expect(attempter.callsFor(task.id)).toHaveLength(1);
        hooks.expectReportPlanned(task.id, "cancelled", attempter.callsFor(task.id)[0]);
        await sleep(QUIET_MS);
        expect(worker.started).toEqual([later.id]);
        expect(hooks.settledFor(task.id)).toHaveLength(1);
        expect(await engine.countUnfinished("sum")).toBe(0);
      });

      it("5.2 a running task: in_progress, predict()'s signal aborts, its later outcome is dropped, settled exactly once", async () => {
        const { worker, attempter } = start();
        const task = newTask({ n: 1, hold: true, ignoreAbort: true });
        const { task: record } = await engine.submit(task);
        await waitUntil("predict() runs", () => worker.holds(task.id), WAIT_MS);
        expect(await engine.cancel(record)).toBe("in_progress");
        await waitUntil("predict()'s signal aborted", () => worker.aborted.has(task.id), WAIT_MS);
        expect((await engine.get(task.id))?.status).toBe("cancelled");
        // predict() ends later with a completed outcome: it is dropped.
        worker.release(task.id, { status: "completed", resultJson: doubled(1), finishedAt: Date.now() });
        await waitUntil("the task settled", () => hooks.settledFor(task.id).length > 0, WAIT_MS);
        const cancelled = await waitForWebhook(task.id, "delivered");
        expect(cancelled.status).toBe("cancelled");
        expect(cancelled.outcome?.status).toBe("cancelled");
        hooks.expectReportPlanned(task.id, "cancelled", attempter.callsFor(task.id)[0]);
        await sleep(QUIET_MS);
        expect(hooks.settledFor(task.id)).toEqual([expect.objectContaining({ status: "cancelled" })]);
        expect((await engine.get(task.id))?.status).toBe("cancelled");
        expect(attempter.callsFor(task.id)).toHaveLength(1);
        // The slot is free again.
        const next = newTask({ n: 2 });
        await engine.submit(next);
        await waitForStatus(next.id, "completed");
      });

      it("5.3 a finished task: answers its finished status and nothing changes; an unknown task: undefined", async () => {
        const { attempter } = start();
        const task = newTask({ n: 1 });
        const { task: record } = await engine.submit(task);
        const done = await waitForWebhook(task.id, "delivered");
        await waitUntil("the task settled", () => hooks.settledFor(task.id).length > 0, WAIT_MS);
        expect(await engine.cancel(record)).toBe("completed");
        expect(await engine.cancel(done)).toBe("completed");
        const after = await engine.get(task.id);
        expect(after?.status).toBe("completed");
        expect(after?.outcome).toEqual(done.outcome);
        expect(after?.webhook).toEqual(done.webhook);
        await sleep(QUIET_MS);
        expect(hooks.settledFor(task.id)).toHaveLength(1);
        expect(attempter.callsFor(task.id)).toHaveLength(1);
        const unknown: TaskRecord = { ...newTask({ n: 1 }), status: "in_queue" };
        expect(await engine.cancel(unknown)).toBeUndefined();
        expect(await engine.get(unknown.id)).toBeUndefined();
        expect(hooks.settledFor(unknown.id)).toEqual([]);
      });

      it("5.4 a task queued behind a busy slot and cancelled never runs; the queue goes on past it", async () => {
        const { worker } = start(1);
        const busy = newTask({ n: 1, hold: true });
        await engine.submit(busy);
        await waitUntil("the slot is busy", () => worker.holds(busy.id), WAIT_MS);
        const waiting = newTask({ n: 2 });
        const { task: record } = await engine.submit(waiting);
        const after = newTask({ n: 3 });
        await engine.submit(after);
        expect(await engine.cancel(record)).toBe("in_queue");
        worker.release(busy.id);
        await waitForStatus(after.id, "completed");
        expect(worker.started).toEqual([busy.id, after.id]);
        expect((await engine.get(waiting.id))?.status).toBe("cancelled");
        expect(hooks.settledFor(waiting.id)).toEqual([expect.objectContaining({ status: "cancelled" })]);
      });

      it("5.5 a running task cancelled and then stopped before predict() returns is settled exactly once, as cancelled", async () => {
        const { worker } = start();
        const task = newTask({ n: 1, hold: true, ignoreAbort: true });
        const { task: record } = await engine.submit(task);
        await waitUntil("predict() runs", () => worker.holds(task.id), WAIT_MS);
        expect(await engine.cancel(record)).toBe("in_progress");
        await waitUntil("predict()'s signal aborted", () => worker.aborted.has(task.id), WAIT_MS);
        // Shutdown outlasts its grace while the cancelled predict() still runs; it returns afterwards.
        await engine.stop(0);
        worker.release(task.id);
        await waitUntil("the cancelled task settled", () => hooks.settledFor(task.id).length > 0, WAIT_MS);
        await sleep(QUIET_MS);
        expect(hooks.settledFor(task.id)).toEqual([expect.objectContaining({ status: "cancelled" })]);
        expect((await engine.get(task.id))?.status).toBe("cancelled");
      });

      it("5.6 a running task aborted by stop(0) and then cancelled is settled exactly once, as cancelled", async () => {
        const { worker } = start();
        const task = newTask({ n: 1, hold: true, ignoreAbort: true });
        const { task: record } = await engine.submit(task);
        await waitUntil("predict() runs", () => worker.holds(task.id), WAIT_MS);
        await engine.stop(0);
        await waitUntil("predict()'s signal aborted", () => worker.aborted.has(task.id), WAIT_MS);
        expect(await engine.cancel(record)).toBe("in_progress");
        worker.release(task.id);
        await waitUntil("the cancelled task settled", () => hooks.settledFor(task.id).length > 0, WAIT_MS);
        await sleep(QUIET_MS);
        expect(hooks.settledFor(task.id)).toEqual([expect.objectContaining({ status: "cancelled" })]);
        expect((await engine.get(task.id))?.status).toBe("cancelled");
      });
    });

    section("6. stop and restart", () => {
      it("6.1 stop(grace): a prediction that finishes within grace has its outcome stored and reported; a task submitted after stays queued", async () => {
        const { worker, attempter } = start();
        const task = newTask({ n: 4, hold: true });
        await engine.submit(task);
        await waitUntil("predict() runs", () => worker.holds(task.id), WAIT_MS);
        const stopped = engine.stop(WAIT_MS);
        worker.release(task.id);
        await stopped;
        const done = await engine.get(task.id);
        expect(done).toMatchObject({ status: "completed", outcome: { status: "completed", resultJson: doubled(4) } });
        expect(worker.aborted.size).toBe(0);
        expect(hooks.settledFor(task.id)).toHaveLength(1);
        expect(attempter.callsFor(task.id)).toHaveLength(1);
        expect(done?.webhook?.status).toBe("delivered");
        // Stopped: a task submitted now is stored, and stays queued.
        const later = newTask({ n: 1 });
        await engine.submit(later);
        await sleep(QUIET_MS);
        expect(worker.started).toEqual([task.id]);
        expect((await engine.get(later.id))?.status).toBe("in_queue");
      });

      it("6.2 a prediction aborted by stop(0) is not stored, and runs again after a restart (at least once)", async ({ skip }) => {
        if (fixture.reopen === undefined) skip("this engine keeps nothing across a restart");
        const { worker } = start();
        const task = newTask({ n: 6, hold: true });
        await engine.submit(task);
        await waitUntil("predict() runs", () => worker.holds(task.id), WAIT_MS);
        await engine.stop(0);
        await waitUntil("predict()'s signal aborted", () => worker.aborted.has(task.id), WAIT_MS);
        // Not finished: still marked running, or already put back in the queue by the stopping engine.
        expect(["in_progress", "in_queue"]).toContain((await engine.get(task.id))?.status);
        expect(hooks.settledFor(task.id)).toEqual([]);
        await close(engine);

        const restarted = await reopen();
        // Put back at stop (BullMQ) or at the next open (SQLite): either way it waits in the queue now.
        expect(restarted.recovered.queued).toBe(1);
        expect((await restarted.engine.get(task.id))?.status).toBe("in_queue");
        const attempter = new TestAttempter();
        const again = newWorker(1);
        restarted.engine.deliver(attempter.attempt);
        restarted.engine.work("sum", again);
        await waitUntil("predict() runs again", () => again.holds(task.id), WAIT_MS);
        again.release(task.id);
        const done = await waitForWebhook(task.id, "delivered", 1, restarted.engine);
        expect(done.outcome).toMatchObject({ status: "completed", resultJson: doubled(6) });
        expect(again.started).toEqual([task.id]);
        expect(restarted.hooks.settledFor(task.id)).toHaveLength(1);
        expect(attempter.callsFor(task.id)).toHaveLength(1);
      });

      it("6.3 a report whose attempt was aborted by stop(0) is attempted again after a restart, and its other state survives", async ({ skip }) => {
        if (fixture.reopen === undefined) skip("this engine keeps nothing across a restart");
        const { attempter } = start();
        attempter.answer = () => "hold";
        const task = newTask({ n: 7 }, { idempotencyKey: "survives" });
        await engine.submit(task);
        await waitUntil("the report is being attempted", () => attempter.callsFor(task.id).length > 0, WAIT_MS);
        await engine.stop(0);
        await waitUntil("the attempt was aborted", () => attempter.aborted.includes(task.id), WAIT_MS);
        await close(engine);

        const restarted = await reopen();
        expect(restarted.recovered).toEqual({ requeued: 0, queued: 0, pendingDeliveries: 1 });
        const before = await restarted.engine.get(task.id);
        expect(before).toMatchObject({ status: "completed", outcome: { resultJson: doubled(7) }, webhook: { status: "pending", attempts: 0 } });
        expect((await restarted.engine.findByIdempotencyKey("sum", "survives"))?.id).toBe(task.id);
        const second = new TestAttempter();
        restarted.engine.deliver(second.attempt);
        const delivered = await waitForWebhook(task.id, "delivered", 1, restarted.engine);
        expect(delivered.webhook).toMatchObject({ status: "delivered", attempts: 1 });
        const calls = second.callsFor(task.id);
        expect(calls).toHaveLength(1);
        expect(calls[0]).toMatchObject({ body: attempter.calls[0]!.body, webhookId: attempter.calls[0]!.webhookId, attempts: 0 });
        expect((await restarted.engine.attempts(task.id)).map((attempt) => attempt.outcome)).toEqual(["delivered"]);
      });

      it("6.4 a retry scheduled before a restart is attempted after it", async ({ skip }) => {
        if (fixture.reopen === undefined) skip("this engine keeps nothing across a restart");
        const { attempter } = start();
        attempter.answer = () => ({ pendingForMs: 300 });
        const task = newTask({ n: 8 });
        await engine.submit(task);
        await waitForWebhook(task.id, "pending", 1);
        await engine.stop(0);
        await close(engine);
        const restarted = await reopen();
        const second = new TestAttempter();
        restarted.engine.deliver(second.attempt);
        await waitForWebhook(task.id, "delivered", 2, restarted.engine);
        expect(second.callsFor(task.id).map((call) => call.attempts)).toEqual([1]);
      });

      it("6.5 stop(grace) lets a report attempt in flight finish and records it", async () => {
        const { attempter } = start();
        attempter.answer = () => ({ deliveredAfterMs: 150 });
        const task = newTask({ n: 1 });
        await engine.submit(task);
        await waitUntil("the report is being attempted", () => attempter.callsFor(task.id).length > 0, WAIT_MS);
        await engine.stop(WAIT_MS);
        expect((await engine.get(task.id))?.webhook).toMatchObject({ status: "delivered", attempts: 1 });
        expect(attempter.aborted).toEqual([]);
      });

      it("6.6 a task whose submit raced stop(0) is not lost: it runs after a restart", async ({ skip }) => {
        if (fixture.reopen === undefined) skip("this engine keeps nothing across a restart");
        const { worker } = start(2);
        const tasks = [newTask({ n: 1 }), newTask({ n: 2 }), newTask({ n: 3 })];
        const submitted = Promise.all(tasks.map((task) => engine.submit(task)));
        await engine.stop(0);
        await submitted;
        worker.releaseAll();
        await close(engine);
        const restarted = await reopen();
        const again = newWorker(2);
        restarted.engine.work("sum", again);
        for (const task of tasks) await waitForStatus(task.id, "completed", restarted.engine);
        // Each ran at least once, in one process or the other, and none was lost.
        for (const task of tasks) expect([...worker.started, ...again.started]).toContain(task.id);
      });
    });

    section("7. list, counts, attempts, countUnfinished", () => {
      it("7.1 counts, countUnfinished and activity follow tasks from queued to running to finished", async () => {
        const startedAt = Date.now();
        const tasks = [newTask({ n: 1, hold: true }), newTask({ n: 2 }), newTask({ n: 3 })];
        for (const task of tasks) await engine.submit(task);
        expect(await engine.countUnfinished("sum")).toBe(3);
        expect(await engine.countUnfinished("quiet")).toBe(0);
        let counts = await engine.counts("sum");
        expect(counts.tasks).toEqual({ in_queue: 3, in_progress: 0, completed: 0, failed: 0, cancelled: 0 });
        expect(counts.reports).toEqual({ pending: 0, delivered: 0, failed: 0 });

        const { worker, attempter } = start();
        attempter.answer = (report) => (report.taskId === tasks[1]!.id ? "failed" : "delivered");
        await waitUntil("the first task runs", () => worker.holds(tasks[0]!.id), WAIT_MS);
        counts = await engine.counts("sum");
        expect(counts.tasks).toMatchObject({ in_queue: 2, in_progress: 1 });
        expect(await engine.countUnfinished("sum")).toBe(3);

        worker.release(tasks[0]!.id);
        await engine.cancel((await engine.get(tasks[2]!.id))!);
        for (const task of tasks) await waitUntil(`task ${task.id}'s report is settled`, async () => {
          const status = (await engine.get(task.id))?.webhook?.status;
          return status === "delivered" || status === "failed";
        }, WAIT_MS);
        expect(await engine.countUnfinished("sum")).toBe(0);
        counts = await engine.counts("sum");
        expect(counts.tasks).toEqual({ in_queue: 0, in_progress: 0, completed: 2, failed: 0, cancelled: 1 });
        expect(counts.reports).toEqual({ pending: 0, delivered: 2, failed: 1 });
        expect((await engine.counts("quiet")).tasks).toEqual({ in_queue: 0, in_progress: 0, completed: 0, failed: 0, cancelled: 0 });
        const buckets = await engine.activity("sum", startedAt, Date.now() + 1, 3_600_000);
        expect(buckets).toHaveLength(1);
        expect(buckets[0]).toMatchObject({ start: startedAt, finished: 3, delivered: 2 });
        expect(buckets[0]!.p50LatencyMs).toBeGreaterThanOrEqual(0);
        expect(await engine.activity("quiet", startedAt, Date.now() + 1, 3_600_000)).toEqual([{ start: startedAt, finished: 0, delivered: 0 }]);
      });

      it("7.2 list() is newest first, filters by api, status, webhook status and id prefix, and pages with before/limit", async () => {
        const { attempter } = start();
        attempter.answer = () => "failed";
        const tasks: NewTask[] = [];
        for (let n = 0; n < 4; n++) {
          const task = newTask({ n });
          tasks.push(task);
          await engine.submit(task);
          await waitForWebhook(task.id, "failed");
        }
        const queuedQuiet = newTask({ n: 9 }, { api: "quiet" });
        await engine.submit(queuedQuiet);
        const newestFirst = [...tasks].reverse().map((task) => task.id);

        const all = await engine.list({ api: "sum" });
        expect(all.map((row) => row.id)).toEqual(newestFirst);
        expect(all[0]).toMatchObject({ api: "sum", status: "completed", webhookStatus: "failed", webhookAttempts: 1, createdAt: tasks[3]!.createdAt });
        expect(all[0]!.finishedAt).toBeGreaterThanOrEqual(tasks[3]!.createdAt);
        expect((await engine.list({})).map((row) => row.id)).toEqual([queuedQuiet.id, ...newestFirst]);
        expect((await engine.list({ status: "in_queue" })).map((row) => row.id)).toEqual([queuedQuiet.id]);
        expect((await engine.list({ api: "sum", status: "in_queue" })).map((row) => row.id)).toEqual([]);
        expect((await engine.list({ webhookStatus: "failed" })).map((row) => row.id)).toEqual(newestFirst);
        expect((await engine.list({ webhookStatus: "delivered" })).map((row) => row.id)).toEqual([]);
        expect((await engine.list({ idPrefix: tasks[1]!.id.slice(0, 13) })).map((row) => row.id)).toEqual([tasks[1]!.id]);

        const page1 = await engine.list({ api: "sum", limit: 3 });
        expect(page1.map((row) => row.id)).toEqual(newestFirst.slice(0, 3));
        const page2 = await engine.list({ api: "sum", limit: 3, before: page1.at(-1)!.id });
        expect(page2.map((row) => row.id)).toEqual(newestFirst.slice(3));
      });

      it("7.3 attempts() lists every attempt of a report oldest first, and nothing for a task without one", async () => {
        const { attempter } = start();
        attempter.answer = (report) => (report.attempts === 0 ? { pendingForMs: 20 } : "delivered");
        const task = newTask({ n: 1 });
        await engine.submit(task);
        await waitForWebhook(task.id, "delivered", 2);
        const attempts = await engine.attempts(task.id);
        expect(attempts).toHaveLength(2);
        expect(attempts[0]).toMatchObject({ attempt: 1, outcome: "retryable", statusCode: 503, error: "HTTP 503", origin: "http://127.0.0.1:9" });
        expect(attempts[0]!.nextAttemptAt).toBeGreaterThanOrEqual(attempts[0]!.startedAt);
        expect(attempts[1]).toMatchObject({ attempt: 2, outcome: "delivered", statusCode: 200 });
        expect(attempts[1]!.startedAt).toBeGreaterThanOrEqual(attempts[0]!.nextAttemptAt!);
        expect(await engine.attempts(randomUUID())).toEqual([]);
        const queued = newTask({ n: 2 }, { api: "quiet" });
        await engine.submit(queued);
        expect(await engine.attempts(queued.id)).toEqual([]);
      });
    });

    section("8. close", () => {
      it("8.1 after close(), submit and reads reject with a STORAGE_ERROR, and `failure` does not settle", async () => {
        const task = newTask({ n: 1 });
        await engine.submit(task);
        await engine.stop(0);
        await close(engine);
        await expectStorageError(engine.submit(newTask({ n: 2 })));
        await expectStorageError(engine.get(task.id));
        // Closing is not a failure: `failure` never settles.
        const settled = await Promise.race([engine.failure.then(() => "settled"), sleep(QUIET_MS).then(() => "pending")]);
        expect(settled).toBe("pending");
      });

      it("8.2 what was submitted before close() survives a restart", async ({ skip }) => {
        if (fixture.reopen === undefined) skip("this engine keeps nothing across a restart");
        const tasks = Array.from({ length: 5 }, (_, n) => newTask({ n }));
        const submitted = tasks.map((task) => engine.submit(task));
        await Promise.all(submitted);
        await engine.stop(0);
        await close(engine);
        const restarted = await reopen();
        expect(await restarted.engine.countUnfinished("sum")).toBe(5);
        const made = newWorker(2);
        restarted.engine.work("sum", made);
        for (const task of tasks) await waitForStatus(task.id, "completed", restarted.engine);
      });
    });

    section(`${SHARED_SECTION} several processes on one shared engine (capabilities.shared)`, () => {
      /** A second process on the same data, running alongside the first (beforeEach skips engines without one). */
      function secondProcess(): Promise<{ engine: Engine; hooks: HookRecorder }> {
        return reopen();
      }

      it("9.1 a task submitted through one process runs and is reported in the one that works", async () => {
        const other = await secondProcess();
        const { worker, attempter } = start();
        const task = newTask({ n: 11 });
        expect((await other.engine.submit(task)).created).toBe(true);
        const done = await waitForWebhook(task.id, "delivered", 1, other.engine);
        expect(done.outcome).toMatchObject({ status: "completed", resultJson: doubled(11) });
        expect(worker.started).toEqual([task.id]);
        expect(attempter.callsFor(task.id)).toHaveLength(1);
        expect(hooks.settledFor(task.id)).toHaveLength(1);
        expect(other.hooks.settledFor(task.id)).toEqual([]);
      });

      it("9.2 concurrent submits with one idempotency key through two processes create one task", async () => {
        const other = await secondProcess();
        const results = await Promise.all([
          engine.submit(newTask({ n: 1 }, { idempotencyKey: "shared" })),
          other.engine.submit(newTask({ n: 2 }, { idempotencyKey: "shared" })),
        ]);
        expect(results.map((result) => result.created).sort()).toEqual([false, true]);
        expect(results[0].task.id).toBe(results[1].task.id);
        expect((await other.engine.findByIdempotencyKey("sum", "shared"))?.id).toBe(results[0].task.id);
      });

      it("9.3 a task running in one process, cancelled through another: predict()'s signal aborts where it runs", async () => {
        const other = await secondProcess();
        const { worker } = start();
        const task = newTask({ n: 1, hold: true, ignoreAbort: true });
        const { task: record } = await engine.submit(task);
        await waitUntil("predict() runs", () => worker.holds(task.id), WAIT_MS);
        expect(await other.engine.cancel(record)).toBe("in_progress");
        expect(other.hooks.settledFor(task.id)).toEqual([expect.objectContaining({ status: "cancelled" })]);
        await waitUntil("predict()'s signal aborted in the process running it", () => worker.aborted.has(task.id), WAIT_MS);
        worker.release(task.id, { status: "completed", resultJson: doubled(1), finishedAt: Date.now() });
        await sleep(QUIET_MS);
        expect((await engine.get(task.id))?.status).toBe("cancelled");
        expect(hooks.settledFor(task.id).length).toBeLessThanOrEqual(1);
        expect(hooks.settledFor(task.id).every((outcome) => outcome.status === "cancelled")).toBe(true);
      });

      it("9.4 two working processes run each task once and attempt each report once", async () => {
        const other = await secondProcess();
        const { worker, attempter } = start(2);
        const otherAttempter = new TestAttempter();
        const otherWorker = newWorker(2);
        other.engine.deliver(otherAttempter.attempt);
        other.engine.work("sum", otherWorker);
        const tasks = Array.from({ length: 8 }, (_, n) => newTask({ n }));
        await Promise.all(tasks.map((task, index) => (index % 2 === 0 ? engine : other.engine).submit(task)));
        for (const task of tasks) await waitForWebhook(task.id, "delivered", 1);
        await sleep(QUIET_MS);
        expect([...worker.started, ...otherWorker.started].sort()).toEqual(tasks.map((task) => task.id).sort());
        expect([...attempter.calls, ...otherAttempter.calls].map((call) => call.taskId).sort()).toEqual(tasks.map((task) => task.id).sort());
        const settled = [...hooks.settled, ...other.hooks.settled].map((entry) => entry.task.id);
        expect(settled.sort()).toEqual(tasks.map((task) => task.id).sort());
      });

      it("9.5 a report attempt lost with its process is made by another, once that one stopped", async () => {
        const other = await secondProcess();
        const { attempter } = start();
        attempter.answer = () => "hold";
        const task = newTask({ n: 1 });
        await engine.submit(task);
        await waitUntil("the report is being attempted", () => attempter.callsFor(task.id).length > 0, WAIT_MS);
        const otherAttempter = new TestAttempter();
        other.engine.deliver(otherAttempter.attempt);
        await sleep(QUIET_MS);
        expect(otherAttempter.calls, "a leased report is not attempted by a second process").toEqual([]);
        await engine.stop(0);
        await close(engine);
        await waitForWebhook(task.id, "delivered", 1, other.engine);
        expect(otherAttempter.callsFor(task.id)).toHaveLength(1);
      });
    });
  });
}
