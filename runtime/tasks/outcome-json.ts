import type { TaskOutcome } from "./task.js";

/**
 * An outcome as a store keeps it: `JSON.stringify(outcome)` without `resultJson`, built around the result's JSON text
 * when the outcome carries it, so a large result is not serialized again.
 */
export function serializeOutcome(outcome: TaskOutcome): string {
  if (outcome.status !== "completed") return JSON.stringify(outcome);
  if (outcome.resultJson === undefined) return JSON.stringify({ status: outcome.status, result: outcome.result, finishedAt: outcome.finishedAt });
  return `{"status":"completed","result":${outcome.resultJson},"finishedAt":${JSON.stringify(outcome.finishedAt)}}`;
}
