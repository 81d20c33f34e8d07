/** Extra, optional context for predict(); predictors written to the contract's two parameters may ignore it. */
export interface PredictContext {
  /** Aborted when predict_timeout_s passes or the runtime shuts down past its grace period. */
  readonly signal: AbortSignal;
}

/**
 * A user's predictor (contract section 2): constructed once with the API's `predictor.config`, then `setup()` is
 * awaited once before the API is ready, then `predict()` is called per task.
 */
export interface Predictor<Payload = any, Result = unknown> {
  setup?(): void | Promise<void>;
  predict(payload: Payload, requestId: string, context: PredictContext): Result | Promise<Result>;
}

/** What a predictor module exports: the class, constructed with the API's `predictor.config`. */
export type PredictorClass = new (config: Record<string, unknown>) => Predictor;
