import { pino } from "pino";
import type { EngineHooks } from "../../runtime/engine/engine.js";
import { StoreEngine } from "../../runtime/engine/store-engine.js";
import type { TaskStore } from "../../runtime/store/task-store.js";

/** A StoreEngine over `store` with the core's `hooks`, as runtime.ts builds one (silent log, a week's retention). */
export function storeEngine(name: string, store: TaskStore, hooks: EngineHooks): StoreEngine {
  return new StoreEngine({ ...hooks, name, store, reportLeaseMs: 60_000, retentionMs: 7 * 24 * 3600 * 1000, log: pino({ level: "silent" }) });
}
