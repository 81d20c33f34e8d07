import type { Predictor } from "../../runtime/index.js";

/** Spins the CPU for `config.busy_ms` per task (default 20 ms): a stand-in for model inference. */
export default class BusyPredictor implements Predictor {
  readonly #busyMs: number;

  constructor(config: Record<string, unknown>) {
    this.#busyMs = typeof config.busy_ms === "number" ? config.busy_ms : 20;
  }

  predict(payload: unknown): unknown {
    const until = performance.now() + this.#busyMs;
    while (performance.now() < until) {
      // Busy on purpose.
    }
    return payload;
  }
}
