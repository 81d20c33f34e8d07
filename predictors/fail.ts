import type { Predictor } from "../runtime/index.js";

/** Always throws, to show what a failed task and its webhook report look like. */
export default class FailPredictor implements Predictor {
  constructor(private readonly config: Record<string, unknown>) {}

  predict(_payload: unknown, requestId: string): never {
    const message = typeof this.config.message === "string" ? this.config.message : "this predictor always fails";
    throw new Error(`${message} (request ${requestId})`);
  }
}
