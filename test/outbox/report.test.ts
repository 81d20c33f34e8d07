import { describe, expect, it } from "vitest";
import { buildReport, finishedAtOfReport } from "../../runtime/outbox/report.js";
import type { TaskOutcome } from "../../runtime/tasks/task.js";

const finishedAt = Date.UTC(2026, 10, 22, 9, 48, 29, 123);
const completed = (result: unknown): TaskOutcome => ({ status: "completed", result, finishedAt });
const failed: TaskOutcome = { status: "failed", error: "model exploded", traceback: "Error: model exploded", finishedAt };

describe("finishedAtOfReport", () => {
  it.each(["cortex", "launch"] as const)("reads when the task finished from the end of a serialized %s report", (format) => {
    for (const outcome of [completed({ timestamp: "1999-01-01T00:00:00.000Z", text: '"timestamp":"x"}' }), failed]) {
      expect(finishedAtOfReport(JSON.stringify(buildReport("task-1", format, outcome)))).toBe(finishedAt);
    }
  });

  it("is undefined for a body the builder did not make", () => {
    expect(finishedAtOfReport('{"timestamp":"not a date"}')).toBeUndefined();
    expect(finishedAtOfReport('{"id":"x","timestamp":"2026-11-22T09:48:29.123Z","extra":1}')).toBeUndefined();
    expect(finishedAtOfReport("")).toBeUndefined();
  });
});
