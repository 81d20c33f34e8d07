import type { TaskOutcome } from "./task.js";

/** An item's id in a batch: Modelbit numbers them; strings are taken too. */
export type BatchItemId = number | string;

/** One item of a batch: its id and its payload. */
export type BatchItem = readonly [BatchItemId, unknown];

/**
 * True when `data` has the shape of a Modelbit batch: a non-empty list whose every element is a two-element list
 * starting with an integer id (`[[1, payload], [2, payload]]`). Anything else is one payload. A caller whose single
 * payload has this shape, or whose batch uses string ids, says so with `?batch=false` / `?batch=true`.
 */
export function looksLikeBatch(data: unknown): boolean {
  return Array.isArray(data) && data.length > 0 && data.every((item) => Array.isArray(item) && item.length === 2 && Number.isInteger(item[0]));
}

/** The items of a batch, or what is wrong with it (for a caller who forced `?batch=true`). */
export function batchItems(data: unknown): { items: BatchItem[] } | { problem: string } {
  if (!Array.isArray(data) || data.length === 0) return { problem: 'a batch is a non-empty list of [ID, payload] pairs: {"data": [[1, {...}], [2, {...}]]}' };
  const seen = new Set<BatchItemId>();
  for (const [index, item] of data.entries()) {
    if (!Array.isArray(item) || item.length !== 2 || !(typeof item[0] === "string" || Number.isFinite(item[0]))) {
      return { problem: `batch item ${index} must be a pair [ID, payload] with a number or string ID; send one payload with ?batch=false` };
    }
    if (seen.has(item[0] as BatchItemId)) return { problem: `batch ID ${JSON.stringify(item[0])} appears twice; give each item its own ID` };
    seen.add(item[0] as BatchItemId);
  }
  return { items: data as BatchItem[] };
}

/** Numbers in numeric order, then strings in code-point order: how a batch's answers are sorted. */
function compareIds(a: BatchItemId, b: BatchItemId): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "number") return -1;
  if (typeof b === "number") return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Runs one prediction per item (`runOne` never rejects) and folds them into one outcome: completed with
 * `[[ID, result], ...]` sorted by ID, or failed naming the first item (in ID order) that failed. `concurrency` items
 * run at once.
 */
export async function runBatch(
  items: readonly BatchItem[],
  runOne: (payload: unknown, itemId: BatchItemId) => Promise<TaskOutcome>,
  options: { concurrency: number; now: () => number },
): Promise<TaskOutcome> {
  const sorted = [...items].sort((a, b) => compareIds(a[0], b[0]));
  const outcomes: TaskOutcome[] = new Array(sorted.length);
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(options.concurrency, sorted.length)) }, async () => {
    while (next < sorted.length) {
      const index = next++;
      const [id, payload] = sorted[index]!;
      outcomes[index] = await runOne(payload, id);
    }
  });
  await Promise.all(lanes);
  const parts: string[] = [];
  for (const [index, outcome] of outcomes.entries()) {
    const id = sorted[index]![0];
    if (outcome.status === "failed") {
      const failed: TaskOutcome = { status: "failed", error: `batch item ${JSON.stringify(id)} failed: ${outcome.error}`, finishedAt: options.now() };
      if (outcome.traceback !== undefined) failed.traceback = outcome.traceback;
      if (outcome.timedOut) failed.timedOut = true;
      return failed;
    }
    if (outcome.status === "cancelled") return { status: "cancelled", finishedAt: options.now() };
    parts.push(`[${JSON.stringify(id)},${outcome.resultJson}]`);
  }
  return { status: "completed", resultJson: `[${parts.join(",")}]`, finishedAt: options.now() };
}
