import { parseMembers, RawJson, stringifyMembers, type JsonMembers } from "../shared/raw-json.js";
import type { ReportFormat, TaskOutcome } from "../tasks/task.js";

/** The Cortex-surface report (contract section 4). */
export type CortexReport =
  | { id: string; status: "completed"; result: unknown; timestamp: string }
  | { id: string; status: "failed"; error: string; timestamp: string }
  | { id: string; status: "cancelled"; timestamp: string };

/** The Modelbit-surface report: the body the synchronous call would have answered. */
export type ModelbitReport = { data: unknown } | { error: string };

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
 * JSON text it was serialized to. The Cortex and Launch formats put `timestamp` last (see {@link finishedAtOfReport}).
 */
function reportMembers(taskId: string, format: ReportFormat, outcome: TaskOutcome): JsonMembers {
  // When the task finished, not when this attempt is sent: retries carry the same body.
  const timestamp = new Date(outcome.finishedAt).toISOString();
  if (format === "modelbit") return modelbitAnswerMembers(outcome);
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

/**
 * Modelbit's answer, the same whether it is the synchronous call's body or POSTed to its response_webhook:
 * `{"data": <result>}`, or `{"error": "..."}` when predict() failed (a batch's result is already `[[ID, result], ...]`).
 * It has no timestamp: Modelbit's body has none.
 */
function modelbitAnswerMembers(outcome: TaskOutcome): JsonMembers {
  switch (outcome.status) {
    case "completed":
      return { data: new RawJson(outcome.resultJson) };
    case "failed":
      return { error: outcome.error };
    case "cancelled":
      return { error: "the request was cancelled" };
  }
}

/** Headers a report of this format carries besides the standard ones: Modelbit's `x-mb-batch-id` (the task id). */
export function reportHeadersOf(taskId: string, format: ReportFormat): Record<string, string> | undefined {
  return format === "modelbit" ? { [MODELBIT_BATCH_ID_HEADER]: taskId } : undefined;
}

/** The header naming a Modelbit request's batch, on the immediate answer and on the webhook POST. */
export const MODELBIT_BATCH_ID_HEADER = "x-mb-batch-id";

/** Modelbit's answer as JSON text (see {@link modelbitAnswerMembers}). */
export function modelbitAnswerJson(outcome: TaskOutcome): string {
  return stringifyMembers(modelbitAnswerMembers(outcome));
}

/** The report as an object (OpenAPI examples, the conformance suite, tests). */
export function buildReport(taskId: string, format: ReportFormat, outcome: TaskOutcome): CortexReport | LaunchReport | ModelbitReport {
  return parseMembers(reportMembers(taskId, format, outcome)) as unknown as CortexReport | LaunchReport | ModelbitReport;
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
