import { Worker } from "node:worker_threads";
import type { HostMessage, WorkerChannel, WorkerMessage } from "./worker-protocol.js";

/** The thread's entry: plain JavaScript, so it can register the TypeScript loader the thread does not inherit. */
const THREAD_ENTRY = new URL("./thread-entry.js", import.meta.url);

/** What a predictor thread needs to load its predictor. */
export interface ThreadWorkerData {
  path: string;
  config: Readonly<Record<string, unknown>>;
}

/** Starts one worker thread that loads the predictor at `path` (see thread-main.ts). */
export function spawnThreadWorker(data: ThreadWorkerData): WorkerChannel {
  const worker = new Worker(THREAD_ENTRY, { workerData: data });
  let lastError: Error | undefined;
  // Messages sent in one turn of the event loop (a claim of several queued tasks) cross as one batch: one wake-up
  // of the thread instead of one per task.
  let outgoing: HostMessage[] = [];
  const flush = (): void => {
    const batch = outgoing;
    outgoing = [];
    worker.postMessage(batch.length === 1 ? batch[0] : batch);
  };
  const channel: WorkerChannel = {
    send: (message) => {
      outgoing.push(message);
      if (outgoing.length === 1) queueMicrotask(flush);
    },
    kill: () => void worker.terminate(),
    onMessage: () => undefined,
    onExit: () => undefined,
  };
  worker.on("message", (message: WorkerMessage | WorkerMessage[]) => {
    if (Array.isArray(message)) for (const one of message) channel.onMessage(one);
    else channel.onMessage(message);
  });
  // An uncaught error or running out of memory ends the thread; the exit event follows and names it.
  worker.on("error", (error) => {
    lastError = error;
  });
  worker.on("exit", (code) => channel.onExit(describeThreadExit(code, lastError)));
  return channel;
}

function describeThreadExit(code: number, error: Error | undefined): string {
  if (error && (error as NodeJS.ErrnoException).code === "ERR_WORKER_OUT_OF_MEMORY") return "out of memory";
  if (error) return `uncaught ${error.name}: ${error.message.split("\n")[0]}`;
  return `exit code ${code}`;
}
