/**
 * The TaskStore contract: every method and every invariant of runtime/store/task-store.ts, in numbered sections,
 * runnable against any engine. An engine's test file adds one line:
 *
 *   describeTaskStoreContract("RedisTaskStore", async () => ({ store: new RedisTaskStore(...), cleanup }));
 */
import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { expectStorageError } from "../helpers/expect-storage-error.js";
import type { TaskStore } from "../../runtime/store/task-store.js";
import type { AttemptRecord, NewDelivery } from "../../runtime/tasks/delivery.js";
import type { NewTask, TaskOutcome } from "../../runtime/tasks/task.js";

/** A fresh, unopened store, and how to dispose of what it left behind. */
export interface TaskStoreFixture {
  store: TaskStore;
  /** A second, unopened store over the same data, as after a restart; omitted by engines without persistence. */
  reopen?: () => TaskStore;
  cleanup?: () => Promise<void> | void;
}

/** Any instant will do; the contract only compares times. */
const T0 = 1_700_000_000_000;
const LEASE_MS = 60_000;

/** A queued task of API `api` (default "sum"), with a fresh id. */
export function newTask(overrides: Partial<NewTask> = {}): NewTask {
  return { id: randomUUID(), api: "sum", format: "cortex", payloadJson: '{"x":2,"y":"hello"}', createdAt: T0, ...overrides };
}

function completed(result: unknown, finishedAt = T0 + 10): TaskOutcome {
  return { status: "completed", resultJson: JSON.stringify(result), finishedAt };
}

function pendingDelivery(taskId: string, nextAttemptAt = T0 + 10, overrides: Partial<NewDelivery & { status: "pending" }> = {}): NewDelivery {
  return { status: "pending", url: "http://127.0.0.1:9000/hook", body: `{"id":"${taskId}"}`, webhookId: `msg_${taskId}`, nextAttemptAt, ...overrides };
}

/** Registers the whole contract for one engine. `makeStore` is called once per test. */
export function describeTaskStoreContract(name: string, makeStore: () => TaskStoreFixture | Promise<TaskStoreFixture>): void {
  describe(`TaskStore contract: ${name}`, () => {
    let fixture: TaskStoreFixture;
    let store: TaskStore;
    /** Stores opened by a test besides `store`, closed after it. */
    const extraStores: TaskStore[] = [];

    beforeEach(async () => {
      fixture = await makeStore();
      store = fixture.store;
      await store.open();
    });

    afterEach(async () => {
      await store.close();
      for (const extra of extraStores.splice(0)) await extra.close();
      await fixture.cleanup?.();
    });

    /** Creates, claims and finishes a task with a pending report due at `dueAt`. */
    async function finishedWithReport(dueAt = T0 + 10, overrides: Partial<NewTask> = {}): Promise<string> {
      const { task } = await store.createTask(newTask(overrides));
      await store.claimQueued(task.api, 1, T0);
      await store.finishTask(task.id, completed(1), pendingDelivery(task.id, dueAt));
      return task.id;
    }

    describe("1. createTask", () => {
      it("1.1 stores the task as queued with every field, and getTask reads it back", async () => {
        const task = newTask({
          format: "launch",
          idempotencyKey: "key-1",
          payloadJson: JSON.stringify({ nested: [1, "two", null, { three: true }] }),
          callback: { url: "https://example.com/hook?token=abc", auth: { kind: "basic", username: "u", password: "p" } },
        });
        const result = await store.createTask(task);
        expect(result.created).toBe(true);
        expect(result.task).toMatchObject({ ...task, status: "in_queue" });
        expect(await store.getTask(task.id)).toEqual({ ...task, status: "in_queue" });
      });

      it("1.2 a payload may be any JSON value, and is kept as the exact text it arrived as", async () => {
        for (const payloadJson of ["null", "0", '"text"', "[1, 2]", '{ "a": {"b": [] } }', "true"]) {
          const task = newTask({ payloadJson });
          await store.createTask(task);
          expect((await store.getTask(task.id))?.payloadJson).toBe(payloadJson);
        }
      });

      it("1.3 a repeat of (api, idempotencyKey) returns the first task, created: false, and stores nothing new", async () => {
        const first = newTask({ idempotencyKey: "same" });
        await store.createTask(first);
        const repeat = await store.createTask(newTask({ idempotencyKey: "same", payloadJson: '"other"' }));
        expect(repeat.created).toBe(false);
        expect(repeat.task.id).toBe(first.id);
        expect(repeat.task.payloadJson).toBe(first.payloadJson);
        expect(await store.countUnfinished("sum")).toBe(1);
      });

      it("1.4 the same idempotency key in another API is another task", async () => {
        const a = await store.createTask(newTask({ api: "a", idempotencyKey: "k" }));
        const b = await store.createTask(newTask({ api: "b", idempotencyKey: "k" }));
        expect(a.created && b.created).toBe(true);
        expect(a.task.id).not.toBe(b.task.id);
      });

      it("1.5 concurrent creates with one key make exactly one task", async () => {
        const results = await Promise.all(Array.from({ length: 10 }, (_, n) => store.createTask(newTask({ idempotencyKey: "race", payloadJson: String(n) }))));
        expect(results.filter((result) => result.created)).toHaveLength(1);
        expect(new Set(results.map((result) => result.task.id)).size).toBe(1);
        expect(await store.countUnfinished("sum")).toBe(1);
      });

      it("1.6 a repeat of a finished task's key returns it finished, with its webhook state", async () => {
        const id = await finishedWithReport(T0 + 10, { idempotencyKey: "done" });
        const repeat = await store.createTask(newTask({ idempotencyKey: "done" }));
        expect(repeat).toMatchObject({ created: false, task: { id, status: "completed", webhook: { status: "pending", attempts: 0 } } });
      });
    });

    describe("1b. createTask already claimed (startedAt)", () => {
      it("1b.1 stores the task in_progress with its start time, and claimQueued never hands it out", async () => {
        const { task, created } = await store.createTask(newTask({ startedAt: T0 + 1 }));
        expect(created).toBe(true);
        expect(task.status).toBe("in_progress");
        expect(await store.getTask(task.id)).toMatchObject({ status: "in_progress", startedAt: T0 + 1, payloadJson: '{"x":2,"y":"hello"}' });
        expect(await store.claimQueued("sum", 10, T0 + 2)).toEqual([]);
        expect(await store.countUnfinished("sum")).toBe(1);
      });

      it("1b.2 a repeated idempotency key returns the first task, claimed or not, and claims nothing new", async () => {
        const first = await store.createTask(newTask({ idempotencyKey: "k", startedAt: T0 }));
        const again = await store.createTask(newTask({ idempotencyKey: "k", startedAt: T0 + 5 }));
        expect(again).toMatchObject({ created: false, task: { id: first.task.id, status: "in_progress", startedAt: T0 } });
        const queuedFirst = await store.createTask(newTask({ idempotencyKey: "q" }));
        const claimedRepeat = await store.createTask(newTask({ idempotencyKey: "q", startedAt: T0 }));
        expect(claimedRepeat).toMatchObject({ created: false, task: { id: queuedFirst.task.id, status: "in_queue" } });
      });

      it("1b.3 after a restart it is queued again like any task that was running", async () => {
        const { task } = await store.createTask(newTask({ startedAt: T0 }));
        expect(await store.recover()).toMatchObject({ requeued: 1, queued: 1 });
        expect((await store.claimQueued("sum", 10, T0 + 1)).map((claimed) => claimed.id)).toEqual([task.id]);
      });
    });

    describe("1c. getTaskByIdempotencyKey", () => {
      it("1c.1 finds the task holding an (api, key), and nothing for another API or key", async () => {
        const { task } = await store.createTask(newTask({ idempotencyKey: "client-1" }));
        expect((await store.getTaskByIdempotencyKey("sum", "client-1"))?.id).toBe(task.id);
        expect(await store.getTaskByIdempotencyKey("other", "client-1")).toBeUndefined();
        expect(await store.getTaskByIdempotencyKey("sum", "client-2")).toBeUndefined();
      });
    });

    describe("2. getTask", () => {
      it("2.1 an unknown id is undefined", async () => {
        expect(await store.getTask("no-such-task")).toBeUndefined();
      });

      it("2.2 shows startedAt once claimed", async () => {
        const { task } = await store.createTask(newTask());
        await store.claimQueued("sum", 1, T0 + 5);
        expect(await store.getTask(task.id)).toMatchObject({ status: "in_progress", startedAt: T0 + 5 });
      });

      it("2.3 taskStatuses answers each id's status in the order asked, undefined for an unknown id", async () => {
        const { task: claimed } = await store.createTask(newTask({ createdAt: T0 }));
        const { task: queued } = await store.createTask(newTask({ createdAt: T0 + 1 }));
        await store.claimQueued("sum", 1, T0 + 5);
        const { task: cancelled } = await store.createTask(newTask({ createdAt: T0 + 2 }));
        await store.cancelTask(cancelled.id, { status: "cancelled", finishedAt: T0 + 6 }, null);
        expect(await store.taskStatuses([queued.id, "no-such-task", cancelled.id, claimed.id])).toEqual(["in_queue", undefined, "cancelled", "in_progress"]);
        expect(await store.taskStatuses([])).toEqual([]);
      });
    });

    describe("3. claimQueued", () => {
      it("3.1 hands out the API's oldest queued tasks first, up to the limit, as in_progress", async () => {
        const ids: string[] = [];
        for (let n = 0; n < 5; n++) ids.push((await store.createTask(newTask({ payloadJson: String(n) }))).task.id);
        await store.createTask(newTask({ api: "other" }));
        const first = await store.claimQueued("sum", 3, T0 + 1);
        expect(first.map((task) => task.id)).toEqual(ids.slice(0, 3));
        expect(first.every((task) => task.status === "in_progress" && task.startedAt === T0 + 1)).toBe(true);
        expect(first.map((task) => task.payloadJson)).toEqual(["0", "1", "2"]);
        const rest = await store.claimQueued("sum", 10, T0 + 2);
        expect(rest.map((task) => task.id)).toEqual(ids.slice(3));
      });

      it("3.2 an empty queue, or a limit of 0, hands out nothing", async () => {
        expect(await store.claimQueued("sum", 5, T0)).toEqual([]);
        await store.createTask(newTask());
        expect(await store.claimQueued("sum", 0, T0)).toEqual([]);
        expect(await store.countUnfinished("sum")).toBe(1);
      });

      it("3.3 a task is claimed once, even by concurrent claims", async () => {
        for (let n = 0; n < 20; n++) await store.createTask(newTask());
        const claims = await Promise.all(Array.from({ length: 8 }, () => store.claimQueued("sum", 4, T0)));
        const ids = claims.flat().map((task) => task.id);
        expect(ids).toHaveLength(20);
        expect(new Set(ids).size).toBe(20);
        expect(await store.claimQueued("sum", 4, T0)).toEqual([]);
      });

      it("3.4 a task created and claimed in the same turn is handed out once it is stored", async () => {
        const created = store.createTask(newTask());
        const claimed = store.claimQueued("sum", 1, T0);
        const [{ task }, tasks] = await Promise.all([created, claimed]);
        expect(tasks.map((t) => t.id)).toEqual([task.id]);
      });
    });

    describe("4. finishTask", () => {
      it("4.1 stores the outcome and a pending report together", async () => {
        const { task } = await store.createTask(newTask());
        await store.claimQueued("sum", 1, T0);
        const delivery = pendingDelivery(task.id, T0 + 10, { auth: { kind: "basic", username: "u", password: "p" } });
        await store.finishTask(task.id, completed({ sum: 7 }, T0 + 9), delivery);
        expect(await store.getTask(task.id)).toMatchObject({
          status: "completed",
          outcome: { status: "completed", resultJson: '{"sum":7}', finishedAt: T0 + 9 },
          webhook: { status: "pending", attempts: 0 },
        });
        expect(await store.leaseDueDeliveries(T0 + 10, 10, LEASE_MS)).toEqual([
          {
            taskId: task.id,
            api: "sum",
            url: "http://127.0.0.1:9000/hook",
            auth: { kind: "basic", username: "u", password: "p" },
            body: `{"id":"${task.id}"}`,
            webhookId: `msg_${task.id}`,
            status: "pending",
            attempts: 0,
            nextAttemptAt: T0 + 10,
          },
        ]);
      });

      it("4.2 a failed outcome keeps its error and traceback", async () => {
        const { task } = await store.createTask(newTask());
        const outcome: TaskOutcome = { status: "failed", error: "boom", traceback: "Error: boom\n    at predict", finishedAt: T0 + 3 };
        await store.finishTask(task.id, outcome, null);
        expect(await store.getTask(task.id)).toMatchObject({ status: "failed", outcome });
      });

      it("4.3 a skipped report shows as webhook skipped with its reason, and nothing is sent", async () => {
        const { task } = await store.createTask(newTask());
        await store.finishTask(task.id, completed(1), { status: "skipped", reason: "no callback_url" });
        expect((await store.getTask(task.id))?.webhook).toEqual({ status: "skipped", attempts: 0, lastError: "no callback_url" });
        expect(await store.leaseDueDeliveries(T0 + 1e9, 10, LEASE_MS)).toEqual([]);
        expect(await store.nextDeliveryDueAt()).toBeUndefined();
      });

      it("4.4 without a report (none expected), the task has no webhook state", async () => {
        const { task } = await store.createTask(newTask());
        await store.finishTask(task.id, completed(1), null);
        const stored = await store.getTask(task.id);
        expect(stored?.status).toBe("completed");
        expect(stored?.webhook).toBeUndefined();
      });

      it("4.5 finishing twice keeps the first outcome and its one report", async () => {
        const { task } = await store.createTask(newTask());
        await store.claimQueued("sum", 1, T0);
        await store.finishTask(task.id, completed("first", T0 + 1), pendingDelivery(task.id, T0 + 1));
        await store.finishTask(task.id, { status: "failed", error: "second", finishedAt: T0 + 2 }, { status: "skipped", reason: "second" });
        await store.finishTask(task.id, completed("third", T0 + 3), pendingDelivery(task.id, T0 + 3, { body: "third" }));
        const stored = await store.getTask(task.id);
        expect(stored).toMatchObject({ status: "completed", outcome: { resultJson: '"first"' }, webhook: { status: "pending" } });
        const due = await store.leaseDueDeliveries(T0 + 100, 10, LEASE_MS);
        expect(due.map((delivery) => delivery.body)).toEqual([`{"id":"${task.id}"}`]);
      });

      it("4.6 finishing an unknown task changes nothing, and says so", async () => {
        expect(await store.finishTask("no-such-task", completed(1), pendingDelivery("no-such-task"))).toBe(false);
        expect(await store.getTask("no-such-task")).toBeUndefined();
        expect(await store.nextDeliveryDueAt()).toBeUndefined();
      });

      it("4.8 resolves true when it recorded the outcome, false when an earlier outcome stands", async () => {
        const { task } = await store.createTask(newTask());
        expect(await store.finishTask(task.id, completed("first"), null)).toBe(true);
        expect(await store.finishTask(task.id, completed("second"), null)).toBe(false);
      });

      it("4.9 a report stored with leaseExpiresAt is leased to its caller: not handed out until the lease ends", async () => {
        const { task } = await store.createTask(newTask({ startedAt: T0 }));
        await store.finishTask(task.id, completed(1), { ...pendingDelivery(task.id, T0 + 10), leaseExpiresAt: T0 + 10 + LEASE_MS } as NewDelivery);
        expect(await store.getTask(task.id)).toMatchObject({ webhook: { status: "pending", attempts: 0 } });
        expect(await store.leaseDueDeliveries(T0 + 20, 10, LEASE_MS)).toEqual([]);
        expect((await store.leaseDueDeliveries(T0 + 10 + LEASE_MS, 10, LEASE_MS)).map((d) => d.taskId)).toEqual([task.id]);
      });

      it("4.10 after a restart a leased report is due on its own schedule again", async () => {
        const { task } = await store.createTask(newTask({ startedAt: T0 }));
        await store.finishTask(task.id, completed(1), { ...pendingDelivery(task.id, T0 + 10), leaseExpiresAt: T0 + 10 + LEASE_MS } as NewDelivery);
        await store.recover();
        expect((await store.leaseDueDeliveries(T0 + 10, 10, LEASE_MS)).map((d) => d.taskId)).toEqual([task.id]);
      });

      it("4.7 a finished task is no longer unfinished, and is never claimed", async () => {
        const { task } = await store.createTask(newTask());
        await store.claimQueued("sum", 1, T0);
        await store.finishTask(task.id, completed(1), null);
        expect(await store.countUnfinished("sum")).toBe(0);
        await store.recover();
        expect(await store.claimQueued("sum", 10, T0)).toEqual([]);
      });
    });

    describe("5. leaseDueDeliveries and recordAttempt", () => {
      it("5.1 hands out only due reports, earliest due first, up to the limit", async () => {
        const late = await finishedWithReport(T0 + 300);
        const early = await finishedWithReport(T0 + 100);
        const middle = await finishedWithReport(T0 + 200);
        expect(await store.leaseDueDeliveries(T0 + 99, 10, LEASE_MS)).toEqual([]);
        expect((await store.leaseDueDeliveries(T0 + 250, 1, LEASE_MS)).map((d) => d.taskId)).toEqual([early]);
        expect((await store.leaseDueDeliveries(T0 + 1000, 10, LEASE_MS)).map((d) => d.taskId)).toEqual([middle, late]);
        expect(await store.leaseDueDeliveries(T0 + 1000, 0, LEASE_MS)).toEqual([]);
      });

      it("5.2 a leased report is hidden until its lease expires, then due again with its attempts unchanged", async () => {
        const id = await finishedWithReport(T0 + 10);
        expect(await store.leaseDueDeliveries(T0 + 10, 10, LEASE_MS)).toHaveLength(1);
        expect(await store.leaseDueDeliveries(T0 + 10 + LEASE_MS - 1, 10, LEASE_MS)).toEqual([]);
        const again = await store.leaseDueDeliveries(T0 + 10 + LEASE_MS, 10, LEASE_MS);
        expect(again.map((d) => [d.taskId, d.attempts])).toEqual([[id, 0]]);
      });

      it("5.3 a retry is recorded with its state and is due at its new time, not before", async () => {
        const id = await finishedWithReport(T0 + 10);
        const [delivery] = await store.leaseDueDeliveries(T0 + 10, 1, LEASE_MS);
        await store.recordAttempt(delivery!.taskId, { status: "pending", attempts: 1, nextAttemptAt: T0 + 5000, lastStatusCode: 503, lastError: "the receiver answered 503" });
        expect((await store.getTask(id))?.webhook).toEqual({ status: "pending", attempts: 1, lastStatusCode: 503, lastError: "the receiver answered 503" });
        expect(await store.leaseDueDeliveries(T0 + 4999, 10, LEASE_MS)).toEqual([]);
        const [retry] = await store.leaseDueDeliveries(T0 + 5000, 10, LEASE_MS);
        expect(retry).toMatchObject({ taskId: id, attempts: 1, nextAttemptAt: T0 + 5000, lastStatusCode: 503, lastError: "the receiver answered 503" });
      });

      it("5.4 a delivered report is final: never handed out again", async () => {
        const id = await finishedWithReport(T0 + 10);
        await store.leaseDueDeliveries(T0 + 10, 1, LEASE_MS);
        await store.recordAttempt(id, { status: "delivered", attempts: 1, lastStatusCode: 200 });
        expect((await store.getTask(id))?.webhook).toEqual({ status: "delivered", attempts: 1, lastStatusCode: 200 });
        expect(await store.leaseDueDeliveries(T0 + 1e9, 10, LEASE_MS)).toEqual([]);
      });

      it("5.5 a failed report is final too", async () => {
        const id = await finishedWithReport(T0 + 10);
        await store.leaseDueDeliveries(T0 + 10, 1, LEASE_MS);
        await store.recordAttempt(id, { status: "failed", attempts: 8, lastError: "connection refused" });
        expect((await store.getTask(id))?.webhook).toEqual({ status: "failed", attempts: 8, lastError: "connection refused" });
        expect(await store.leaseDueDeliveries(T0 + 1e9, 10, LEASE_MS)).toEqual([]);
        expect(await store.nextDeliveryDueAt()).toBeUndefined();
      });

      it("5.6 a lease started right after finishTask, without awaiting it, hands out that report", async () => {
        const { task } = await store.createTask(newTask());
        await store.claimQueued("sum", 1, T0);
        const finished = store.finishTask(task.id, completed(1), pendingDelivery(task.id, T0 + 10));
        const leased = store.leaseDueDeliveries(T0 + 10, 10, LEASE_MS);
        const [, deliveries] = await Promise.all([finished, leased]);
        expect(deliveries.map((d) => d.taskId)).toEqual([task.id]);
      });

      it("5.7 concurrent leases never hand out one report twice", async () => {
        for (let n = 0; n < 12; n++) await finishedWithReport(T0 + n);
        const leases = await Promise.all(Array.from({ length: 6 }, () => store.leaseDueDeliveries(T0 + 100, 3, LEASE_MS)));
        const ids = leases.flat().map((d) => d.taskId);
        expect(ids).toHaveLength(12);
        expect(new Set(ids).size).toBe(12);
      });
    });

    describe("6. nextDeliveryDueAt", () => {
      it("6.1 is undefined with no pending report", async () => {
        expect(await store.nextDeliveryDueAt()).toBeUndefined();
      });

      it("6.2 is the earliest scheduled time of the pending reports", async () => {
        await finishedWithReport(T0 + 700);
        await finishedWithReport(T0 + 300);
        expect(await store.nextDeliveryDueAt()).toBe(T0 + 300);
      });

      it("6.3 counts a leased report at its lease's end, and forgets it once delivered", async () => {
        const id = await finishedWithReport(T0 + 10);
        await store.leaseDueDeliveries(T0 + 20, 1, LEASE_MS);
        expect(await store.nextDeliveryDueAt()).toBe(T0 + 20 + LEASE_MS);
        await store.recordAttempt(id, { status: "delivered", attempts: 1, lastStatusCode: 204 });
        expect(await store.nextDeliveryDueAt()).toBeUndefined();
      });
    });

    describe("7. countUnfinished", () => {
      it("7.1 counts the API's queued and running tasks, not finished ones nor other APIs'", async () => {
        for (let n = 0; n < 4; n++) await store.createTask(newTask());
        await store.createTask(newTask({ api: "other" }));
        const [running] = await store.claimQueued("sum", 2, T0);
        expect(await store.countUnfinished("sum")).toBe(4);
        await store.finishTask(running!.id, completed(1), null);
        expect(await store.countUnfinished("sum")).toBe(3);
        expect(await store.countUnfinished("other")).toBe(1);
        expect(await store.countUnfinished("none")).toBe(0);
      });
    });

    describe("8. recover", () => {
      it("8.1 requeues in-progress tasks, which are then claimed again, oldest first", async () => {
        const ids: string[] = [];
        for (let n = 0; n < 4; n++) ids.push((await store.createTask(newTask())).task.id);
        await store.claimQueued("sum", 3, T0);
        await finishedWithReport(T0 + 10, { api: "other" });
        expect(await store.recover()).toEqual({ requeued: 3, queued: 4, pendingDeliveries: 1 });
        expect((await store.getTask(ids[0]!))?.status).toBe("in_queue");
        expect((await store.getTask(ids[0]!))?.startedAt).toBeUndefined();
        expect((await store.claimQueued("sum", 10, T0 + 1)).map((task) => task.id)).toEqual(ids);
      });

      it("8.2 releases leases, so a report whose attempt was lost is due on its own schedule, not the lease's", async () => {
        const id = await finishedWithReport(T0 + 10);
        await store.leaseDueDeliveries(T0 + 10, 1, LEASE_MS);
        await store.recover();
        expect(await store.nextDeliveryDueAt()).toBe(T0 + 10);
        expect((await store.leaseDueDeliveries(T0 + 11, 10, LEASE_MS)).map((d) => d.taskId)).toEqual([id]);
      });

      it("8.3 leaves scheduled retries on their schedule", async () => {
        const id = await finishedWithReport(T0 + 10);
        await store.leaseDueDeliveries(T0 + 10, 1, LEASE_MS);
        await store.recordAttempt(id, { status: "pending", attempts: 1, nextAttemptAt: T0 + 9000, lastError: "connection refused" });
        await store.recover();
        expect(await store.nextDeliveryDueAt()).toBe(T0 + 9000);
      });

      it("8.4 finds nothing to repair in an empty store", async () => {
        expect(await store.recover()).toEqual({ requeued: 0, queued: 0, pendingDeliveries: 0 });
      });
    });

    describe("9. sweepFinished", () => {
      it("9.1 deletes tasks finished before the cutoff, keeping recent, unfinished and still-reporting ones", async () => {
        const old = await store.createTask(newTask());
        await store.finishTask(old.task.id, completed(1, T0), null);
        const oldDelivered = await finishedWithReport(T0 + 1);
        await store.leaseDueDeliveries(T0 + 1, 10, LEASE_MS);
        await store.recordAttempt(oldDelivered, { status: "delivered", attempts: 1, lastStatusCode: 200 });
        const oldPending = await finishedWithReport(T0 + 2);
        const recent = await store.createTask(newTask());
        await store.finishTask(recent.task.id, completed(1, T0 + 1000), null);
        const unfinished = await store.createTask(newTask());

        expect(await store.sweepFinished(T0 + 500)).toBe(2);
        expect(await store.getTask(old.task.id)).toBeUndefined();
        expect(await store.getTask(oldDelivered)).toBeUndefined();
        expect((await store.getTask(oldPending))?.webhook?.status).toBe("pending");
        expect(await store.getTask(recent.task.id)).toBeDefined();
        expect(await store.getTask(unfinished.task.id)).toBeDefined();
        // A swept task's report went with it; the still-pending one is still sent.
        expect((await store.leaseDueDeliveries(T0 + 1e6, 10, LEASE_MS)).map((d) => d.taskId)).toEqual([oldPending]);
      });

      it("9.2 a swept idempotency key is free again", async () => {
        const first = await store.createTask(newTask({ idempotencyKey: "reuse" }));
        await store.finishTask(first.task.id, completed(1, T0), null);
        await store.sweepFinished(T0 + 1);
        const again = await store.createTask(newTask({ idempotencyKey: "reuse" }));
        expect(again.created).toBe(true);
        expect(again.task.id).not.toBe(first.task.id);
      });

      it("9.3 removes a backlog of any size, and says how many", async () => {
        const count = 1234;
        const tasks = await Promise.all(Array.from({ length: count }, () => store.createTask(newTask())));
        await Promise.all(tasks.map(({ task }) => store.finishTask(task.id, completed(1, T0), null)));
        expect(await store.sweepFinished(T0 + 1)).toBe(count);
        expect(await store.sweepFinished(T0 + 1)).toBe(0);
      });
    });

    describe("14. Modelbit fields", () => {
      it("14.1 a batch task and a modelbit format are kept; a report's headers and ignoreTimeout reach the lease", async () => {
        const { task } = await store.createTask(newTask({ format: "modelbit", batch: true, payloadJson: '[[1,{"a":1}]]' }));
        expect(await store.getTask(task.id)).toMatchObject({ format: "modelbit", batch: true });
        const [claimed] = await store.claimQueued("sum", 1, T0);
        expect(claimed).toMatchObject({ id: task.id, batch: true, format: "modelbit" });
        await store.finishTask(task.id, completed([[1, 2]]), pendingDelivery(task.id, T0 + 10, { headers: { "x-mb-batch-id": task.id }, ignoreTimeout: true }));
        const [due] = await store.leaseDueDeliveries(T0 + 10, 10, LEASE_MS);
        expect(due).toMatchObject({ taskId: task.id, headers: { "x-mb-batch-id": task.id }, ignoreTimeout: true });
        const plain = await finishedWithReport(T0 + 20);
        const [other] = await store.leaseDueDeliveries(T0 + 20, 10, LEASE_MS);
        expect(other!.taskId).toBe(plain);
        expect(other).not.toHaveProperty("headers");
        expect(other).not.toHaveProperty("ignoreTimeout");
        expect(await store.getTask(plain)).not.toHaveProperty("batch");
      });
    });

    describe("12. cancelTask", () => {
      const cancelled = (finishedAt = T0 + 5): TaskOutcome => ({ status: "cancelled", finishedAt });

      it("12.1 a queued task is cancelled with its report, says it was in_queue, and is never claimed", async () => {
        const { task } = await store.createTask(newTask());
        expect(await store.cancelTask(task.id, cancelled(), pendingDelivery(task.id))).toBe("in_queue");
        expect(await store.claimQueued("sum", 10, T0)).toEqual([]);
        expect(await store.countUnfinished("sum")).toBe(0);
        const stored = await store.getTask(task.id);
        expect(stored).toMatchObject({ status: "cancelled", outcome: { status: "cancelled", finishedAt: T0 + 5 }, webhook: { status: "pending", attempts: 0 } });
        expect((await store.leaseDueDeliveries(T0 + 10, 10, LEASE_MS)).map((d) => d.taskId)).toEqual([task.id]);
      });

      it("12.2 a running task is cancelled and says it was in_progress; its worker's later outcome is dropped", async () => {
        const { task } = await store.createTask(newTask());
        await store.claimQueued("sum", 1, T0);
        expect(await store.cancelTask(task.id, cancelled(), null)).toBe("in_progress");
        expect(await store.finishTask(task.id, completed(7), pendingDelivery(task.id))).toBe(false);
        expect((await store.getTask(task.id))?.status).toBe("cancelled");
        expect(await store.leaseDueDeliveries(T0 + 1e6, 10, LEASE_MS)).toEqual([]);
      });

      it("12.3 a finished task is left as it is and its status returned; an unknown one is undefined", async () => {
        const id = await finishedWithReport();
        expect(await store.cancelTask(id, cancelled(), null)).toBe("completed");
        expect((await store.getTask(id))?.outcome?.status).toBe("completed");
        expect(await store.cancelTask("no-such-task", cancelled(), null)).toBeUndefined();
      });
    });

    describe("13. redeliver and redeliverFailed", () => {
      async function failedReport(finishedAt = T0 + 10, api = "sum"): Promise<string> {
        const { task } = await store.createTask(newTask({ api }));
        await store.claimQueued(api, 1, T0);
        await store.finishTask(task.id, completed(1, finishedAt), pendingDelivery(task.id, finishedAt));
        await store.leaseDueDeliveries(finishedAt, 10, LEASE_MS);
        await store.recordAttempt(task.id, { status: "failed", attempts: 3, lastStatusCode: 500, lastError: "HTTP 500" });
        return task.id;
      }

      it("13.1 a failed report is pending again from now, attempts 0, the last status cleared, same body and webhook-id", async () => {
        const id = await failedReport();
        expect(await store.redeliver(id, T0 + 1000)).toBe("scheduled");
        expect((await store.getTask(id))?.webhook).toEqual({ status: "pending", attempts: 0 });
        expect(await store.leaseDueDeliveries(T0 + 999, 10, LEASE_MS)).toEqual([]);
        const [due] = await store.leaseDueDeliveries(T0 + 1000, 10, LEASE_MS);
        expect(due).toMatchObject({ taskId: id, body: `{"id":"${id}"}`, webhookId: `msg_${id}`, attempts: 0, nextAttemptAt: T0 + 1000 });
      });

      it("13.2 refuses while pending, for an unfinished task, a task without a report and an unknown id", async () => {
        const pending = await finishedWithReport();
        expect(await store.redeliver(pending, T0)).toBe("pending");
        const { task } = await store.createTask(newTask());
        expect(await store.redeliver(task.id, T0)).toBe("unfinished");
        await store.finishTask(task.id, completed(1), null);
        expect(await store.redeliver(task.id, T0)).toBe("no-report");
        expect(await store.redeliver("no-such-task", T0)).toBe("unknown");
      });

      it("13.3 redeliverFailed takes the API's failed reports of tasks finished since, oldest first, a page at a time", async () => {
        const before = await failedReport(T0 + 10);
        const first = await failedReport(T0 + 20);
        const second = await failedReport(T0 + 30);
        const third = await failedReport(T0 + 40);
        const otherApi = await failedReport(T0 + 50, "other");
        await finishedWithReport(T0 + 60); // pending: not failed
        expect(await store.redeliverFailed("sum", T0 + 20, T0 + 100, 2)).toEqual([first, second]);
        expect(await store.redeliverFailed("sum", T0 + 20, T0 + 100, 2)).toEqual([third]);
        expect(await store.redeliverFailed("sum", T0 + 20, T0 + 100, 2)).toEqual([]);
        expect((await store.getTask(before))?.webhook?.status).toBe("failed");
        expect((await store.getTask(otherApi))?.webhook?.status).toBe("failed");
        expect((await store.getTask(third))?.webhook).toEqual({ status: "pending", attempts: 0 });
      });
    });

    describe("14. per-request credentials are kept only while needed", () => {
      const auth = { kind: "basic" as const, username: "u", password: "per-request-secret" };

      it("14.1 a finished task keeps its callback URL but not its credentials; its pending report keeps them", async () => {
        const { task } = await store.createTask(newTask({ callback: { url: "https://example.com/hook", auth } }));
        await store.claimQueued("sum", 1, T0);
        await store.finishTask(task.id, completed(1), pendingDelivery(task.id, T0 + 10, { auth }));
        expect((await store.getTask(task.id))?.callback).toEqual({ url: "https://example.com/hook" });
        const [due] = await store.leaseDueDeliveries(T0 + 10, 10, LEASE_MS);
        expect(due?.auth).toEqual(auth);
      });

      it("14.2 once its report settled they are gone, and a redelivery is refused rather than sent without them", async () => {
        const { task } = await store.createTask(newTask());
        await store.finishTask(task.id, completed(1), pendingDelivery(task.id, T0 + 10, { auth }));
        await store.leaseDueDeliveries(T0 + 10, 10, LEASE_MS);
        await store.recordAttempt(task.id, { status: "failed", attempts: 1, lastStatusCode: 400 });
        expect(await store.redeliver(task.id, T0 + 20)).toBe("credentials-erased");
        expect(await store.redeliverFailed("sum", T0, T0 + 20, 10)).toEqual([]);
        expect((await store.getTask(task.id))?.webhook?.status).toBe("failed");
      });
    });

    describe("10. close", () => {
      it("10.1 every method rejects with STORAGE_ERROR once closed", async () => {
        const { task } = await store.createTask(newTask());
        await store.close();
        await expectStorageError(store.createTask(newTask()));
        await expectStorageError(store.getTask(task.id));
        await expectStorageError(store.claimQueued("sum", 1, T0));
        await expectStorageError(store.finishTask(task.id, completed(1), null));
        await expectStorageError(store.countUnfinished("sum"));
        await expectStorageError(store.recover());
        await expectStorageError(store.leaseDueDeliveries(T0, 1, LEASE_MS));
        await expectStorageError(store.recordAttempt(task.id, { status: "delivered", attempts: 1 }));
        await expectStorageError(store.nextDeliveryDueAt());
        await expectStorageError(store.sweepFinished(T0));
      });

      it("10.2 operations called before close complete", async () => {
        const task = newTask();
        const created = store.createTask(task);
        const closed = store.close();
        await expect(created).resolves.toMatchObject({ created: true });
        await closed;
        if (fixture.reopen === undefined) return;
        const reopened = fixture.reopen();
        extraStores.push(reopened);
        await reopened.open();
        expect((await reopened.getTask(task.id))?.id).toBe(task.id);
      });
    });

    describe("20. attempt history (the console's delivery timeline)", () => {
      function attempt(n: number, overrides: Partial<AttemptRecord> = {}): AttemptRecord {
        return { attempt: n, startedAt: T0 + n * 1000, durationMs: 12, origin: "http://127.0.0.1:9000", outcome: "retryable", statusCode: 503, error: "the receiver answered 503", nextAttemptAt: T0 + n * 1000 + 500, ...overrides };
      }

      it("20.1 every recorded attempt is kept with its fields, oldest first, alongside the delivery's state", async () => {
        const id = await finishedWithReport(T0 + 10);
        await store.leaseDueDeliveries(T0 + 10, 1, LEASE_MS);
        await store.recordAttempt(id, { status: "pending", attempts: 1, nextAttemptAt: T0 + 1500, lastStatusCode: 503, lastError: "the receiver answered 503" }, attempt(1));
        await store.leaseDueDeliveries(T0 + 1500, 1, LEASE_MS);
        await store.recordAttempt(id, { status: "pending", attempts: 2, nextAttemptAt: T0 + 2500, lastError: "connection refused" }, attempt(2, { statusCode: undefined, outcome: "retryable", error: "connection refused" }));
        await store.leaseDueDeliveries(T0 + 2500, 1, LEASE_MS);
        const delivered = attempt(3, { outcome: "delivered", statusCode: 200, error: undefined, nextAttemptAt: undefined });
        await store.recordAttempt(id, { status: "delivered", attempts: 3, lastStatusCode: 200 }, delivered);

        const history = await store.listAttempts(id);
        expect(history).toEqual([
          attempt(1),
          { attempt: 2, startedAt: T0 + 2000, durationMs: 12, origin: "http://127.0.0.1:9000", outcome: "retryable", error: "connection refused", nextAttemptAt: T0 + 2500 },
          { attempt: 3, startedAt: T0 + 3000, durationMs: 12, origin: "http://127.0.0.1:9000", outcome: "delivered", statusCode: 200 },
        ]);
        expect((await store.getTask(id))?.webhook).toEqual({ status: "delivered", attempts: 3, lastStatusCode: 200 });
      });

      it("20.2 a task without attempts, or an unknown task, has an empty history; an update without an attempt adds none", async () => {
        const id = await finishedWithReport(T0 + 10);
        expect(await store.listAttempts(id)).toEqual([]);
        expect(await store.listAttempts("no-such-task")).toEqual([]);
        await store.recordAttempt(id, { status: "pending", attempts: 0, nextAttemptAt: T0 + 99 });
        expect(await store.listAttempts(id)).toEqual([]);
      });

      it("20.3 an attempt and its delivery's state are one write: recorded together, and none for an unknown task", async () => {
        const id = await finishedWithReport(T0 + 10);
        // Not awaited one by one: both land in the same order they were called, the read sees both.
        const recorded = store.recordAttempt(id, { status: "failed", attempts: 1, lastStatusCode: 400, lastError: "rejected" }, attempt(1, { outcome: "rejected", statusCode: 400, error: "rejected", nextAttemptAt: undefined }));
        const read = store.getTask(id);
        const history = store.listAttempts(id);
        await recorded;
        expect((await read)?.webhook?.status).toBe("failed");
        expect(await history).toHaveLength(1);
        await store.recordAttempt("no-such-task", { status: "delivered", attempts: 1 }, attempt(1));
        expect(await store.listAttempts("no-such-task")).toEqual([]);
      });

      it("20.4 the 7-day sweep removes a task's attempts with it", async () => {
        const id = await finishedWithReport(T0 + 1);
        await store.leaseDueDeliveries(T0 + 1, 1, LEASE_MS);
        await store.recordAttempt(id, { status: "delivered", attempts: 1, lastStatusCode: 200 }, attempt(1, { outcome: "delivered", statusCode: 200, error: undefined, nextAttemptAt: undefined }));
        expect(await store.listAttempts(id)).toHaveLength(1);
        expect(await store.sweepFinished(T0 + 1000)).toBe(1);
        expect(await store.listAttempts(id)).toEqual([]);
        // A new task reusing nothing of the old one starts with an empty history.
        const next = await finishedWithReport(T0 + 2000);
        expect(await store.listAttempts(next)).toEqual([]);
      });
    });

    describe("21. listTasks and countTasks (the console's views)", () => {
      it("21.1 lists newest first with each task's webhook state, and filters by API, status, webhook status and id prefix", async () => {
        const delivered = await finishedWithReport(T0 + 10, { id: "aab-2" });
        await store.leaseDueDeliveries(T0 + 10, 10, LEASE_MS);
        await store.recordAttempt(delivered, { status: "delivered", attempts: 1, lastStatusCode: 200 });
        const pending = await finishedWithReport(T0 + 1e9, { id: "bbb-3" });
        const queued = (await store.createTask(newTask({ id: "aaa-1" }))).task.id;
        const other = (await store.createTask(newTask({ id: "ccc-4", api: "other" }))).task.id;

        const all = await store.listTasks({});
        expect(all.map((task) => task.id)).toEqual([other, queued, pending, delivered]);
        expect(all[3]).toEqual({ id: delivered, api: "sum", status: "completed", createdAt: T0, finishedAt: T0 + 10, webhookStatus: "delivered", webhookAttempts: 1 });
        expect(all[1]).toEqual({ id: queued, api: "sum", status: "in_queue", createdAt: T0 });
        expect((await store.listTasks({ api: "sum" })).map((task) => task.id)).toEqual([queued, pending, delivered]);
        expect((await store.listTasks({ status: "in_queue" })).map((task) => task.id)).toEqual([other, queued]);
        expect((await store.listTasks({ webhookStatus: "pending" })).map((task) => task.id)).toEqual([pending]);
        expect((await store.listTasks({ idPrefix: "aa" })).map((task) => task.id)).toEqual([queued, delivered]);
        expect(await store.listTasks({ idPrefix: "%" })).toEqual([]);
        expect((await store.listTasks({ limit: 2 })).map((task) => task.id)).toEqual([other, queued]);
        expect((await store.listTasks({ before: pending, limit: 1 })).map((task) => task.id)).toEqual([delivered]);
      });

      it("21.2 counts an API's tasks by status and its reports by webhook status, not other APIs'", async () => {
        const delivered = await finishedWithReport(T0 + 10);
        await store.leaseDueDeliveries(T0 + 10, 10, LEASE_MS);
        await store.recordAttempt(delivered, { status: "delivered", attempts: 1, lastStatusCode: 200 });
        await finishedWithReport(T0 + 1e9);
        await store.createTask(newTask());
        await store.createTask(newTask());
        const failed = (await store.createTask(newTask())).task.id;
        await store.finishTask(failed, { status: "failed", error: "boom", finishedAt: T0 + 5 }, null);
        await store.createTask(newTask({ api: "other" }));
        expect(await store.countTasks("sum")).toEqual({
          tasks: { in_queue: 2, in_progress: 0, completed: 2, failed: 1, cancelled: 0 },
          reports: { pending: 1, delivered: 1, failed: 0 },
        });
        expect((await store.countTasks("nobody")).tasks.in_queue).toBe(0);
      });

      it("21.3 activity counts finished tasks per slice and the submit-to-report latency of delivered ones", async () => {
        const id = await finishedWithReport(T0 + 10);
        await store.leaseDueDeliveries(T0 + 10, 1, LEASE_MS);
        await store.recordAttempt(id, { status: "delivered", attempts: 1, lastStatusCode: 200 }, { attempt: 1, startedAt: T0 + 100, durationMs: 50, origin: "http://127.0.0.1:9000", outcome: "delivered", statusCode: 200 });
        const late = (await store.createTask(newTask())).task.id;
        await store.finishTask(late, completed(1, T0 + 61_000), null);
        const buckets = await store.activity("sum", T0, T0 + 120_000, 60_000);
        expect(buckets).toEqual([
          { start: T0, finished: 1, delivered: 1, p50LatencyMs: 150, p99LatencyMs: 150 },
          { start: T0 + 60_000, finished: 1, delivered: 0 },
        ]);
      });
    });

    describe("11. durability across a restart (engines that persist)", () => {
      it("11.1 tasks, outcomes, reports and idempotency keys survive close and reopen", async ({ skip }) => {
        if (fixture.reopen === undefined) skip("this engine keeps nothing across a restart");
        const queued = await store.createTask(newTask({ idempotencyKey: "kept" }));
        const running = await store.createTask(newTask());
        await store.claimQueued("sum", 2, T0);
        const reported = await finishedWithReport(T0 + 10);
        await store.close();

        const reopened = fixture.reopen!();
        extraStores.push(reopened);
        await reopened.open();
        expect(await reopened.recover()).toEqual({ requeued: 2, queued: 2, pendingDeliveries: 1 });
        expect((await reopened.createTask(newTask({ idempotencyKey: "kept" }))).task.id).toBe(queued.task.id);
        expect((await reopened.claimQueued("sum", 10, T0)).map((task) => task.id)).toEqual([queued.task.id, running.task.id]);
        expect((await reopened.leaseDueDeliveries(T0 + 10, 10, LEASE_MS)).map((d) => d.taskId)).toEqual([reported]);
      });
    });
  });
}
