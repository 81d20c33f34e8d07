import { RawJson, stringifyMembers } from "../shared/raw-json.js";
import type { TaskOutcome } from "./task.js";

/**
 * An outcome as a store keeps it: its JSON, with a completed task's result embedded as its text. The shape is fixed
 * (`{"status":"completed","result":<text>,"finishedAt":<ms>}`) so {@link parseStoredOutcome} can take the result's
 * text back out without parsing it.
 */
export function serializeOutcome(outcome: TaskOutcome): string {
  if (outcome.status !== "completed") return JSON.stringify(outcome);
  return stringifyMembers({ status: "completed", result: new RawJson(outcome.resultJson), finishedAt: outcome.finishedAt });
}

const COMPLETED_PREFIX = '{"status":"completed","result":';
const COMPLETED_SUFFIX = /,"finishedAt":(\d+)\}$/;

/**
 * The outcome {@link serializeOutcome} stored. A completed outcome's result is sliced out as text, never parsed, so
 * no result (of any size or depth) costs a parse or can blow a stack where it is read; only the small failed and
 * cancelled outcomes are parsed.
 */
export function parseStoredOutcome(text: string): TaskOutcome {
  if (text.startsWith(COMPLETED_PREFIX)) {
    const suffix = COMPLETED_SUFFIX.exec(text.slice(-40));
    if (suffix !== null) {
      return { status: "completed", resultJson: text.slice(COMPLETED_PREFIX.length, text.length - suffix[0].length), finishedAt: Number(suffix[1]) };
    }
  }
  try {
    const outcome = JSON.parse(text) as TaskOutcome;
    if (outcome !== null && typeof outcome === "object" && typeof outcome.status === "string") return outcome;
  } catch {
    // Falls through: a damaged row answers as a failed task rather than failing every read of it.
  }
  return { status: "failed", error: "the stored outcome of this task could not be read (the database row is damaged)", finishedAt: 0 };
}
