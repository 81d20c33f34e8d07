import type { TaskOutcome } from "../tasks/task.js";

/**
 * Where an API's predictor runs (contract section 2): on the server's event loop, in worker threads, or in Python
 * processes. The API worker and the realtime path see only this interface; everything about a host stays in its
 * module. Payloads go in as the JSON text they arrived as and results come back as JSON text (`resultJson`), so
 * each is parsed once, where predict() runs.
 */
export interface PredictorHost {
  /** Predictions this host runs at once: processes_per_replica x threads_per_process. */
  readonly capacity: number;
  /** Workers that finished setup and take predictions now; `/readyz` is 503 while it is 0. */
  readonly readyWorkers: number;
  /**
   * Loads the predictor in every worker (imports the module, constructs the class). Rejects with a
   * PredictorLoadError naming the file and the cause; nothing is left running then.
   */
  load(): Promise<void>;
  /** Runs setup() in every worker; rejects with the predictor's message when one fails. */
  setup(): Promise<void>;
  /**
   * Runs one prediction and settles with its outcome; never rejects. Past predict_timeout_s the outcome is a
   * timeout failure and the worker running it is replaced. When `signal` aborts, the abort reaches predict(); one
   * that has not returned 5 s later fails with the abort's reason and its worker is replaced.
   */
  predict(payloadJson: string, requestId: string, signal?: AbortSignal): Promise<TaskOutcome>;
  /** Stops every worker; predictions still running settle as failed. */
  close(): Promise<void>;
  /** Called when a worker dies or is terminated (a crash, a timeout, an abort), after its tasks were re-queued or failed. */
  onWorkerExit?: (event: WorkerExitEvent) => void;
}

/** A worker's death, as the host reports it. */
export interface WorkerExitEvent {
  api: string;
  /** Index of the worker in its host (0 .. processes_per_replica - 1). */
  worker: number;
  /** What ended it: `exit code 1`, `signal SIGKILL`, `timed out`, ... */
  reason: string;
  /** Deaths in a row of this worker slot without a finished prediction in between. */
  consecutiveFailures: number;
  /** Wait before the replacement starts (0 unless the worker keeps dying). */
  restartDelayMs: number;
}

/** How long a running predict() may take to return after its abort before its worker is replaced. */
export const ABORT_GRACE_MS = 5000;
