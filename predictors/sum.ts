import type { Predictor } from "../runtime/index.js";

/** `{"x": 2, "y": "hello"}` -> `7`: x plus the length of y. The contract's example predictor. */
export default class SumPredictor implements Predictor<{ x: number; y: string }, number> {
  constructor(private readonly config: Record<string, unknown>) {}

  predict(payload: { x: number; y: string }, _requestId: string): number {
    if (typeof payload?.x !== "number" || typeof payload?.y !== "string") {
      throw new TypeError('expected a payload like {"x": 2, "y": "hello"}');
    }
    const offset = typeof this.config.offset === "number" ? this.config.offset : 0;
    return payload.x + payload.y.length + offset;
  }
}
