// Inside a predictor worker thread: loads the predictor, runs setup() when told, then predictions, several at once
// when threads_per_process allows. Payloads arrive as JSON text and are parsed here; results leave as JSON text.
import { parentPort, workerData } from "node:worker_threads";
import { loadPredictor } from "../predictor/load-predictor.js";
import type { Predictor } from "../predictor/predictor.js";
import { runPrediction } from "../worker/run-prediction.js";
import type { ThreadWorkerData } from "./thread-worker.js";
import type { HostMessage, WorkerMessage, WorkerOutcome } from "./worker-protocol.js";

const port = parentPort!;
const { path, config } = workerData as ThreadWorkerData;
// Results that finish together (a batch of no-op predictions) go back as one message: one wake-up of the main
// thread. A microtask, not setImmediate, so a result is never held behind a predict() that then spins.
let outgoing: WorkerMessage[] = [];
const flush = (): void => {
  const batch = outgoing;
  outgoing = [];
  port.postMessage(batch.length === 1 ? batch[0] : batch);
};
const post = (message: WorkerMessage): void => {
  outgoing.push(message);
  if (outgoing.length === 1) queueMicrotask(flush);
};
/** Running predictions' aborts, by the host's id. */
const running = new Map<number, AbortController>();

// A predictor's stray promise or throwing timer must not end the thread and the predictions running beside it (as
// on the main thread): the host logs it and the worker keeps serving.
const onStray = (error: unknown): void => post({ type: "stray", message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
process.on("unhandledRejection", onStray);
process.on("uncaughtException", onStray);

let predictor: Predictor | undefined;
try {
  predictor = await loadPredictor(path, config);
  post({ type: "loaded" });
} catch (error) {
  post({ type: "failed", phase: "load", message: (error as Error).message });
}

port.on("message", (received: HostMessage | HostMessage[]) => {
  if (Array.isArray(received)) for (const message of received) handle(message);
  else handle(received);
});

function handle(message: HostMessage): void {
  if (predictor === undefined) return;
  switch (message.type) {
    case "setup":
      void setup(predictor);
      return;
    case "predict":
      void predict(predictor, message.id, message.requestId, message.payloadJson);
      return;
    case "cancel":
      running.get(message.id)?.abort(new Error(message.reason));
      return;
  }
}

async function setup(loaded: Predictor): Promise<void> {
  try {
    await loaded.setup?.();
    post({ type: "ready" });
  } catch (error) {
    post({ type: "failed", phase: "setup", message: error instanceof Error ? error.message : String(error) });
  }
}

async function predict(loaded: Predictor, id: number, requestId: string, payloadJson: string): Promise<void> {
  const controller = new AbortController();
  running.set(id, controller);
  let outcome: WorkerOutcome;
  try {
    const payload: unknown = JSON.parse(payloadJson);
    const { finishedAt: _finishedAt, ...rest } = await runPrediction(loaded, payload, requestId, { signal: controller.signal });
    outcome = rest as WorkerOutcome;
  } catch (error) {
    outcome = { status: "failed", error: `the payload is not JSON: ${(error as Error).message}` };
  } finally {
    running.delete(id);
  }
  post({ type: "result", id, outcome });
}
