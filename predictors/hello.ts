import { setTimeout as sleep } from "node:timers/promises";
import type { PredictContext, Predictor } from "../runtime/index.js";

/** Waits `config.delay_ms` (a stand-in for model work), then returns `{"data": "hello"}`. */
export default class HelloPredictor implements Predictor<unknown, { data: string }> {
  readonly #delayMs: number;

  constructor(config: Record<string, unknown>) {
    this.#delayMs = typeof config.delay_ms === "number" ? config.delay_ms : 0;
  }

  async predict(_payload: unknown, _requestId: string, context?: PredictContext): Promise<{ data: string }> {
    // Passing the signal lets predict_timeout_s and shutdown cut the wait short.
    if (this.#delayMs > 0) await sleep(this.#delayMs, undefined, context ? { signal: context.signal } : {});
    return { data: "hello" };
  }
}
