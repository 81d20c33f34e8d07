import { describe, expect, it } from "vitest";
import { buildReport, finishedAtOfReport, serializeReport } from "../../runtime/outbox/report.js";
import { parseStoredOutcome, serializeOutcome } from "../../runtime/tasks/outcome-json.js";
import type { TaskOutcome } from "../../runtime/tasks/task.js";

const finishedAt = Date.UTC(2026, 10, 22, 9, 48, 29, 123);
const completed = (result: unknown): TaskOutcome => ({ status: "completed", resultJson: JSON.stringify(result), finishedAt });
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

  it.each(["cortex", "launch"] as const)("gives the bytes of JSON.stringify of the whole %s report, the result embedded as its text", (format) => {
    for (const result of results) {
      const body = serializeReport('0193-task "id"', format, completed(result));
      expect(body).toBe(JSON.stringify(buildReport('0193-task "id"', format, completed(result))));
      expect(JSON.parse(body)).toMatchObject({ result });
    }
    expect(serializeReport("t", format, failed)).toBe(JSON.stringify(buildReport("t", format, failed)));
  });

  it("embeds the result text as it is, whitespace included, without parsing it again", () => {
    const outcome: TaskOutcome = { status: "completed", resultJson: '{ "spaced" : [1, 2] }', finishedAt };
    expect(serializeReport("t", "cortex", outcome)).toBe(`{"id":"t","status":"completed","result":{ "spaced" : [1, 2] },"timestamp":"2026-11-22T09:48:29.123Z"}`);
  });

  it("reports a cancelled task as cancelled (Cortex) and as a FAILURE with traceback cancelled (Launch)", () => {
    const cancelled: TaskOutcome = { status: "cancelled", finishedAt };
    expect(JSON.parse(serializeReport("t", "cortex", cancelled))).toEqual({ id: "t", status: "cancelled", timestamp: "2026-11-22T09:48:29.123Z" });
    expect(JSON.parse(serializeReport("t", "launch", cancelled))).toEqual({
      task_id: "t",
      status: "FAILURE",
      result: null,
      traceback: "cancelled",
      timestamp: "2026-11-22T09:48:29.123Z",
    });
  });

  it("stores an outcome as JSON and reads a completed one's result back as the same text, unparsed", () => {
    for (const result of results) {
      const outcome = completed(result);
      const stored = serializeOutcome(outcome);
      expect(JSON.parse(stored)).toEqual({ status: "completed", result, finishedAt });
      expect(parseStoredOutcome(stored)).toEqual(outcome);
    }
    // A result whose own text ends the way the stored form does is still cut at the real end.
    const tricky = completed({ text: ',"finishedAt":1}' });
    expect(parseStoredOutcome(serializeOutcome(tricky))).toEqual(tricky);
    for (const other of [failed, { status: "cancelled", finishedAt } as TaskOutcome]) expect(parseStoredOutcome(serializeOutcome(other))).toEqual(other);
  });

  it("reads outcomes stored by earlier versions (JSON.stringify of the whole outcome)", () => {
    expect(parseStoredOutcome(JSON.stringify({ status: "completed", result: { a: [1] }, finishedAt }))).toEqual(completed({ a: [1] }));
  });
});
