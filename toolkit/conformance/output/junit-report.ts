import type { CheckResult, ConformanceReport } from "../check-result.js";

/** Characters XML 1.0 cannot carry at all; a receiver's answer quoted in a detail may hold them. */
const invalidXmlChars = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

function xml(text: string): string {
  return text
    .replace(invalidXmlChars, "\uFFFD")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

const seconds = (ms: number): string => (ms / 1000).toFixed(3);

function testcase(check: CheckResult): string {
  const attributes = `name="${xml(`${check.id}: ${check.clause}`)}" classname="conform.${xml(check.id.split(".")[0] ?? "check")}" time="${seconds(check.durationMs)}"`;
  switch (check.verdict) {
    case "pass":
      return `    <testcase ${attributes}>\n      <system-out>${xml(check.detail)}</system-out>\n    </testcase>`;
    case "skip":
      return `    <testcase ${attributes}>\n      <skipped message="${xml(check.detail)}"/>\n    </testcase>`;
    case "fail": {
      const body = [`clause: ${check.clause} (${check.source})`, `seen: ${check.detail}`, ...(check.fix === undefined ? [] : [`fix: ${check.fix}`])].join("\n");
      return `    <testcase ${attributes}>\n      <failure message="${xml(check.detail)}" type="${xml(check.id)}">${xml(body)}</failure>\n    </testcase>`;
    }
  }
}

/**
 * The report as JUnit XML (the Jenkins / GitLab / GitHub dialect): one testsuite, one testcase per check, a
 * `failure` element for each failed check and a `skipped` one for each skip, with counts that match the table.
 */
export function toJunitXml(report: ConformanceReport): string {
  const count = (verdict: CheckResult["verdict"]): number => report.checks.filter((check) => check.verdict === verdict).length;
  const totals = `tests="${report.checks.length}" failures="${count("fail")}" errors="0" skipped="${count("skip")}" time="${seconds(report.durationMs)}"`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="predictor-runtime conform" ${totals}>`,
    `  <testsuite name="${xml(`webhook receiver conformance: ${report.url}`)}" ${totals} timestamp="${report.startedAt}">`,
    ...report.checks.map(testcase),
    "  </testsuite>",
    "</testsuites>",
    "",
  ].join("\n");
}
