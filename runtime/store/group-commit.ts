import type Database from "better-sqlite3";
import { ErrorCode, RuntimeError } from "../errors.js";

/** Options of {@link GroupCommit}. */
export interface GroupCommitOptions {
  /**
   * Most operations run in one transaction; the rest wait for the next, one event-loop turn later, so a burst never
   * holds the event loop for long. @defaultValue 512
   */
  maxBatchOperations?: number;
}

/** Counters for tests and the bench: how well operations were grouped. */
export interface GroupCommitStats {
  /** Transactions committed. */
  batches: number;
  /** Operations committed, in all of them. */
  operations: number;
}

/** One queued operation and the promise waiting for its outcome. */
interface Queued {
  run: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

const DEFAULT_MAX_BATCH_OPERATIONS = 512;

/**
 * Group commit for a synchronous SQLite connection: operations queued during one event-loop turn run together in one
 * transaction at the end of that turn (`setImmediate`), and each caller's promise settles only once that
 * transaction committed. One commit (one WAL append, and one fsync under synchronous=FULL) then carries every write
 * of the turn instead of one per statement.
 *
 * Operations run in the order they were queued and see each other's writes, so a check-then-insert (idempotency) is
 * still race-free within a batch. An operation is atomic without a savepoint of its own: if it throws, the whole
 * transaction is rolled back and the batch runs again without it, so it is rejected alone and no half of it stands.
 * If SQLite rolled back the transaction itself (disk full, I/O error) or the commit failed, every operation of the
 * batch is rejected, because none of them is durable. Operations must therefore be deterministic: they may run more
 * than once before their batch commits.
 */
export class GroupCommit {
  readonly #db: Database.Database;
  readonly #maxBatchOperations: number;
  readonly #begin: Database.Statement;
  readonly #commit: Database.Statement;
  readonly #rollback: Database.Statement;
  #queue: Queued[] = [];
  /** The setImmediate that will run the next batch, so a turn schedules at most one. */
  #scheduled: NodeJS.Immediate | undefined;
  #closed = false;
  readonly #stats: GroupCommitStats = { batches: 0, operations: 0 };

  constructor(db: Database.Database, options: GroupCommitOptions = {}) {
    this.#db = db;
    this.#maxBatchOperations = options.maxBatchOperations ?? DEFAULT_MAX_BATCH_OPERATIONS;
    this.#begin = db.prepare("BEGIN");
    this.#commit = db.prepare("COMMIT");
    this.#rollback = db.prepare("ROLLBACK");
  }

  /** Batches and operations committed so far. */
  get stats(): Readonly<GroupCommitStats> {
    return { ...this.#stats };
  }

  /**
   * Queues `operation` for the next batch; resolves with what it returned once its transaction committed. The
   * operation runs synchronously inside the transaction and must only touch this connection.
   */
  run<T>(operation: () => T): Promise<T> {
    if (this.#closed) return Promise.reject(closedError());
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ run: operation, resolve: resolve as (value: unknown) => void, reject });
      this.#scheduled ??= setImmediate(() => {
        this.#scheduled = undefined;
        this.#runBatch();
      });
    });
  }

  /** Commits everything queued now, then refuses new operations. */
  close(): void {
    while (this.#queue.length > 0) this.#runBatch();
    if (this.#scheduled) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    this.#closed = true;
  }

  #runBatch(): void {
    const batch = this.#queue.length > this.#maxBatchOperations ? this.#queue.splice(0, this.#maxBatchOperations) : this.#queue;
    if (batch === this.#queue) this.#queue = [];
    if (this.#queue.length > 0 && !this.#closed) {
      this.#scheduled ??= setImmediate(() => {
        this.#scheduled = undefined;
        this.#runBatch();
      });
    }
    if (batch.length === 0) return;

    const failures = new Map<number, unknown>();
    const values: unknown[] = new Array(batch.length);
    // Each pass either commits or takes one failing operation out, so there are at most batch.length + 1 passes.
    for (;;) {
      const pass = this.#tryCommit(batch, failures, values);
      if (pass === "committed") break;
      if (pass !== "retry") {
        const failure = storageError("a batch of task store writes failed and was rolled back", pass.error);
        for (const queued of batch) queued.reject(failure);
        return;
      }
    }
    this.#stats.batches++;
    this.#stats.operations += batch.length - failures.size;
    for (let index = 0; index < batch.length; index++) {
      if (failures.has(index)) batch[index]!.reject(storageError("a task store operation failed", failures.get(index)));
      else batch[index]!.resolve(values[index]);
    }
  }

  /**
   * One transaction over the batch, skipping operations that already failed. An operation that throws is added to
   * `failures` and the transaction is rolled back, so none of its writes (nor anyone else's) stand: the caller runs
   * the batch again without it. When SQLite itself aborted the transaction, or BEGIN or COMMIT failed, the whole
   * batch fails: a retry would meet the same disk.
   */
  #tryCommit(batch: Queued[], failures: Map<number, unknown>, values: unknown[]): "committed" | "retry" | { error: unknown } {
    let failedHere = false;
    try {
      this.#begin.run();
      for (let index = 0; index < batch.length; index++) {
        if (failures.has(index)) continue;
        try {
          values[index] = batch[index]!.run();
        } catch (error) {
          failures.set(index, error);
          failedHere = this.#db.inTransaction; // false: SQLite rolled back the whole transaction (SQLITE_FULL, I/O error).
          throw error;
        }
      }
      this.#commit.run();
      return "committed";
    } catch (error) {
      if (this.#db.inTransaction) this.#rollback.run();
      return failedHere ? "retry" : { error };
    }
  }
}

/** The task store's error for a failed SQLite operation, keeping the cause; RuntimeErrors pass through. */
export function storageError(what: string, cause: unknown): RuntimeError {
  if (cause instanceof RuntimeError) return cause;
  const message = cause instanceof Error ? cause.message : String(cause);
  return new RuntimeError(ErrorCode.storage, `${what}: ${message}`, { cause });
}

function closedError(): RuntimeError {
  return new RuntimeError(ErrorCode.storage, "the task store is closed; no operation can run after close()");
}
