import { ErrorCode, RuntimeError } from "../errors.js";
import type { BatchTransport } from "./batch-transport.js";
import type { SerializedError, StoreOperation } from "./store-operations.js";

/** Options of {@link GroupCommit}. */
export interface GroupCommitOptions {
  /** Most operations in one transaction; the rest go in the next, so a burst never makes one huge one. @defaultValue 512 */
  maxBatchOperations?: number;
  /**
   * Longest a batch may take before its callers are failed rather than left waiting, and the store counts as
   * stalled (see {@link GroupCommit.stalled}) until the engine answers again. @defaultValue 30 000 ms
   */
  deadlineMs?: number;
  /** Called when the engine stops answering (with why) and when it answers again (with undefined); for the log. */
  onStallChange?: (stall: Error | undefined) => void;
}

/** Default of {@link GroupCommitOptions.deadlineMs}: far past any healthy commit, well before a client gives up. */
export const DEFAULT_STORE_DEADLINE_MS = 30_000;

/** Counters for tests and the bench: how well operations were grouped. */
export interface GroupCommitStats {
  /** Transactions committed. */
  batches: number;
  /** Operations committed, in all of them. */
  operations: number;
}

/** One queued operation and the promise waiting for its outcome. */
interface Queued {
  operation: StoreOperation;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

const DEFAULT_MAX_BATCH_OPERATIONS = 512;

/**
 * Group commit: operations called during one event-loop turn go to the engine together at the end of that turn
 * (`setImmediate`) and run there as one transaction; each caller's promise settles only once that transaction
 * committed. One commit (one WAL append, and one fsync under synchronous=FULL) carries every write of the turn
 * instead of one per statement.
 *
 * One batch is in flight at a time: operations called while a batch commits (while its fsync runs, say) wait and
 * form the next batch, so batches grow by themselves exactly when commits are slow. Operations run in call order
 * and see each other's writes, so a check-then-insert (idempotency) needs no lock.
 */
export class GroupCommit {
  readonly #transport: BatchTransport;
  readonly #maxBatchOperations: number;
  #queue: Queued[] = [];
  /** The setImmediate that will send the next batch, so a turn schedules at most one. */
  #scheduled: NodeJS.Immediate | undefined;
  /** The batch being committed, if any. */
  #inFlight: Promise<void> | undefined;
  #closing = false;
  readonly #stats: GroupCommitStats = { batches: 0, operations: 0 };
  readonly #deadlineMs: number;
  readonly #onStallChange: ((stall: Error | undefined) => void) | undefined;
  /** Set while a batch is pending past the deadline; every call then fails at once instead of queueing behind it. */
  #stall: RuntimeError | undefined;

  constructor(transport: BatchTransport, options: GroupCommitOptions = {}) {
    this.#transport = transport;
    this.#maxBatchOperations = options.maxBatchOperations ?? DEFAULT_MAX_BATCH_OPERATIONS;
    this.#deadlineMs = options.deadlineMs ?? DEFAULT_STORE_DEADLINE_MS;
    this.#onStallChange = options.onStallChange;
  }

  /** Why the engine counts as not answering (a batch pending past the deadline), or undefined while it answers. */
  stalled(): Error | undefined {
    return this.#stall;
  }

  /** Batches and operations committed so far. */
  get stats(): Readonly<GroupCommitStats> {
    return { ...this.#stats };
  }

  /** Queues `operation` for the next batch; resolves with its result once its transaction committed. */
  run<T>(operation: StoreOperation): Promise<T> {
    if (this.#closing) return Promise.reject(new RuntimeError(ErrorCode.storage, "the task store is closed; no operation can run after close()"));
    if (this.#stall !== undefined) return Promise.reject(this.#stall);
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ operation, resolve: resolve as (value: unknown) => void, reject });
      this.#schedule();
    });
  }

  /** Commits everything already queued, refuses anything new, then closes the engine. */
  async close(): Promise<void> {
    this.#closing = true;
    if (this.#scheduled) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    while (this.#inFlight !== undefined || this.#queue.length > 0) {
      await (this.#inFlight ?? this.#sendBatch());
    }
    await this.#transport.close();
  }

  #schedule(): void {
    if (this.#scheduled !== undefined || this.#inFlight !== undefined || this.#closing) return;
    this.#scheduled = setImmediate(() => {
      this.#scheduled = undefined;
      void this.#sendBatch();
    });
  }

  #sendBatch(): Promise<void> {
    const batch = this.#queue.splice(0, this.#maxBatchOperations);
    if (batch.length === 0) return Promise.resolve();
    const flight = this.#commit(batch).finally(() => {
      this.#inFlight = undefined;
      if (this.#queue.length > 0) this.#schedule();
    });
    this.#inFlight = flight;
    return flight;
  }

  async #commit(batch: Queued[]): Promise<void> {
    let outcome;
    let overdue = false;
    const deadline = setTimeout(() => {
      // The batch may still commit later (its callers then see a 5xx for a write that happened, which a retry
      // with the same x-request-id resolves); what must not happen is a caller, or a health probe, waiting forever.
      overdue = true;
      this.#stall = new RuntimeError(
        ErrorCode.storage,
        `the task store has not answered a batch of ${batch.length} operation(s) for ${this.#deadlineMs / 1000} s; the runtime needs a restart if this lasts`,
      );
      for (const queued of batch) queued.reject(this.#stall);
      for (const queued of this.#queue.splice(0)) queued.reject(this.#stall);
      this.#onStallChange?.(this.#stall);
    }, this.#deadlineMs);
    deadline.unref();
    try {
      outcome = await this.#transport.send(batch.map((queued) => queued.operation));
    } catch (error) {
      for (const queued of batch) queued.reject(error);
      return;
    } finally {
      clearTimeout(deadline);
      if (overdue) {
        this.#stall = undefined;
        this.#onStallChange?.(undefined);
      }
    }
    if (!outcome.committed) {
      const failure = storageError("a batch of task store writes failed and was rolled back", outcome.error);
      for (const queued of batch) queued.reject(failure);
      return;
    }
    this.#stats.batches++;
    batch.forEach((queued, index) => {
      const result = outcome.results[index]!;
      if (result.ok) {
        this.#stats.operations++;
        queued.resolve(result.value);
      } else {
        queued.reject(storageError("a task store operation failed", result.error));
      }
    });
  }
}

function storageError(what: string, error: SerializedError): RuntimeError {
  return new RuntimeError(ErrorCode.storage, `${what}: ${error.message}`, { cause: error });
}
