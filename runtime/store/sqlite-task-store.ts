import Database from "better-sqlite3";
import { chmodSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { ErrorCode, RuntimeError } from "../errors.js";
import type { DeliveryRecord, DeliveryUpdate, NewDelivery } from "../tasks/delivery.js";
import type { NewTask, TaskOutcome, TaskRecord } from "../tasks/task.js";
import { GroupCommit, storageError, type GroupCommitStats } from "./group-commit.js";
import { migrate } from "./sqlite-schema.js";
import { SqliteTaskTables } from "./sqlite-task-tables.js";
import type { CreateTaskResult, RecoverySummary, TaskStore } from "./task-store.js";

/**
 * When a commit reaches the disk (SQLite's `synchronous` in WAL mode). Either way a commit survives the process
 * being killed: it is in the kernel's page cache before the promise resolves.
 * - `normal`: the WAL is fsynced only at checkpoints; a power cut or kernel crash can lose the commits made since
 *   the last checkpoint (the database stays consistent).
 * - `full`: every commit (every group-commit batch) is fsynced before its promise resolves; a power cut loses
 *   nothing that was acknowledged.
 */
export type SqliteSynchronous = "normal" | "full";

/** Options of {@link SqliteTaskStore}. */
export interface SqliteTaskStoreOptions {
  /** Folder holding `runtime.sqlite`; created (mode 0700) when missing. `":memory:"` keeps everything in RAM (tests). */
  dataDir: string;
  /** @defaultValue "normal" (see {@link SqliteSynchronous}) */
  synchronous?: SqliteSynchronous;
  /** Most operations per group-commit transaction. @defaultValue 512 */
  maxBatchOperations?: number;
  /** Rows deleted per sweep transaction; a sweep of a large backlog yields to the event loop between chunks. @defaultValue 500 */
  sweepChunkRows?: number;
}

const DATABASE_FILE = "runtime.sqlite";
const DEFAULT_SWEEP_CHUNK_ROWS = 500;
/** How long opening waits for a lock before concluding another process owns the data dir. */
const OPEN_LOCK_TIMEOUT_MS = 1000;

/** The open connection and everything bound to it. */
interface OpenDatabase {
  db: Database.Database;
  tables: SqliteTaskTables;
  commits: GroupCommit;
}

/**
 * The embedded engine: one SQLite file in WAL mode, written through a group commit (see {@link GroupCommit}), so
 * every write of an event-loop turn shares one transaction and each promise resolves once its write committed.
 *
 * The connection holds SQLite's exclusive lock for its whole life: one process owns a data dir at a time, which is
 * what lets `recover()` treat every in-progress task and every delivery lease as abandoned by a stopped process.
 * Per-request callback credentials are stored with their task (a retry after a restart needs them), so the file is
 * created readable by its owner only.
 */
export class SqliteTaskStore implements TaskStore {
  readonly #options: SqliteTaskStoreOptions;
  #open: OpenDatabase | undefined;
  #closed = false;

  constructor(options: SqliteTaskStoreOptions) {
    this.#options = options;
  }

  /** Path of the database file, or `:memory:`. */
  get location(): string {
    return this.#options.dataDir === ":memory:" ? ":memory:" : join(this.#options.dataDir, DATABASE_FILE);
  }

  /** How well writes were grouped so far (zeros before open). */
  get commitStats(): GroupCommitStats {
    return this.#open?.commits.stats ?? { batches: 0, operations: 0 };
  }

  async open(): Promise<void> {
    if (this.#open !== undefined || this.#closed) throw new RuntimeError(ErrorCode.storage, "the task store was opened already; open() is called once");
    const location = this.location;
    if (location !== ":memory:") mkdirSync(this.#options.dataDir, { recursive: true, mode: 0o700 });
    const isNew = location === ":memory:" || !existsSync(location);
    let db: Database.Database;
    try {
      db = new Database(location, { timeout: OPEN_LOCK_TIMEOUT_MS });
    } catch (error) {
      throw storageError(`cannot open the task database at ${location}`, error);
    }
    try {
      if (isNew && location !== ":memory:") chmodSync(location, 0o600);
      // Set before WAL is entered, so the WAL index lives in process memory (no -shm file) and the lock is held
      // from the first read to close: a second runtime on the same data dir fails here instead of corrupting it.
      db.pragma("locking_mode = EXCLUSIVE");
      db.pragma("journal_mode = WAL");
      db.pragma(`synchronous = ${(this.#options.synchronous ?? "normal").toUpperCase()}`);
      db.pragma("foreign_keys = ON");
      migrate(db, location);
    } catch (error) {
      db.close();
      if ((error as { code?: string }).code === "SQLITE_BUSY") {
        throw new RuntimeError(
          ErrorCode.storage,
          `the data dir ${this.#options.dataDir} is in use by another predictor-runtime process (its task database is locked); ` +
            `stop that process, or give this one its own --data-dir`,
          { cause: error },
        );
      }
      throw storageError(`cannot prepare the task database at ${location}`, error);
    }
    const commits = new GroupCommit(db, this.#options.maxBatchOperations === undefined ? {} : { maxBatchOperations: this.#options.maxBatchOperations });
    this.#open = { db, tables: new SqliteTaskTables(db), commits };
  }

  createTask(task: NewTask): Promise<CreateTaskResult> {
    return this.#run((tables) => {
      const row = {
        id: task.id,
        api: task.api,
        format: task.format,
        idempotencyKey: task.idempotencyKey ?? null,
        payload: JSON.stringify(task.payload),
        callback: task.callback === undefined ? null : JSON.stringify(task.callback),
        createdAt: task.createdAt,
      };
      const record: TaskRecord = { ...task, status: "in_queue" };
      return () => tables.createTask(row, record);
    });
  }

  getTask(id: string): Promise<TaskRecord | undefined> {
    return this.#run((tables) => () => tables.getTask(id));
  }

  claimQueued(api: string, limit: number, now: number): Promise<TaskRecord[]> {
    if (limit <= 0) return this.#run(() => () => []);
    return this.#run((tables) => () => tables.claimQueued(api, limit, now));
  }

  finishTask(id: string, outcome: TaskOutcome, delivery: NewDelivery | null): Promise<void> {
    return this.#run((tables) => {
      const update = {
        status: outcome.status,
        finishedAt: outcome.finishedAt,
        outcome: JSON.stringify(outcome),
        webhookSkipReason: delivery?.status === "skipped" ? delivery.reason : null,
      };
      const report =
        delivery?.status === "pending"
          ? {
              url: delivery.url,
              auth: delivery.auth === undefined ? null : JSON.stringify(delivery.auth),
              body: delivery.body,
              webhookId: delivery.webhookId,
              nextAttemptAt: delivery.nextAttemptAt,
            }
          : null;
      return () => tables.finishTask(id, update, report);
    });
  }

  countUnfinished(api: string): Promise<number> {
    return this.#run((tables) => () => tables.countUnfinished(api));
  }

  recover(): Promise<RecoverySummary> {
    return this.#run((tables) => () => tables.recover());
  }

  leaseDueDeliveries(now: number, limit: number, leaseMs: number): Promise<DeliveryRecord[]> {
    if (limit <= 0) return this.#run(() => () => []);
    return this.#run((tables) => () => tables.leaseDue(now, limit, leaseMs));
  }

  recordAttempt(taskId: string, update: DeliveryUpdate): Promise<void> {
    return this.#run((tables) => () => tables.recordAttempt(taskId, update));
  }

  nextDeliveryDueAt(): Promise<number | undefined> {
    return this.#run((tables) => () => tables.nextDue());
  }

  /**
   * Deletes in chunks of `sweepChunkRows`, each its own transaction queued behind other writes, so a large backlog
   * (a store that was down for a week) never holds the event loop for longer than one chunk.
   */
  async sweepFinished(finishedBefore: number): Promise<number> {
    const chunk = this.#options.sweepChunkRows ?? DEFAULT_SWEEP_CHUNK_ROWS;
    let removed = 0;
    for (;;) {
      const deleted = await this.#run((tables) => () => tables.sweepChunk(finishedBefore, chunk));
      removed += deleted;
      if (deleted < chunk) return removed;
      // Let the rest of the runtime's work through before the next chunk.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  async close(): Promise<void> {
    const open = this.#open;
    this.#open = undefined;
    this.#closed = true;
    if (open === undefined) return;
    try {
      open.commits.close(); // Commits whatever is still queued: those callers were promised durability.
    } finally {
      open.db.close();
    }
  }

  /**
   * Runs `prepare` now (serializing, so a value JSON cannot carry rejects this call alone), then queues the SQL it
   * returns for the next group commit.
   */
  #run<T>(prepare: (tables: SqliteTaskTables) => () => T): Promise<T> {
    const open = this.#open;
    if (open === undefined) {
      const why = this.#closed ? "it was closed" : "open() was not awaited";
      return Promise.reject(new RuntimeError(ErrorCode.storage, `the task store is not open (${why}); no operation can run`));
    }
    let operation: () => T;
    try {
      operation = prepare(open.tables);
    } catch (error) {
      return Promise.reject(new RuntimeError(ErrorCode.storage, `the task could not be stored: ${(error as Error).message}`, { cause: error }));
    }
    return open.commits.run(operation);
  }
}
