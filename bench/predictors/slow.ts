import { setTimeout as sleep } from "node:timers/promises";
import type { PredictContext, Predictor } from "../../runtime/index.js";

/** Sleeps `config.delay_ms` per task (default 60 s), so tasks pile up in the queue behind it (bench --depth). */
export default class SlowPredictor implements Predictor {
  readonly #delayMs: number;

  constructor(config: Record<string, unknown>) {
    this.#delayMs = typeof config.delay_ms === "number" ? config.delay_ms : 60_000;
  }

  async predict(payload: unknown, _requestId: string, context?: PredictContext): Promise<unknown> {
    await sleep(this.#delayMs, undefined, context ? { signal: context.signal } : {});
    return payload;
  }
}
