import type { ReportFormat, TaskOutcome } from "../tasks/task.js";

/** The Cortex-surface report (contract section 4). */
export type CortexReport =
  | { id: string; status: "completed"; result: unknown; timestamp: string }
  | { id: string; status: "failed"; error: string; timestamp: string };

/** The Launch-surface report (contract section 4). */
export interface LaunchReport {
  task_id: string;
  status: "SUCCESS" | "FAILURE";
  result: unknown;
  traceback?: string;
  timestamp: string;
}

/** The one terminal webhook report of a task, in the format of the surface it came in through. */
export function buildReport(taskId: string, format: ReportFormat, outcome: TaskOutcome): CortexReport | LaunchReport {
  // When the task finished, not when this attempt is sent: retries carry the same body.
  const timestamp = new Date(outcome.finishedAt).toISOString();
  if (format === "launch") {
    return outcome.status === "completed"
      ? { task_id: taskId, status: "SUCCESS", result: outcome.result, timestamp }
      : { task_id: taskId, status: "FAILURE", result: null, traceback: outcome.traceback ?? outcome.error, timestamp };
  }
  return outcome.status === "completed"
    ? { id: taskId, status: "completed", result: outcome.result, timestamp }
    : { id: taskId, status: "failed", error: outcome.error, timestamp };
}

/**
 * The report's body: `JSON.stringify(buildReport(...))`, byte for byte, built around the result's JSON text when the
 * outcome carries it, so a large result is not serialized again.
 */
export function serializeReport(taskId: string, format: ReportFormat, outcome: TaskOutcome): string {
  if (outcome.status !== "completed" || outcome.resultJson === undefined) return JSON.stringify(buildReport(taskId, format, outcome));
  const id = JSON.stringify(taskId);
  const timestamp = new Date(outcome.finishedAt).toISOString();
  return format === "launch"
    ? `{"task_id":${id},"status":"SUCCESS","result":${outcome.resultJson},"timestamp":"${timestamp}"}`
    : `{"id":${id},"status":"completed","result":${outcome.resultJson},"timestamp":"${timestamp}"}`;
}

/** The `"timestamp":"...."}` that ends every report `buildReport` builds (both formats put timestamp last). */
const TRAILING_TIMESTAMP = /"timestamp":"([^"\\]+)"\}$/;

/**
 * When the task of a serialized report finished (epoch ms), read from the body's end without parsing the whole
 * body, which may hold a large result. Undefined for a body this module did not build.
 */
export function finishedAtOfReport(body: string): number | undefined {
  const match = TRAILING_TIMESTAMP.exec(body.slice(-64));
  if (match === null) return undefined;
  const finishedAt = Date.parse(match[1]!);
  return Number.isNaN(finishedAt) ? undefined : finishedAt;
}
