/** The runtime's public API: the Predictor type predictor classes implement, and the runtime for embedding. */
export type { PredictContext, Predictor, PredictorClass } from "./predictor/predictor.js";
export type { ApiConfig, RuntimeConfig, WebhookConfig } from "./config/api-config.js";
export { loadConfig, parseConfig } from "./config/load-config.js";
export { PredictorRuntime, type EngineContext, type RuntimeOptions } from "./runtime.js";
export type { Engine, EngineHooks, ReportAttempter, TaskWorker } from "./engine/engine.js";
export { BullmqEngine, type BullmqEngineOptions } from "./engine/bullmq-engine.js";
export { ConfigError, ErrorCode, RuntimeError, RequestError } from "./errors.js";
export type { TaskStore } from "./store/task-store.js";
export { SqliteTaskStore } from "./store/sqlite-task-store.js";
export { createLogger } from "./log.js";
