import { describe, expect, it } from "vitest";
import { buildReport } from "../../runtime/outbox/report.js";
import {
  cortexCompletedReportSchema,
  cortexFailedReportSchema,
  cortexReportSchema,
  launchFailureReportSchema,
  launchReportSchema,
  launchSuccessReportSchema,
} from "../../runtime/outbox/report-schema.js";
import type { TaskOutcome } from "../../runtime/tasks/task.js";
import { createAjv2020 } from "../helpers/json-schema.js";

const ajv = createAjv2020();
const validateCortex = ajv.compile(cortexReportSchema);
const validateLaunch = ajv.compile(launchReportSchema);

const finishedAt = Date.UTC(2026, 10, 22, 9, 48, 29, 123);
const completed = (result: unknown): TaskOutcome => ({ status: "completed", resultJson: JSON.stringify(result), finishedAt });
const failed: TaskOutcome = { status: "failed", error: "model exploded", traceback: "Error: model exploded\n    at predict (sum.ts:3:9)", finishedAt };
const failedWithoutStack: TaskOutcome = { status: "failed", error: "model exploded", finishedAt };

/** Results of every JSON type, since `result` is whatever predict() returned. */
const results: unknown[] = [7, "text", null, true, [1, "a"], { nested: { deep: [null] } }];

describe("report schemas match what buildReport builds (so the OpenAPI callbacks cannot drift)", () => {
  it.each(results)("a completed Cortex report with result %j validates", (result) => {
    const report = buildReport("task-1", "cortex", completed(result));
    expect(validateCortex(report), JSON.stringify(validateCortex.errors)).toBe(true);
    expect(ajv.validate(cortexCompletedReportSchema, report)).toBe(true);
  });

  it("a failed Cortex report validates, and only against the failed variant", () => {
    const report = buildReport("task-1", "cortex", failed);
    expect(validateCortex(report), JSON.stringify(validateCortex.errors)).toBe(true);
    expect(ajv.validate(cortexFailedReportSchema, report)).toBe(true);
    expect(ajv.validate(cortexCompletedReportSchema, report)).toBe(false);
  });

  it.each(results)("a successful Launch report with result %j validates", (result) => {
    const report = buildReport("task-1", "launch", completed(result));
    expect(validateLaunch(report), JSON.stringify(validateLaunch.errors)).toBe(true);
    expect(ajv.validate(launchSuccessReportSchema, report)).toBe(true);
  });

  it.each([failed, failedWithoutStack])("a failed Launch report validates (traceback from the stack or the message)", (outcome) => {
    const report = buildReport("task-1", "launch", outcome);
    expect(validateLaunch(report), JSON.stringify(validateLaunch.errors)).toBe(true);
    expect(ajv.validate(launchFailureReportSchema, report)).toBe(true);
  });

  it("refuses bodies the builder never sends, so the schemas are not vacuous", () => {
    const good = buildReport("task-1", "cortex", completed(7)) as Record<string, unknown>;
    expect(validateCortex({ ...good, extra: 1 })).toBe(false);
    expect(validateCortex({ ...good, status: "SUCCESS" })).toBe(false);
    expect(validateCortex({ ...good, timestamp: "2026-11-22 09:48:29" })).toBe(false);
    expect(validateCortex({ ...good, timestamp: "2026-11-22T09:48:29Z" })).toBe(false); // no milliseconds
    const { result: _result, ...withoutResult } = good;
    expect(validateCortex(withoutResult)).toBe(false);
    const launchFailure = buildReport("task-1", "launch", failed) as Record<string, unknown>;
    expect(validateLaunch({ ...launchFailure, result: 1 })).toBe(false);
    expect(validateLaunch({ ...launchFailure, id: "task-1" })).toBe(false);
    // A Cortex body is not a Launch body and vice versa.
    expect(validateLaunch(good)).toBe(false);
    expect(validateCortex(launchFailure)).toBe(false);
  });
});
