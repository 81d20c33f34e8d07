import { Worker } from "node:worker_threads";
import { ErrorCode, RuntimeError } from "../errors.js";
import { SqliteEngine, type SqliteEngineOptions } from "./sqlite-engine.js";
import type { WorkerReply, WorkerRequest } from "./sqlite-worker.js";
import type { BatchOutcome, StoreOperation } from "./store-operations.js";

/** Carries batches to the engine and their outcomes back; one batch at a time (the caller waits for each). */
export interface BatchTransport {
  /** Runs a batch as one transaction. Rejects only when the engine cannot be reached at all. */
  send(operations: StoreOperation[]): Promise<BatchOutcome>;
  /** Closes the engine after the last batch. */
  close(): Promise<void>;
  /** Resolves with the error once the engine became unreachable for good, without close() (see TaskStore.failure). */
  readonly failure?: Promise<Error>;
}

/** The engine in the calling thread: simplest, and what tests of many short-lived stores use. */
export class InThreadTransport implements BatchTransport {
  readonly #engine: SqliteEngine;

  constructor(options: SqliteEngineOptions) {
    this.#engine = SqliteEngine.open(options);
  }

  async send(operations: StoreOperation[]): Promise<BatchOutcome> {
    return this.#engine.runBatch(operations);
  }

  async close(): Promise<void> {
    this.#engine.close();
  }
}

/**
 * The engine in a worker thread, so SQLite's CPU work, WAL writes, checkpoints and fsyncs never block the event
 * loop. Replies come in request order. The worker keeps the process alive only while a request is outstanding,
 * like a socket with I/O in progress.
 */
export class WorkerTransport implements BatchTransport {
  readonly #worker: Worker;
  /** Resolvers of the outstanding requests, oldest first. */
  readonly #waiting: Array<{ resolve: (reply: WorkerReply) => void; reject: (error: Error) => void }> = [];
  /** Set once the worker stopped; every later request fails with it. */
  #stopped: RuntimeError | undefined;
  #closing = false;
  readonly failure: Promise<Error>;
  #reportFailure!: (error: Error) => void;

  private constructor() {
    this.failure = new Promise((resolve) => {
      this.#reportFailure = resolve;
    });
    this.#worker = new Worker(new URL("./sqlite-worker-entry.js", import.meta.url));
    this.#worker.unref();
    this.#worker.on("message", (reply: WorkerReply) => {
      this.#waiting.shift()?.resolve(reply);
      if (this.#waiting.length === 0) this.#worker.unref();
    });
    this.#worker.on("error", (error) => this.#stop(`the task database's worker thread failed: ${error.message}`, error));
    this.#worker.on("exit", (code) => this.#stop(`the task database's worker thread exited (code ${code})`));
  }

  /** Starts the worker and opens the database in it; rejects with the engine's error (a locked data dir, ...). */
  static async open(options: SqliteEngineOptions): Promise<WorkerTransport> {
    const transport = new WorkerTransport();
    const reply = await transport.#request({ type: "open", options });
    if (reply.type === "open-failed") {
      transport.#closing = true;
      await transport.#worker.terminate();
      throw new RuntimeError(ErrorCode.storage, reply.error.message);
    }
    return transport;
  }

  async send(operations: StoreOperation[]): Promise<BatchOutcome> {
    const reply = await this.#request({ type: "batch", operations });
    if (reply.type !== "batch") throw new RuntimeError(ErrorCode.storage, `the task database's worker thread answered ${reply.type} to a batch`);
    return reply.outcome;
  }

  async close(): Promise<void> {
    if (this.#stopped) return;
    this.#closing = true;
    const exited = new Promise<void>((resolve) => this.#worker.once("exit", () => resolve()));
    await this.#request({ type: "close" });
    // Held until the thread is gone: an unreferenced worker would let the event loop end under this await.
    this.#worker.ref();
    await exited;
  }

  #request(request: WorkerRequest): Promise<WorkerReply> {
    if (this.#stopped) return Promise.reject(this.#stopped);
    return new Promise((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
      this.#worker.ref();
      this.#worker.postMessage(request);
    });
  }

  /** Blocks the thread for `ms` (batches sent meanwhile wait behind it), as a hung disk would. For tests of that hang. */
  async stall(ms: number): Promise<void> {
    await this.#request({ type: "stall", ms });
  }

  /** Ends the thread at once, as a crash of the engine would: nothing queued is committed. For tests of that crash. */
  async terminate(): Promise<void> {
    await this.#worker.terminate();
  }

  #stop(message: string, cause?: unknown): void {
    if (this.#stopped === undefined) {
      this.#stopped = new RuntimeError(ErrorCode.storage, message, { cause });
      if (!this.#closing) this.#reportFailure(this.#stopped);
    }
    for (const waiting of this.#waiting.splice(0)) waiting.reject(this.#stopped);
  }
}
