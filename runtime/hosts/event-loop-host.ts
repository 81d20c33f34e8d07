import type { ApiConfig } from "../config/api-config.js";
import { loadPredictor } from "../predictor/load-predictor.js";
import type { Predictor } from "../predictor/predictor.js";
import type { TaskOutcome } from "../tasks/task.js";
import { runPrediction, type RunPredictionOptions } from "../worker/run-prediction.js";
import type { PredictorHost } from "./host.js";

/**
 * `in_process: true`: predict() runs on the server's event loop, as pure-I/O predictors want (no thread hop, no
 * copy). A CPU-bound predict() stalls every HTTP answer while it runs, and a timed-out one keeps running: its
 * late result is dropped.
 */
export class EventLoopHost implements PredictorHost {
  readonly capacity: number;
  #predictor: Predictor | undefined;
  #ready = false;
  readonly #load: () => Promise<Predictor>;
  readonly #timeoutMs: number | undefined;
  readonly #now: () => number;

  constructor(options: { predictor: Predictor | (() => Promise<Predictor>); concurrency: number; timeoutMs?: number; now?: () => number }) {
    const source = options.predictor;
    this.#load = typeof source === "function" ? source : async () => source;
    if (typeof source !== "function") this.#predictor = source;
    this.capacity = options.concurrency;
    this.#timeoutMs = options.timeoutMs;
    this.#now = options.now ?? Date.now;
  }

  /** The host of one API's config. */
  static forApi(api: ApiConfig, now?: () => number): EventLoopHost {
    return new EventLoopHost({
      predictor: () => loadPredictor(api.predictor.path, api.predictor.config),
      concurrency: api.predictor.threadsPerProcess,
      ...(api.predictor.predictTimeoutMs === undefined ? {} : { timeoutMs: api.predictor.predictTimeoutMs }),
      ...(now ? { now } : {}),
    });
  }

  get readyWorkers(): number {
    return this.#ready ? 1 : 0;
  }

  async load(): Promise<void> {
    this.#predictor ??= await this.#load();
  }

  async setup(): Promise<void> {
    await this.load();
    await this.#predictor!.setup?.();
    this.#ready = true;
  }

  predict(payloadJson: string, requestId: string, signal?: AbortSignal): Promise<TaskOutcome> {
    const options: RunPredictionOptions = { now: this.#now };
    if (this.#timeoutMs !== undefined) options.timeoutMs = this.#timeoutMs;
    if (signal) options.signal = signal;
    let payload: unknown;
    try {
      payload = JSON.parse(payloadJson);
    } catch (error) {
      return Promise.resolve({ status: "failed", error: `the payload is not JSON: ${(error as Error).message}`, finishedAt: this.#now() });
    }
    return runPrediction(this.#predictor!, payload, requestId, options);
  }

  async close(): Promise<void> {
    this.#ready = false;
  }
}
