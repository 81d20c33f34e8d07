import { parseMembers, RawJson, stringifyMembers, type JsonMembers } from "../shared/raw-json.js";
import type { ReportFormat, TaskOutcome } from "../tasks/task.js";

/** The Cortex-surface report (contract section 4). */
export type CortexReport =
  | { id: string; status: "completed"; result: unknown; timestamp: string }
  | { id: string; status: "failed"; error: string; timestamp: string }
  | { id: string; status: "cancelled"; timestamp: string };

/** The Launch-surface report (contract section 4). */
export interface LaunchReport {
  task_id: string;
  status: "SUCCESS" | "FAILURE";
  result: unknown;
  traceback?: string;
  timestamp: string;
}

/** What a cancelled task's Launch report and status carry as its traceback (the Launch client knows no other end). */
export const LAUNCH_CANCELLED_TRACEBACK = "cancelled";

/**
 * The members of a task's one terminal report, in the format of the surface it came in through, the result as the
 * JSON text it was serialized to. Both formats put `timestamp` last (see {@link finishedAtOfReport}).
 */
function reportMembers(taskId: string, format: ReportFormat, outcome: TaskOutcome): JsonMembers {
  // When the task finished, not when this attempt is sent: retries carry the same body.
  const timestamp = new Date(outcome.finishedAt).toISOString();
  if (format === "launch") {
    switch (outcome.status) {
      case "completed":
        return { task_id: taskId, status: "SUCCESS", result: new RawJson(outcome.resultJson), timestamp };
      case "failed":
        return { task_id: taskId, status: "FAILURE", result: null, traceback: outcome.traceback ?? outcome.error, timestamp };
      case "cancelled":
        return { task_id: taskId, status: "FAILURE", result: null, traceback: LAUNCH_CANCELLED_TRACEBACK, timestamp };
    }
  }
  switch (outcome.status) {
    case "completed":
      return { id: taskId, status: "completed", result: new RawJson(outcome.resultJson), timestamp };
    case "failed":
      return { id: taskId, status: "failed", error: outcome.error, timestamp };
    case "cancelled":
      return { id: taskId, status: "cancelled", timestamp };
  }
}

/** The report as an object (OpenAPI examples, the conformance suite, tests). */
export function buildReport(taskId: string, format: ReportFormat, outcome: TaskOutcome): CortexReport | LaunchReport {
  return parseMembers(reportMembers(taskId, format, outcome)) as unknown as CortexReport | LaunchReport;
}

/** The report's body, sent as it is on every attempt: the result's JSON text is embedded, never parsed. */
export function serializeReport(taskId: string, format: ReportFormat, outcome: TaskOutcome): string {
  return stringifyMembers(reportMembers(taskId, format, outcome));
}

/** The `"timestamp":"...."}` that ends every report this module builds. */
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
