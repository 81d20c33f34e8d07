import Database from "better-sqlite3";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ErrorCode, RuntimeError } from "../../runtime/errors.js";
import { SCHEMA_VERSION } from "../../runtime/store/sqlite-schema.js";
import { SqliteTaskStore, type SqliteTaskStoreOptions } from "../../runtime/store/sqlite-task-store.js";
import type { NewDelivery } from "../../runtime/tasks/delivery.js";
import { waitUntil } from "../helpers/wait-until.js";
import { describeTaskStoreContract, newTask } from "./task-store-contract.js";

function tempDataDir(): string {
  return join(mkdtempSync(join(tmpdir(), "sqlite-task-store-")), "data");
}

/** The contract on a real file in a temp dir, with `options` (each test gets its own dir). */
function onFile(options: Omit<SqliteTaskStoreOptions, "dataDir">) {
  return () => {
    const dataDir = tempDataDir();
    return {
      store: new SqliteTaskStore({ ...options, dataDir }),
      reopen: () => new SqliteTaskStore({ ...options, dataDir }),
      cleanup: () => rmSync(join(dataDir, ".."), { recursive: true, force: true }),
    };
  };
}

describeTaskStoreContract("SqliteTaskStore on a file, worker thread, synchronous=NORMAL with interval sync (serve's default)", onFile({ synchronous: "normal" }));
describeTaskStoreContract("SqliteTaskStore on a file, worker thread, synchronous=FULL (serve --fsync commit)", onFile({ synchronous: "full" }));
describeTaskStoreContract("SqliteTaskStore in :memory:, main thread", () => ({ store: new SqliteTaskStore({ dataDir: ":memory:", thread: "main" }) }));

describe("SqliteTaskStore engine", () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** An open store on a temp dir (or `options.dataDir`), in the main thread unless `options.thread` says otherwise. */
  async function openStore(options: Partial<SqliteTaskStoreOptions> = {}): Promise<SqliteTaskStore> {
    const dataDir = options.dataDir ?? tempDataDir();
    if (options.dataDir === undefined) cleanups.push(() => rmSync(join(dataDir, ".."), { recursive: true, force: true }));
    const store = new SqliteTaskStore({ thread: "main", ...options, dataDir });
    await store.open();
    cleanups.push(() => store.close());
    return store;
  }

  it("in a worker thread, commits what was called before close and then lets the process exit", async () => {
    const store = await openStore({ thread: "worker" });
    const pending = Array.from({ length: 20 }, () => store.createTask(newTask()));
    await store.close();
    expect((await Promise.all(pending)).every((result) => result.created)).toBe(true);
    const reopened = await openStore({ dataDir: join(store.location, ".."), thread: "worker" });
    expect(await reopened.countUnfinished("sum")).toBe(20);
  });

  it("close() during open() leaves nothing running and the data dir free", async () => {
    const dataDir = tempDataDir();
    cleanups.push(() => rmSync(join(dataDir, ".."), { recursive: true, force: true }));
    const store = new SqliteTaskStore({ dataDir, thread: "worker" });
    const opening = store.open();
    await store.close();
    await expect(opening).rejects.toMatchObject({ code: ErrorCode.storage });
    await expect(store.getTask("x")).rejects.toMatchObject({ code: ErrorCode.storage });
    const again = await openStore({ dataDir });
    expect(await again.countUnfinished("sum")).toBe(0);
  });

  it("while a batch commits, the operations called meanwhile form the next batch", async () => {
    const store = await openStore({ thread: "worker" });
    const before = store.commitStats.batches;
    const first = store.createTask(newTask());
    // Called in later turns, while the first batch is (or may be) in the worker: at most one more batch each turn.
    await new Promise((resolve) => setImmediate(resolve));
    const rest = Array.from({ length: 30 }, () => store.createTask(newTask()));
    await Promise.all([first, ...rest]);
    expect(store.commitStats.batches - before).toBeLessThanOrEqual(2);
    expect(store.commitStats.operations).toBeGreaterThanOrEqual(31);
  });

  it("commits the writes of one event-loop turn in one transaction", async () => {
    const store = await openStore();
    const before = store.commitStats;
    await Promise.all(Array.from({ length: 50 }, () => store.createTask(newTask())));
    const after = store.commitStats;
    expect(after.batches - before.batches).toBe(1);
    expect(after.operations - before.operations).toBe(50);
  });

  it("splits a burst larger than maxBatchOperations into several transactions", async () => {
    const store = await openStore({ maxBatchOperations: 16 });
    const before = store.commitStats;
    await Promise.all(Array.from({ length: 40 }, () => store.createTask(newTask())));
    expect(store.commitStats.batches - before.batches).toBe(3);
    expect(await store.countUnfinished("sum")).toBe(40);
  });

  it("rejects only the failing operation of a batch; the rest commit", async () => {
    const store = await openStore();
    const clash = newTask();
    const results = await Promise.allSettled([store.createTask(newTask()), store.createTask(clash), store.createTask({ ...newTask(), id: clash.id }), store.createTask(newTask())]);
    expect(results.map((result) => result.status)).toEqual(["fulfilled", "fulfilled", "rejected", "fulfilled"]);
    const reason = (results[2] as PromiseRejectedResult).reason as RuntimeError;
    expect(reason).toBeInstanceOf(RuntimeError);
    expect(reason.code).toBe(ErrorCode.storage);
    expect(await store.countUnfinished("sum")).toBe(3);
  });

  it("finishTask is atomic: when its report cannot be written, its outcome is not written either", async () => {
    const store = await openStore();
    const { task } = await store.createTask(newTask());
    await store.claimQueued("sum", 1, 1);
    // url is NOT NULL: the report insert fails after the task row was already updated in the same transaction.
    const broken = { status: "pending", url: null, body: "{}", webhookId: "w", nextAttemptAt: 1 } as unknown as NewDelivery;
    const [finished, neighbour] = await Promise.allSettled([
      store.finishTask(task.id, { status: "completed", resultJson: "1", finishedAt: 2 }, broken),
      store.createTask(newTask()),
    ]);
    expect(finished.status).toBe("rejected");
    expect(neighbour.status).toBe("fulfilled");
    const stored = await store.getTask(task.id);
    expect(stored?.status).toBe("in_progress");
    expect(stored?.outcome).toBeUndefined();
    expect(await store.countUnfinished("sum")).toBe(2);
  });

  it("refuses a second store on a data dir that is in use, naming the problem (across threads too)", async () => {
    const first = await openStore();
    const dataDir = join(first.location, "..");
    const second = new SqliteTaskStore({ dataDir, thread: "worker" });
    const error = (await second.open().then(
      () => undefined,
      (reason: unknown) => reason,
    )) as RuntimeError;
    expect(error).toBeInstanceOf(RuntimeError);
    expect(error.code).toBe(ErrorCode.storage);
    expect(error.message).toContain("in use by another predictor-runtime process");
    await first.close();
    // Once the owner closed, the data dir opens again.
    const third = await openStore({ dataDir });
    expect(await third.recover()).toEqual({ requeued: 0, queued: 0, pendingDeliveries: 0 });
  });

  it("creates the database readable by its owner only, in a folder only the owner can enter", async () => {
    const store = await openStore();
    expect(statSync(store.location).mode & 0o777).toBe(0o600);
    expect(statSync(join(store.location, "..")).mode & 0o777).toBe(0o700);
  });

  it("upgrades a version 1 database in place, keeping its tasks", async () => {
    const dataDir = tempDataDir();
    cleanups.push(() => rmSync(join(dataDir, ".."), { recursive: true, force: true }));
    const v1 = new SqliteTaskStore({ dataDir, thread: "main" });
    await v1.open();
    const { task } = await v1.createTask(newTask({ idempotencyKey: "old" }));
    await v1.close();
    // Turn it back into what the first release wrote: no lease column, the old due index, none of version 3's
    // columns, version 1.
    const db = new Database(join(dataDir, "runtime.sqlite"));
    db.exec(`
      DROP TABLE attempts;
      ALTER TABLE tasks DROP COLUMN batch; ALTER TABLE deliveries DROP COLUMN headers; ALTER TABLE deliveries DROP COLUMN ignore_timeout;
      DROP INDEX deliveries_due; DROP INDEX tasks_running;
      ALTER TABLE deliveries DROP COLUMN lease_expires_at;
      CREATE INDEX deliveries_due ON deliveries(next_attempt_at) WHERE status = 'pending';
      UPDATE meta SET value = '1' WHERE key = 'schema_version';`);
    db.close();

    const upgraded = await openStore({ dataDir });
    expect((await upgraded.createTask(newTask({ idempotencyKey: "old" }))).task.id).toBe(task.id);
    await upgraded.close();
    const check = new Database(join(dataDir, "runtime.sqlite"), { readonly: true });
    expect(check.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get()).toEqual({ value: String(SCHEMA_VERSION) });
    expect(check.prepare("SELECT count(*) AS n FROM pragma_table_info('deliveries') WHERE name = 'lease_expires_at'").get()).toEqual({ n: 1 });
    expect(check.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'attempts'").get()).toEqual({ n: 1 });
    expect(check.prepare("SELECT count(*) AS n FROM pragma_table_info('deliveries') WHERE name IN ('headers', 'ignore_timeout')").get()).toEqual({ n: 2 });
    expect(check.prepare("SELECT count(*) AS n FROM pragma_table_info('tasks') WHERE name = 'batch'").get()).toEqual({ n: 1 });
    check.close();
  });

  it("refuses a database written by a newer runtime", async () => {
    const dataDir = tempDataDir();
    cleanups.push(() => rmSync(join(dataDir, ".."), { recursive: true, force: true }));
    const store = new SqliteTaskStore({ dataDir, thread: "main" });
    await store.open();
    await store.close();
    const db = new Database(join(dataDir, "runtime.sqlite"));
    db.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(String(SCHEMA_VERSION + 1));
    db.close();
    await expect(new SqliteTaskStore({ dataDir, thread: "worker" }).open()).rejects.toMatchObject({
      code: ErrorCode.storage,
      message: expect.stringContaining(`schema version ${SCHEMA_VERSION + 1}`),
    });
  });

  it("with synchronous=NORMAL, checkpoints (and so fsyncs) committed writes within about a second", async () => {
    const dataDir = tempDataDir();
    cleanups.push(() => rmSync(join(dataDir, ".."), { recursive: true, force: true }));
    const store = await openStore({ dataDir, synchronous: "normal" });
    const database = join(dataDir, "runtime.sqlite");
    const sizeBefore = statSync(database).size;
    // Far below the 1,000 pages at which SQLite would checkpoint by itself: only the interval sync moves them.
    for (let n = 0; n < 20; n++) await store.createTask(newTask({ payloadJson: JSON.stringify({ filler: "x".repeat(2000) }) }));
    expect(statSync(database).size).toBe(sizeBefore);
    await waitUntil("the WAL was checkpointed into the database file", () => statSync(database).size > sizeBefore, 5000);
  });

  it("sweeps a backlog in bounded chunks, letting other work run between them", async () => {
    const store = await openStore({ sweepChunkRows: 10 });
    const tasks = await Promise.all(Array.from({ length: 35 }, () => store.createTask(newTask())));
    await Promise.all(tasks.map(({ task }) => store.finishTask(task.id, { status: "completed", resultJson: "1", finishedAt: 1 }, null)));
    const before = store.commitStats.batches;
    // Another piece of work that needs one event-loop turn per step: it advances only if the sweep yields.
    let turns = 0;
    let sweeping = true;
    const everyTurn = (): void => {
      turns++;
      if (sweeping) setImmediate(everyTurn);
    };
    setImmediate(everyTurn);
    const removed = await store.sweepFinished(2);
    sweeping = false;
    expect(removed).toBe(35);
    expect(store.commitStats.batches - before).toBe(4);
    expect(turns).toBeGreaterThanOrEqual(3);
  });
});
