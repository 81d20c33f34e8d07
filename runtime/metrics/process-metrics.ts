import { collectDefaultMetrics, Registry } from "prom-client";

let processRegistry: Registry | undefined;

/**
 * prom-client's default process and Node.js metrics (CPU, memory, event loop lag, GC, handles), in a registry of
 * their own, created once per process. They describe the process, not a runtime instance, and prom-client cannot
 * stop their collectors (an event-loop monitor, a GC observer): one set per process avoids leaking a set for every
 * runtime started in it, as tests do. Never the global default registry, which embedding code may use.
 */
export function processMetricsRegistry(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}
