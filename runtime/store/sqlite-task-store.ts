import { ErrorCode, RuntimeError } from "../errors.js";
import type { ApiCounts, TaskQuery, TaskSummary } from "../engine/engine.js";
import type { AttemptRecord, DeliveryRecord, DeliveryUpdate, NewDelivery } from "../tasks/delivery.js";
import { serializeOutcome } from "../tasks/outcome-json.js";
import type { NewTask, TaskOutcome, TaskRecord, TaskStatus } from "../tasks/task.js";
import { InThreadTransport, WorkerTransport, type BatchTransport } from "./batch-transport.js";
import { DEFAULT_STORE_DEADLINE_MS, GroupCommit, type GroupCommitStats } from "./group-commit.js";
import { databaseLocation, type SqliteSynchronous } from "./sqlite-engine.js";
import type { DeliveryInsert, OutcomeUpdate } from "./sqlite-task-tables.js";
import type { StoreOperation, StoreOperationResults } from "./store-operations.js";
import { CONSOLE_SCAN_ROWS, type ActivityBucket, type CreateTaskResult, type RecoverySummary, type RedeliverStoreResult, type TaskStore } from "./task-store.js";

export type { SqliteSynchronous } from "./sqlite-engine.js";

/** Options of {@link SqliteTaskStore}. */
export interface SqliteTaskStoreOptions {
  /** Folder holding `runtime.sqlite`; created (mode 0700) when missing. `":memory:"` keeps everything in RAM (tests). */
  dataDir: string;
  /** When a commit is fsynced (see {@link SqliteSynchronous}). @defaultValue "full" */
  synchronous?: SqliteSynchronous;
  /**
   * Where SQLite runs: `"worker"`, a worker thread, keeps its CPU work and disk writes off the event loop; `"main"`
   * runs it in the calling thread (no thread to start: many short-lived stores in tests). @defaultValue "worker"
   */
  thread?: "worker" | "main";
  /** Most operations per group-commit transaction. @defaultValue 512 */
  maxBatchOperations?: number;
  /** Rows deleted per sweep transaction; a sweep of a large backlog lets other operations run between chunks. @defaultValue 500 */
  sweepChunkRows?: number;
  /** Longest a call may wait for the database before it fails (and the store counts as stalled). @defaultValue 30 000 ms */
  callDeadlineMs?: number;
  /** Told when the database stops answering within the deadline (with why) and when it answers again (undefined). */
  onStallChange?: (stall: Error | undefined) => void;
}

const DEFAULT_SWEEP_CHUNK_ROWS = 500;


/**
 * The embedded engine: one SQLite file in WAL mode, owned by one process at a time, written through a group commit
 * (see {@link GroupCommit}) so every write of an event-loop turn shares one transaction, and each promise resolves
 * once its write committed. By default SQLite runs in a worker thread (see WorkerTransport), off the event loop.
 */
export class SqliteTaskStore implements TaskStore {
  readonly #options: SqliteTaskStoreOptions;
  #commits: GroupCommit | undefined;
  #transport: BatchTransport | undefined;
  #state: "new" | "opening" | "open" | "closed" = "new";
  readonly failure: Promise<Error>;
  #reportFailure!: (error: Error) => void;

  constructor(options: SqliteTaskStoreOptions) {
    this.#options = options;
    this.failure = new Promise((resolve) => {
      this.#reportFailure = resolve;
    });
  }

  /** Why the database counts as not answering (a call pending past its deadline), or undefined. */
  stalled(): Error | undefined {
    return this.#commits?.stalled();
  }

  /** Path of the database file, or `:memory:`. */
  get location(): string {
    return databaseLocation(this.#options.dataDir);
  }

  /** How well writes were grouped so far (zeros before open). */
  get commitStats(): GroupCommitStats {
    return this.#commits?.stats ?? { batches: 0, operations: 0 };
  }

  async open(): Promise<void> {
    if (this.#state !== "new") throw new RuntimeError(ErrorCode.storage, "the task store was opened already; open() is called once");
    this.#state = "opening";
    const engineOptions = { dataDir: this.#options.dataDir, synchronous: this.#options.synchronous ?? "full" };
    try {
      const transport: BatchTransport =
        (this.#options.thread ?? "worker") === "worker" ? await WorkerTransport.open(engineOptions) : new InThreadTransport(engineOptions);
      if (this.#closedMeanwhile()) {
        // close() was called while the database was opening: honour it.
        await transport.close();
        throw new RuntimeError(ErrorCode.storage, "the task store was closed while it was opening");
      }
      const { maxBatchOperations, callDeadlineMs, onStallChange } = this.#options;
      this.#commits = new GroupCommit(transport, {
        ...(maxBatchOperations === undefined ? {} : { maxBatchOperations }),
        ...(callDeadlineMs === undefined ? {} : { deadlineMs: callDeadlineMs }),
        ...(onStallChange === undefined ? {} : { onStallChange }),
      });
      this.#transport = transport;
      this.#state = "open";
      void transport.failure?.then((error) => this.#reportFailure(error));
    } catch (error) {
      this.#state = "closed";
      throw error;
    }
  }

  async createTask(task: NewTask): Promise<CreateTaskResult> {
    const existing = await this.#run<"createTask">(() => ({
      kind: "createTask",
      task: {
        id: task.id,
        api: task.api,
        format: task.format,
        idempotencyKey: task.idempotencyKey ?? null,
        payload: task.payloadJson,
        callback: task.callback === undefined ? null : JSON.stringify(task.callback),
        batch: task.batch === true ? 1 : 0,
        createdAt: task.createdAt,
        startedAt: task.startedAt ?? null,
      },
    }));
    if (existing !== null) return { task: existing, created: false };
    return { task: { ...task, status: task.startedAt === undefined ? "in_queue" : "in_progress" }, created: true };
  }

  getTaskByIdempotencyKey(api: string, idempotencyKey: string): Promise<TaskRecord | undefined> {
    return this.#run<"getTaskByKey">(() => ({ kind: "getTaskByKey", api, idempotencyKey }));
  }

  getTask(id: string): Promise<TaskRecord | undefined> {
    return this.#run<"getTask">(() => ({ kind: "getTask", id }));
  }

  taskStatuses(ids: readonly string[]): Promise<Array<TaskStatus | undefined>> {
    if (ids.length === 0) return this.#nothing([]);
    return this.#run<"taskStatuses">(() => ({ kind: "taskStatuses", ids: [...ids] }));
  }

  claimQueued(api: string, limit: number, now: number): Promise<TaskRecord[]> {
    if (limit <= 0) return this.#nothing([]);
    return this.#run<"claimQueued">(() => ({ kind: "claimQueued", api, limit, now }));
  }

  finishTask(id: string, outcome: TaskOutcome, delivery: NewDelivery | null): Promise<boolean> {
    return this.#run<"finishTask">(() => ({ kind: "finishTask", id, ...outcomeWrite(outcome, delivery) }));
  }

  cancelTask(id: string, outcome: TaskOutcome, delivery: NewDelivery | null): Promise<TaskStatus | undefined> {
    return this.#run<"cancelTask">(() => ({ kind: "cancelTask", id, ...outcomeWrite(outcome, delivery) }));
  }

  redeliver(id: string, now: number): Promise<RedeliverStoreResult> {
    return this.#run<"redeliver">(() => ({ kind: "redeliver", id, now }));
  }

  redeliverFailed(api: string, finishedSince: number, now: number, limit: number): Promise<string[]> {
    if (limit <= 0) return this.#nothing([]);
    return this.#run<"redeliverFailed">(() => ({ kind: "redeliverFailed", api, finishedSince, now, limit }));
  }

  countUnfinished(api: string): Promise<number> {
    return this.#run<"countUnfinished">(() => ({ kind: "countUnfinished", api }));
  }

  recover(): Promise<RecoverySummary> {
    return this.#run<"recover">(() => ({ kind: "recover" }));
  }

  leaseDueDeliveries(now: number, limit: number, leaseMs: number): Promise<DeliveryRecord[]> {
    if (limit <= 0) return this.#nothing([]);
    return this.#run<"leaseDue">(() => ({ kind: "leaseDue", now, limit, leaseMs }));
  }

  recordAttempt(taskId: string, update: DeliveryUpdate, attempt?: AttemptRecord): Promise<void> {
    return this.#run<"recordAttempt">(() => ({ kind: "recordAttempt", taskId, update, attempt: attempt ?? null }));
  }

  listAttempts(taskId: string): Promise<AttemptRecord[]> {
    return this.#run<"attempts">(() => ({ kind: "attempts", taskId }));
  }

  listTasks(query: TaskQuery): Promise<TaskSummary[]> {
    return this.#run<"listTasks">(() => ({ kind: "listTasks", query }));
  }

  countTasks(api: string): Promise<ApiCounts> {
    return this.#run<"counts">(() => ({ kind: "counts", api }));
  }

  activity(api: string, since: number, until: number, bucketMs: number): Promise<ActivityBucket[]> {
    return this.#run<"activity">(() => ({ kind: "activity", api, since, until, bucketMs, maxRows: CONSOLE_SCAN_ROWS }));
  }

  nextDeliveryDueAt(): Promise<number | undefined> {
    return this.#run<"nextDue">(() => ({ kind: "nextDue" }));
  }

  /**
   * Deletes in chunks of `sweepChunkRows`, each its own transaction queued behind other operations, so a large
   * backlog (a runtime that was down for a week) never holds the database for longer than one chunk.
   */
  async sweepFinished(finishedBefore: number): Promise<number> {
    const limit = this.#options.sweepChunkRows ?? DEFAULT_SWEEP_CHUNK_ROWS;
    let removed = 0;
    for (;;) {
      const deleted = await this.#run<"sweepChunk">(() => ({ kind: "sweepChunk", finishedBefore, limit }));
      removed += deleted;
      if (deleted < limit) return removed;
      // Let the rest of the runtime's work through before the next chunk.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Ends the engine's worker thread at once, as a crash would: for tests of what follows. */
  async simulateEngineCrash(): Promise<void> {
    if (!(this.#transport instanceof WorkerTransport)) throw new Error("only an engine in a worker thread can be crashed");
    await this.#transport.terminate();
  }

  /** Blocks the engine's worker thread for `ms`, as a hung disk would: for tests of what follows. */
  simulateEngineStall(ms: number): Promise<void> {
    if (!(this.#transport instanceof WorkerTransport)) throw new Error("only an engine in a worker thread can be stalled");
    return this.#transport.stall(ms);
  }

  /** Commits the operations already called, then closes the database. Later calls reject with STORAGE_ERROR. */
  async close(): Promise<void> {
    const commits = this.#commits;
    this.#state = "closed";
    this.#commits = undefined;
    if (commits === undefined) return;
    // A database that stopped answering must not hold shutdown forever (SIGTERM has to stop the process): past the
    // call deadline its thread is ended. Whatever it had not committed is redone from the log of the next start.
    const deadlineMs = this.#options.callDeadlineMs ?? DEFAULT_STORE_DEADLINE_MS;
    let timer: NodeJS.Timeout | undefined;
    const overdue = new Promise<"overdue">((resolve) => {
      timer = setTimeout(() => resolve("overdue"), commits.stalled() === undefined ? deadlineMs : 0);
    });
    const closing = commits.close();
    closing.catch(() => undefined);
    const outcome = await Promise.race([closing, overdue]);
    clearTimeout(timer);
    if (outcome === "overdue" && this.#transport instanceof WorkerTransport) await this.#transport.terminate();
    else await closing;
  }

  /**
   * Builds the operation now (serializing its JSON, so a value JSON cannot carry rejects this call alone) and
   * queues it for the next group commit.
   */
  #run<K extends StoreOperation["kind"]>(build: () => Extract<StoreOperation, { kind: K }>): Promise<StoreOperationResults[K]> {
    const commits = this.#commits;
    if (commits === undefined) return this.#notOpen();
    let operation: StoreOperation;
    try {
      operation = build();
    } catch (error) {
      return Promise.reject(new RuntimeError(ErrorCode.storage, `the task could not be stored: ${(error as Error).message}`, { cause: error }));
    }
    return commits.run<StoreOperationResults[K]>(operation);
  }

  /** Read through a method: TypeScript would otherwise narrow #state across the await in open(). */
  #closedMeanwhile(): boolean {
    return this.#state === "closed";
  }

  /** An empty answer that needs no SQL; still refused once closed. */
  #nothing<T>(value: T): Promise<T> {
    return this.#commits === undefined ? this.#notOpen() : Promise.resolve(value);
  }

  #notOpen(): Promise<never> {
    const why = this.#state === "closed" ? "it was closed" : "open() was not awaited";
    return Promise.reject(new RuntimeError(ErrorCode.storage, `the task store is not open (${why}); no operation can run`));
  }
}

/** An outcome and its report (or why none) as the tables store them. */
function outcomeWrite(outcome: TaskOutcome, delivery: NewDelivery | null): { outcome: OutcomeUpdate; delivery: DeliveryInsert | null } {
  return {
    outcome: {
      status: outcome.status,
      finishedAt: outcome.finishedAt,
      outcome: serializeOutcome(outcome),
      webhookSkipReason: delivery?.status === "skipped" ? delivery.reason : null,
    },
    delivery:
      delivery?.status === "pending"
        ? {
            url: delivery.url,
            auth: delivery.auth === undefined ? null : JSON.stringify(delivery.auth),
            body: delivery.body,
            webhookId: delivery.webhookId,
            headers: delivery.headers === undefined ? null : JSON.stringify(delivery.headers),
            ignoreTimeout: delivery.ignoreTimeout === undefined ? null : delivery.ignoreTimeout ? 1 : 0,
            nextAttemptAt: delivery.nextAttemptAt,
            leaseExpiresAt: delivery.leaseExpiresAt ?? null,
          }
        : null,
  };
}
