import Database from "better-sqlite3";
import { chmodSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { ErrorCode, RuntimeError } from "../errors.js";
import { migrate } from "./sqlite-schema.js";
import { SqliteTaskTables } from "./sqlite-task-tables.js";
import { runOperation, serializeError, type BatchOutcome, type OperationResult, type StoreOperation } from "./store-operations.js";

/**
 * When a commit reaches the disk (SQLite's `synchronous` in WAL mode). Either way a commit survives the process
 * being killed: it is in the kernel's page cache before it is acknowledged.
 * - `normal`: the WAL is fsynced at checkpoints, and the engine checkpoints at least every
 *   {@link SYNC_INTERVAL_MS} while there are writes; a power cut or kernel crash can lose about the last second of
 *   commits (the database stays consistent).
 * - `full`: every commit (every group-commit batch) is fsynced before it is acknowledged; a power cut loses
 *   nothing that was acknowledged.
 */
export type SqliteSynchronous = "normal" | "full";

/** What the engine needs to open a database; plain data, so it can be sent to a worker thread. */
export interface SqliteEngineOptions {
  /** Folder holding the database file (created, mode 0700, when missing), or `":memory:"`. */
  dataDir: string;
  synchronous: SqliteSynchronous;
}

/** The database file inside the data dir. */
export const DATABASE_FILE = "runtime.sqlite";

/** In `normal` mode, the longest committed writes wait for an fsync: what a power cut can cost. */
export const SYNC_INTERVAL_MS = 1000;

/** SQLite's page cache, in KiB. */
const PAGE_CACHE_KIB = 16 * 1024;

/** How long opening waits for a lock before concluding another process owns the data dir. */
const OPEN_LOCK_TIMEOUT_MS = 1000;

/** Where the engine keeps its database: the file in `dataDir`, or `:memory:`. */
export function databaseLocation(dataDir: string): string {
  return dataDir === ":memory:" ? ":memory:" : join(dataDir, DATABASE_FILE);
}

/**
 * One open SQLite connection and the task tables on it, run one batch at a time: each batch is one transaction.
 * Knows nothing of threads; {@link SqliteTaskStore} runs it in a worker thread or in the main thread.
 *
 * The connection holds SQLite's exclusive lock for its whole life: one process owns a data dir at a time, which is
 * what lets `recover()` treat every in-progress task and every delivery lease as abandoned by a stopped process.
 */
export class SqliteEngine {
  readonly #db: Database.Database;
  readonly #tables: SqliteTaskTables;
  readonly #begin: Database.Statement;
  readonly #commit: Database.Statement;
  readonly #rollback: Database.Statement;
  /** In `normal` mode: forces a checkpoint (which fsyncs the WAL) when writes have waited SYNC_INTERVAL_MS. */
  readonly #syncTimer: NodeJS.Timeout | undefined;
  /** A batch committed since the last checkpoint. */
  #unsynced = false;

  private constructor(db: Database.Database, synchronous: SqliteSynchronous) {
    this.#db = db;
    this.#tables = new SqliteTaskTables(db);
    this.#begin = db.prepare("BEGIN");
    this.#commit = db.prepare("COMMIT");
    this.#rollback = db.prepare("ROLLBACK");
    if (synchronous === "normal") this.#syncTimer = setInterval(() => this.#syncIfNeeded(), SYNC_INTERVAL_MS).unref();
  }

  /**
   * Opens (and creates or upgrades) the database. Per-request callback credentials are stored with their task (a
   * retry after a restart needs them), so the file is created readable by its owner only.
   */
  static open(options: SqliteEngineOptions): SqliteEngine {
    const location = databaseLocation(options.dataDir);
    if (location !== ":memory:") mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
    const isNew = location !== ":memory:" && !existsSync(location);
    let db: Database.Database;
    try {
      db = new Database(location, { timeout: OPEN_LOCK_TIMEOUT_MS });
    } catch (error) {
      throw new RuntimeError(ErrorCode.storage, `cannot open the task database at ${location}: ${(error as Error).message}`, { cause: error });
    }
    try {
      if (isNew) chmodSync(location, 0o600);
      // Set before WAL is entered, so the WAL index lives in process memory (no -shm file) and the lock is held
      // from the first read to close: a second runtime on the same data dir fails here instead of corrupting it.
      db.pragma("locking_mode = EXCLUSIVE");
      db.pragma("journal_mode = WAL");
      db.pragma(`synchronous = ${options.synchronous.toUpperCase()}`);
      db.pragma("foreign_keys = ON");
      // Erased credentials (a report's password or key, once it settled) are overwritten in the file, not left in
      // free space; FAST does it without extra I/O on b-tree pages.
      db.pragma("secure_delete = FAST");
      // 16 MiB of page cache instead of SQLite's 2 MiB: with a few days of results in the file, the pages each
      // batch touches stop fitting in 2 MiB, and every miss is a read from the OS (measured: 12% of the engine's
      // CPU per task on a 50,000-task database).
      db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
      migrate(db, location);
    } catch (error) {
      db.close();
      if ((error as { code?: string }).code === "SQLITE_BUSY") {
        throw new RuntimeError(
          ErrorCode.storage,
          `the data dir ${options.dataDir} is in use by another predictor-runtime process (its task database is locked); ` +
            `stop that process, or give this one its own --data-dir`,
          { cause: error },
        );
      }
      if (error instanceof RuntimeError) throw error;
      throw new RuntimeError(ErrorCode.storage, `cannot prepare the task database at ${location}: ${(error as Error).message}`, { cause: error });
    }
    return new SqliteEngine(db, options.synchronous);
  }

  /**
   * Runs `operations` in order in one transaction and commits it. An operation that throws is taken out and the
   * batch runs again from the start without it (its partial writes, and everyone's, were rolled back), so each
   * operation is atomic without a savepoint of its own and is rejected alone. When SQLite itself aborted the
   * transaction (disk full, I/O error) or BEGIN or COMMIT failed, the batch fails whole: a retry would meet the
   * same disk. Operations are deterministic, so running one again gives the same result.
   */
  runBatch(operations: readonly StoreOperation[]): BatchOutcome {
    const failures = new Map<number, unknown>();
    const values: unknown[] = new Array(operations.length);
    // Each pass either commits or takes one failing operation out: at most operations.length + 1 passes.
    for (;;) {
      const pass = this.#tryCommit(operations, failures, values);
      if (pass === "committed") break;
      if (pass !== "retry") return { committed: false, error: serializeError(pass.error) };
    }
    const results = Array.from({ length: operations.length }, (_, index): OperationResult =>
      failures.has(index) ? { ok: false, error: serializeError(failures.get(index)) } : { ok: true, value: values[index] },
    );
    return { committed: true, results };
  }

  /** Closes the connection (and with it the lock); closing checkpoints, so nothing committed is left unsynced. */
  close(): void {
    if (this.#syncTimer) clearInterval(this.#syncTimer);
    this.#db.close();
  }

  #syncIfNeeded(): void {
    if (!this.#unsynced || !this.#db.open) return;
    this.#unsynced = false;
    try {
      // PASSIVE never waits for readers (this connection holds the only lock anyway); SQLite fsyncs the WAL first.
      this.#db.pragma("wal_checkpoint(PASSIVE)");
    } catch {
      this.#unsynced = true; // Tried again at the next tick; a disk that keeps failing fails the next batch too.
    }
  }

  #tryCommit(operations: readonly StoreOperation[], failures: Map<number, unknown>, values: unknown[]): "committed" | "retry" | { error: unknown } {
    let retry = false;
    try {
      this.#begin.run();
      for (let index = 0; index < operations.length; index++) {
        if (failures.has(index)) continue;
        try {
          values[index] = runOperation(this.#tables, operations[index]!);
        } catch (error) {
          failures.set(index, error);
          // Still in the transaction: this operation alone failed. Not: SQLite rolled everything back itself.
          retry = this.#db.inTransaction;
          throw error;
        }
      }
      this.#commit.run();
      this.#unsynced = true;
      return "committed";
    } catch (error) {
      if (this.#db.inTransaction) this.#rollback.run();
      return retry ? "retry" : { error };
    }
  }
}
