/** The runtime's public API: the Predictor type predictor classes implement, and the runtime for embedding. */
export type { PredictContext, Predictor, PredictorClass } from "./predictor/predictor.js";
export type { ApiConfig, RuntimeConfig, WebhookConfig } from "./config/api-config.js";
export { loadConfig, parseConfig } from "./config/load-config.js";
export { PredictorRuntime, type RuntimeOptions } from "./runtime.js";
export { ConfigError, ErrorCode, RuntimeError, RequestError } from "./errors.js";
export type { TaskStore } from "./store/task-store.js";
export { SqliteTaskStore } from "./store/sqlite-task-store.js";
export { createLogger } from "./log.js";
