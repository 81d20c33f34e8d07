import { describe, expect, it } from "vitest";
import { buildReport, finishedAtOfReport, serializeReport } from "../../runtime/outbox/report.js";
import { serializeOutcome } from "../../runtime/tasks/outcome-json.js";
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

describe("serializeReport and serializeOutcome, built around the result's JSON text", () => {
  const results: unknown[] = [
    { label: "cat", scores: [0.1, 0.9], nested: { deep: [null, true, "x"] } },
    [1, 2.5, -3e-7, "é ☃ 🐈", '"quoted" \\ back\nslash'],
    "a plain string",
    0,
    null,
    { "": "empty key", "\u2028": "line separator" },
  ];

  it.each(["cortex", "launch"] as const)("gives the same bytes as serializing the whole %s report", (format) => {
    for (const result of results) {
      const resultJson = JSON.stringify(result);
      const withText: TaskOutcome = { status: "completed", result, resultJson, finishedAt };
      expect(serializeReport("0193-task \"id\"", format, withText)).toBe(JSON.stringify(buildReport("0193-task \"id\"", format, completed(result))));
    }
    expect(serializeReport("t", format, failed)).toBe(JSON.stringify(buildReport("t", format, failed)));
  });

  it("stores an outcome as its JSON without the text it carries", () => {
    for (const result of results) {
      const stored = serializeOutcome({ status: "completed", result, resultJson: JSON.stringify(result), finishedAt });
      expect(JSON.parse(stored)).toEqual({ status: "completed", result, finishedAt });
      expect(serializeOutcome(completed(result))).toBe(stored);
    }
    expect(JSON.parse(serializeOutcome(failed))).toEqual(failed);
  });
});
