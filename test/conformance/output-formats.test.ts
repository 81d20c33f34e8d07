import { XMLParser, XMLValidator } from "fast-xml-parser";
import { describe, expect, it } from "vitest";
import type { CheckResult, ConformanceReport } from "../../toolkit/conformance/check-result.js";
import { toJsonReport } from "../../toolkit/conformance/output/json-report.js";
import { toJunitXml } from "../../toolkit/conformance/output/junit-report.js";
import { ProgressLine } from "../../toolkit/conformance/output/progress-line.js";
import { summaryLine, toTable, wrap } from "../../toolkit/conformance/output/table-report.js";
import { createRedactor, redactOutcome } from "../../toolkit/conformance/redaction.js";

const checks: CheckResult[] = [
  { id: "ack.completed", clause: "acknowledges a completed report with 2xx", source: "Cortex", verdict: "pass", detail: "acknowledged: 200 after 3 ms", durationMs: 3 },
  {
    id: "signature.rejects-stale",
    clause: "rejects a stale timestamp",
    source: "Standard Webhooks",
    verdict: "fail",
    detail: 'accepted it: 200 {"note":"<b>&\'quoted\'</b>\u0001"} after 2 ms',
    fix: "refuse a webhook-timestamp more than 5 minutes from your clock, in either direction",
    durationMs: 2,
  },
  { id: "basic.rejects-missing", clause: "rejects missing credentials with 401", source: "Launch", verdict: "skip", detail: "not applicable: pass --basic USER:PASS to check basic auth", durationMs: 0 },
];
const report: ConformanceReport = { passed: false, checks, url: "http://127.0.0.1:9000/hook", startedAt: "2026-11-22T10:00:00.000Z", durationMs: 1234 };

describe("output formats", () => {
  it("JSON: exactly the contract's keys", () => {
    expect(toJsonReport(report)).toEqual({
      passed: false,
      checks: checks.map(({ durationMs: _durationMs, ...rest }) => rest),
    });
  });

  it("JUnit: well-formed XML even when a detail quotes markup and control characters", () => {
    const xml = toJunitXml(report);
    expect(XMLValidator.validate(xml)).toBe(true);
    const parsed = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "" }).parse(xml) as {
      testsuites: { testsuite: { tests: string; failures: string; skipped: string; time: string; testcase: { failure?: { message: string } }[] } };
    };
    const suite = parsed.testsuites.testsuite;
    expect([suite.tests, suite.failures, suite.skipped, suite.time]).toEqual(["3", "1", "1", "1.234"]);
    expect(suite.testcase[1]?.failure?.message).toBe('accepted it: 200 {"note":"<b>&\'quoted\'</b>\uFFFD"} after 2 ms');
  });

  it("table: one row per check, wrapped within the width, and a summary", () => {
    const table = toTable(report, { width: 80 });
    for (const line of table.split("\n")) expect(line.length, line).toBeLessThanOrEqual(80);
    expect(table.split("\n")[0]).toMatch(/^check\s+verdict\s+what was seen\s+how to fix$/);
    expect(table).toMatch(/^signature\.rejects-stale\s+FAIL\s+accepted it/m);
    expect(table).toMatch(/^basic\.rejects-missing\s+skip\s+not applicable/m);
    expect(table.trimEnd().endsWith(summaryLine(report))).toBe(true);
    expect(summaryLine(report)).toBe("3 checks: 1 passed, 1 failed, 1 skipped; the receiver fails");
  });

  it("wrap: breaks at spaces, and cuts words longer than the width", () => {
    expect(wrap("one two three", 7)).toEqual(["one two", "three"]);
    expect(wrap("abcdefghij k", 4)).toEqual(["abcd", "efgh", "ij k"]);
    expect(wrap("", 5)).toEqual([""]);
  });

  it("progress: one redrawn line on a terminal, a plain line per finished check otherwise", () => {
    const events = [
      { type: "run-started", url: "http://x/hook", total: 2 },
      { type: "check-started", id: "ack.completed", index: 0, total: 2 },
      { type: "check-finished", result: checks[0], index: 0, total: 2 },
      { type: "check-started", id: "signature.rejects-stale", index: 1, total: 2 },
      { type: "check-finished", result: checks[1], index: 1, total: 2 },
      { type: "check-started", id: "basic.rejects-missing", index: 2, total: 3 },
    ] as const;
    let tty = "";
    const live = new ProgressLine({ isTTY: true, columns: 0, write: (text: string) => (tty += text) });
    for (const event of events) live.update(event as Parameters<ProgressLine["update"]>[0]);
    live.finish();
    expect(tty).toBe(
      "conform: 2 checks against http://x/hook\n\r\u001b[2K[1/2] checking ack.completed ...\r\u001b[2K[2/2] checking signature.rejects-stale ..." +
        "\r\u001b[2K[3/3] checking basic.rejects-missing ... (1 failed so far)\r\u001b[2K",
    );
    let plain = "";
    const log = new ProgressLine({ write: (text: string) => (plain += text) });
    for (const event of events) log.update(event as Parameters<ProgressLine["update"]>[0]);
    log.finish();
    expect(plain).toBe("conform: 2 checks against http://x/hook\n[1/2] pass ack.completed\n[2/2] fail signature.rejects-stale\n");
    const narrow = new ProgressLine({ isTTY: true, columns: 20, write: (text: string) => (tty = text) });
    narrow.update(events[1] as Parameters<ProgressLine["update"]>[0]);
    expect(tty).toBe("\r\u001b[2K[1/2] checking ack.");
  });
});

describe("redaction", () => {
  it("blanks long secrets anywhere, short ones only where they stand alone", () => {
    const redact = createRedactor(["s3cr3t-value", "pw", ""]);
    expect(redact("got s3cr3t-value and xs3cr3t-valuex")).toBe("got [redacted] and x[redacted]x");
    expect(redact('{"password":"pw"} upward pwned')).toBe('{"password":"[redacted]"} upward pwned');
    expect(createRedactor([])("untouched")).toBe("untouched");
  });

  it("applies to what the receiver said: answer body, headers and connection errors", () => {
    const redact = createRedactor(["hunter2-long"]);
    expect(redactOutcome({ kind: "answered", status: 400, headers: { echo: "hunter2-long" }, body: "you sent hunter2-long", elapsedMs: 1 }, redact)).toEqual({
      kind: "answered",
      status: 400,
      headers: { echo: "[redacted]" },
      body: "you sent [redacted]",
      elapsedMs: 1,
    });
    expect(redactOutcome({ kind: "broken", error: "ECONNRESET hunter2-long", elapsedMs: 1 }, redact)).toMatchObject({ error: "ECONNRESET [redacted]" });
  });
});
