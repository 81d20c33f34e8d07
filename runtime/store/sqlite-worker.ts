import { parentPort } from "node:worker_threads";
import { SqliteEngine, type SqliteEngineOptions } from "./sqlite-engine.js";
import { serializeError, type BatchOutcome, type SerializedError, type StoreOperation } from "./store-operations.js";

/** What the main thread asks of the worker, one message at a time. */
export type WorkerRequest =
  | { type: "open"; options: SqliteEngineOptions }
  | { type: "batch"; operations: StoreOperation[] }
  | { type: "close" }
  /** Blocks the thread for `ms`, as a disk that stopped answering would: for tests of what the runtime does then. */
  | { type: "stall"; ms: number };

/** The worker's answer to each request, in the order of the requests. */
export type WorkerReply =
  | { type: "opened" }
  | { type: "open-failed"; error: SerializedError & { code?: string } }
  | { type: "batch"; outcome: BatchOutcome }
  | { type: "closed" }
  | { type: "stalled" };

/**
 * The thread that owns the task database: it opens the engine, runs each batch it is sent as one transaction
 * (SQLite's work, its WAL writes, checkpoints and fsyncs all happen here, off the event loop), and answers in
 * order. Started through sqlite-worker-entry.js, which loads TypeScript.
 */
function serve(port: NonNullable<typeof parentPort>): void {
  let engine: SqliteEngine | undefined;
  port.on("message", (request: WorkerRequest) => {
    switch (request.type) {
      case "open":
        try {
          engine = SqliteEngine.open(request.options);
          reply({ type: "opened" });
        } catch (error) {
          reply({ type: "open-failed", error: { ...serializeError(error), code: (error as { code?: string }).code } });
        }
        return;
      case "batch":
        reply(
          engine === undefined
            ? { type: "batch", outcome: { committed: false, error: { message: "the task database is not open" } } }
            : { type: "batch", outcome: engine.runBatch(request.operations) },
        );
        return;
      case "stall":
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, request.ms);
        reply({ type: "stalled" });
        return;
      case "close":
        engine?.close();
        engine = undefined;
        reply({ type: "closed" });
        port.close();
        return;
    }
  });

  function reply(message: WorkerReply): void {
    port.postMessage(message);
  }
}

if (parentPort) serve(parentPort);
