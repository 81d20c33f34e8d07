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

// The contract runs in the main thread: the engine (SqliteEngine) is the same code in either thread, and a worker
// thread costs seconds to start (it loads TypeScript), once per contract test. What only the worker thread does
// (carrying each kind of operation and its answer across threads, close, crash, stall) is checked below, in
// "SqliteTaskStore in a worker thread", and in test/runtime/store-failure.test.ts and test/hardening/store-deadline.test.ts.
describeTaskStoreContract("SqliteTaskStore on a file, synchronous=NORMAL with interval sync (serve's default)", onFile({ synchronous: "normal", thread: "main" }));
describeTaskStoreContract("SqliteTaskStore on a file, synchronous=FULL (serve --fsync commit)", onFile({ synchronous: "full", thread: "main" }));
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

describe("SqliteTaskStore in a worker thread", () => {
  const T0 = 1_700_000_000_000;
  const LEASE_MS = 60_000;

  /**
   * Calls every operation kind the store sends its engine (StoreOperation in store-operations.ts), with fields of
   * every shape (absent, null, nested JSON, credentials, headers) and with operations that fail, closes and reopens the
   * store on the same data dir, and returns what each call answered, in order. Ids and times are fixed, so two
   * stores that behave alike answer alike.
   */
  async function everyOperation(open: () => Promise<SqliteTaskStore>): Promise<unknown[]> {
    const answers: unknown[] = [];
    const note = async (what: string, call: () => Promise<unknown>): Promise<void> => {
      try {
        answers.push([what, await call()]);
      } catch (error) {
        answers.push([what, "rejected", (error as RuntimeError).code, (error as Error).message]);
      }
    };
    let store = await open();
    const auth = { kind: "basic" as const, username: "u", password: "p" };
    const report = (id: string, at: number): NewDelivery => ({
      status: "pending",
      url: "https://example.com/hook?token=abc",
      auth,
      body: `{"id":"${id}","result":{"nested":[1,"two",null]}}`,
      webhookId: `msg_${id}`,
      headers: { "x-mb-batch-id": "b-1" },
      ignoreTimeout: true,
      nextAttemptAt: at,
    });
    await note("create a", () => store.createTask(newTask({ id: "a", format: "launch", idempotencyKey: "key-a", payloadJson: '{ "n": [1, {"x": null}] }', callback: { url: "https://example.com/hook?token=abc", auth } })));
    await note("create b (a batch)", () => store.createTask(newTask({ id: "b", batch: true, payloadJson: '[["1", {"x": 1}]]', createdAt: T0 + 1 })));
    await note("create c (already claimed)", () => store.createTask(newTask({ id: "c", startedAt: T0 + 2, createdAt: T0 + 2 })));
    await note("create d", () => store.createTask(newTask({ id: "d", createdAt: T0 + 3 })));
    await note("create e (other api)", () => store.createTask(newTask({ id: "e", api: "other", createdAt: T0 + 4 })));
    await note("repeat a's key", () => store.createTask(newTask({ id: "a2", format: "launch", idempotencyKey: "key-a" })));
    await note("repeat a's id (fails)", () => store.createTask(newTask({ id: "a" })));
    await note("get a", () => store.getTask("a"));
    await note("get unknown", () => store.getTask("nope"));
    await note("statuses", () => store.taskStatuses(["a", "nope", "c"]));
    await note("get by key", () => store.getTaskByIdempotencyKey("sum", "key-a"));
    await note("get by unknown key", () => store.getTaskByIdempotencyKey("sum", "nope"));
    await note("count unfinished", () => store.countUnfinished("sum"));
    await note("claim 2", () => store.claimQueued("sum", 2, T0 + 10));
    await note("finish a with a report", () => store.finishTask("a", { status: "completed", resultJson: '{"nested":[1,"two",null]}', finishedAt: T0 + 20 }, report("a", T0 + 30)));
    await note("finish b failed, report skipped", () => store.finishTask("b", { status: "failed", error: "boom", traceback: "at predict\n  line 2", finishedAt: T0 + 21 }, { status: "skipped", reason: "no default_callback_url" }));
    await note("finish c with a leased report", () => store.finishTask("c", { status: "completed", resultJson: "1", finishedAt: T0 + 22 }, { ...report("c", T0 + 22), leaseExpiresAt: T0 + 22 + LEASE_MS } as NewDelivery));
    await note("finish d with a broken report (fails)", () => store.finishTask("d", { status: "completed", resultJson: "1", finishedAt: T0 + 23 }, { status: "pending", url: null, body: "{}", webhookId: "w", nextAttemptAt: 1 } as unknown as NewDelivery));
    await note("finish unknown", () => store.finishTask("nope", { status: "completed", resultJson: "1", finishedAt: T0 + 23 }, null));
    await note("cancel d", () => store.cancelTask("d", { status: "cancelled", finishedAt: T0 + 24 }, report("d", T0 + 24)));
    await note("cancel a (finished)", () => store.cancelTask("a", { status: "cancelled", finishedAt: T0 + 25 }, null));
    await note("cancel unknown", () => store.cancelTask("nope", { status: "cancelled", finishedAt: T0 + 25 }, null));
    await note("next due", () => store.nextDeliveryDueAt());
    await note("lease due", () => store.leaseDueDeliveries(T0 + 30, 10, LEASE_MS));
    await note("record a retryable attempt", () =>
      store.recordAttempt("a", { status: "pending", attempts: 1, nextAttemptAt: T0 + 100, lastStatusCode: 503, lastError: "HTTP 503" }, { attempt: 1, startedAt: T0 + 31, durationMs: 5, origin: "https://example.com", outcome: "retryable", statusCode: 503, error: "HTTP 503", nextAttemptAt: T0 + 100 }),
    );
    await note("record a failed attempt", () =>
      store.recordAttempt("d", { status: "failed", attempts: 1, lastStatusCode: 400, lastError: "HTTP 400" }, { attempt: 1, startedAt: T0 + 32, durationMs: 7, origin: "https://example.com", outcome: "rejected", statusCode: 400, error: "HTTP 400" }),
    );
    await note("record without an attempt", () => store.recordAttempt("c", { status: "delivered", attempts: 1, lastStatusCode: 200 }));
    await note("attempts of a", () => store.listAttempts("a"));
    await note("attempts of unknown", () => store.listAttempts("nope"));
    await note("redeliver d (failed)", () => store.redeliver("d", T0 + 40));
    await note("redeliver e (unfinished)", () => store.redeliver("e", T0 + 40));
    await note("redeliver unknown", () => store.redeliver("nope", T0 + 40));
    await note("record d failed again", () => store.recordAttempt("d", { status: "failed", attempts: 1, lastStatusCode: 400, lastError: "HTTP 400" }));
    await note("redeliver failed", () => store.redeliverFailed("sum", T0, T0 + 41, 10));
    await note("list all", () => store.listTasks({}));
    await note("list a page", () => store.listTasks({ api: "sum", status: "completed", webhookStatus: "delivered", idPrefix: "c", limit: 1 }));
    await note("list before", () => store.listTasks({ before: "d", limit: 2 }));
    await note("counts", () => store.countTasks("sum"));
    await note("activity", () => store.activity("sum", T0, T0 + 100, 10));
    await store.close();

    store = await open();
    await note("create f before recover", () => store.createTask(newTask({ id: "f", createdAt: T0 + 50 })));
    await note("claim f", () => store.claimQueued("sum", 5, T0 + 51));
    await store.close();
    store = await open();
    await note("recover after restart", () => store.recover());
    await note("get f after restart", () => store.getTask("f"));
    await note("sweep", () => store.sweepFinished(T0 + 1_000));
    await note("list after sweep", () => store.listTasks({}));
    await store.close();
    return answers;
  }

  function opener(thread: "worker" | "main"): { open: () => Promise<SqliteTaskStore>; cleanup: () => void } {
    const dataDir = tempDataDir();
    return {
      open: async () => {
        const store = new SqliteTaskStore({ dataDir, thread, synchronous: "normal", sweepChunkRows: 2 });
        await store.open();
        return store;
      },
      cleanup: () => rmSync(join(dataDir, ".."), { recursive: true, force: true }),
    };
  }

  it("answers every kind of operation exactly as the same engine in the main thread does, across a restart", async () => {
    const worker = opener("worker");
    const main = opener("main");
    try {
      const inMain = await everyOperation(main.open);
      // The script reached every kind of answer: a rejection, a record with every field, and what the restart found.
      expect(inMain).toContainEqual(["repeat a's id (fails)", "rejected", ErrorCode.storage, expect.any(String)]);
      expect(inMain).toContainEqual(["recover after restart", { requeued: 1, queued: 2, pendingDeliveries: 1 }]);
      expect(inMain).toContainEqual(["get a", expect.objectContaining({ id: "a", format: "launch", idempotencyKey: "key-a", callback: expect.objectContaining({ auth: expect.anything() }) })]);
      expect(await everyOperation(worker.open)).toEqual(inMain);
    } finally {
      worker.cleanup();
      main.cleanup();
    }
  });
});
