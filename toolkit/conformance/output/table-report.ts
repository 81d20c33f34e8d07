import type { CheckResult, ConformanceReport } from "../check-result.js";

/** Options of {@link toTable}. */
export interface TableOptions {
  /** Characters per line; long cells wrap. @defaultValue 120 */
  width?: number;
}

const verdictLabel: Record<CheckResult["verdict"], string> = { pass: "pass", fail: "FAIL", skip: "skip" };

/** Splits text into lines of at most `width` characters, at spaces where it can. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter((part) => part !== "")) {
    let rest = word;
    while (rest.length > width) {
      if (line !== "") {
        lines.push(line);
        line = "";
      }
      lines.push(rest.slice(0, width));
      rest = rest.slice(width);
    }
    if (line === "") line = rest;
    else if (line.length + 1 + rest.length <= width) line = `${line} ${rest}`;
    else {
      lines.push(line);
      line = rest;
    }
  }
  if (line !== "") lines.push(line);
  return lines.length === 0 ? [""] : lines;
}

/** `24 checks: 20 passed, 1 failed, 3 skipped` */
export function summaryLine(report: ConformanceReport): string {
  const count = (verdict: CheckResult["verdict"]): number => report.checks.filter((check) => check.verdict === verdict).length;
  const verdict = report.passed ? "the receiver passes every applicable check" : "the receiver fails";
  return `${report.checks.length} checks: ${count("pass")} passed, ${count("fail")} failed, ${count("skip")} skipped; ${verdict}`;
}

/**
 * The report as a plain-text table for a terminal: check, verdict, what was seen, how to fix. Cells wrap within
 * their column; a summary line ends it.
 */
export function toTable(report: ConformanceReport, options: TableOptions = {}): string {
  const width = Math.max(options.width ?? 120, 72);
  const idWidth = Math.min(Math.max(5, ...report.checks.map((check) => check.id.length)), 32);
  const verdictWidth = 7;
  const gaps = 3 * 2;
  const free = width - idWidth - verdictWidth - gaps;
  // The fix column takes what its longest fix needs, up to 45%: a passing run gives "what was seen" the room.
  const longestFix = Math.max("how to fix".length, ...report.checks.map((check) => check.fix?.length ?? 0));
  const fixWidth = Math.min(longestFix, Math.floor(free * 0.45));
  const seenWidth = free - fixWidth;
  const widths = [idWidth, verdictWidth, seenWidth, fixWidth];
  const row = (cells: string[][]): string[] => {
    const height = Math.max(...cells.map((cell) => cell.length));
    return Array.from({ length: height }, (_, line) =>
      cells
        .map((cell, column) => (cell[line] ?? "").padEnd(widths[column] ?? 0))
        .join("  ")
        .trimEnd(),
    );
  };
  const lines = [
    ...row([["check"], ["verdict"], ["what was seen"], ["how to fix"]]),
    widths.map((columnWidth) => "-".repeat(columnWidth)).join("  "),
  ];
  for (const check of report.checks) {
    lines.push(...row([wrap(check.id, idWidth), [verdictLabel[check.verdict]], wrap(check.detail, seenWidth), wrap(check.fix ?? "", fixWidth)]));
  }
  lines.push("", summaryLine(report), "");
  return lines.join("\n");
}
