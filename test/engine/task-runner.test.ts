import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { EventLoopHost } from "../../runtime/hosts/event-loop-host.js";
import type { Predictor } from "../../runtime/predictor/predictor.js";
import { SqliteTaskStore } from "../../runtime/store/sqlite-task-store.js";
import type { TaskOutcome, TaskRecord } from "../../runtime/tasks/task.js";
import { TaskRunner } from "../../runtime/engine/task-runner.js";
import { newTask } from "../store/task-store-contract.js";
import { waitUntil } from "../helpers/wait-until.js";

const silent = pino({ level: "silent" });

describe("TaskRunner", () => {
  const stores: SqliteTaskStore[] = [];
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
  });

  async function setup(concurrency: number, predictor: Predictor = { predict: (payload) => payload }) {
    const store = new SqliteTaskStore({ dataDir: ":memory:", thread: "main" });
    await store.open();
    stores.push(store);
    const finished: Array<{ task: TaskRecord; outcome: TaskOutcome }> = [];
    const host = new EventLoopHost({ predictor, concurrency });
    const worker = new TaskRunner({
      api: "sum",
      worker: { concurrency, predict: (task, signal) => host.predict(task.payloadJson, task.id, signal) },
      store,
      log: silent,
      finish: async (task, outcome) => {
        await store.finishTask(task.id, outcome, null);
        finished.push({ task, outcome });
      },
    });
    return { store, worker, finished };
  }

  it("promises no slot before it has looked at the queue, since an earlier process may have left tasks", async () => {
    const { worker } = await setup(2);
    expect(worker.reserveSlot()).toBe(false);
    worker.start();
    await waitUntil("the first claim found the queue empty", () => worker.reserveSlot());
  });

  it("promises no slot while tasks wait in the queue, so a new task cannot start ahead of them", async () => {
    const { worker } = await setup(2);
    worker.start();
    await waitUntil("the queue is known to be empty", () => worker.reserveSlot());
    worker.cancelReservation();
    // A task was queued: until a claim has taken it, new tasks must queue behind it.
    worker.notifyQueued();
    expect(worker.reserveSlot()).toBe(false);
  });

  it("promises at most threads_per_process slots, counting running predictions", async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { store, worker, finished } = await setup(2, { predict: async () => gate });
    worker.start();
    await waitUntil("ready for reservations", () => worker.reserveSlot());
    const { task } = await store.createTask(newTask({ startedAt: 1 }));
    worker.runReserved(task);
    expect(worker.running).toBe(1);
    expect(worker.reserveSlot()).toBe(true);
    expect(worker.reserveSlot()).toBe(false);
    worker.cancelReservation();
    release();
    await waitUntil("the reserved task finished", () => finished.length === 1);
    expect(finished[0]!.task.id).toBe(task.id);
  });

  it("runs a reserved task from memory and claims queued ones in order", async () => {
    const order: unknown[] = [];
    const { store, worker, finished } = await setup(1, { predict: (payload) => order.push(payload) });
    for (let n = 0; n < 3; n++) await store.createTask(newTask({ payloadJson: String(n) }));
    worker.start();
    await waitUntil("the queue drained", () => finished.length === 3);
    expect(order).toEqual([0, 1, 2]);
    await waitUntil("the empty queue is noticed", () => worker.reserveSlot());
    const { task } = await store.createTask(newTask({ payloadJson: '"reserved"', startedAt: 2 }));
    worker.runReserved(task);
    await waitUntil("the reserved task ran", () => finished.length === 4);
    expect(order).toEqual([0, 1, 2, "reserved"]);
    expect((await store.getTask(task.id))?.status).toBe("completed");
  });
});
