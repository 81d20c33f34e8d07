import type { ApiConfig } from "../config/api-config.js";
import type { NewDelivery } from "../tasks/delivery.js";
import type { TaskOutcome, TaskRecord } from "../tasks/task.js";
import { planDelivery } from "./plan-delivery.js";
import { serializeReport } from "./report.js";

/**
 * Builds a finished task's report, once: its body (the bytes every attempt sends under one webhook-id), where it
 * goes and when it is first due, or why none is sent. Every engine calls it where a task finishes.
 */
export function reportPlanner(apis: ReadonlyMap<string, ApiConfig>, now: () => number = Date.now, random?: () => number) {
  return (task: TaskRecord, outcome: TaskOutcome): NewDelivery | null => {
    const api = apis.get(task.api);
    if (api === undefined) throw new Error(`task ${task.id} belongs to API ${task.api}, which is not loaded`);
    return planDelivery(api, task, serializeReport(task.id, task.format, outcome), now(), random);
  };
}
