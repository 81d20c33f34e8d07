import type { Predictor } from "../../runtime/index.js";

/** Does nothing but hand its payload back, so the bench measures the runtime, not a model. */
export default class NoopPredictor implements Predictor {
  predict(payload: unknown): unknown {
    return payload;
  }
}
