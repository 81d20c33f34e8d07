import { expect } from "vitest";
import { checkCatalog, checkIds } from "../../../toolkit/conformance/check-catalog.js";
import type { CheckRequirement } from "../../../toolkit/conformance/check-definition.js";
import type { ConformanceReport } from "../../../toolkit/conformance/check-result.js";

/** The checks that cannot run once `failed` fails: everything that needs it, directly or through others. */
export function dependentsOf(failed: string, applicable: ReadonlySet<string>): Set<string> {
  const dependents = new Set<string>();
  for (const check of checkCatalog) {
    if (!applicable.has(check.id)) continue;
    if (check.needs.some((need) => need === failed || dependents.has(need))) dependents.add(check.id);
  }
  return dependents;
}

/**
 * Asserts that `check` is the only failure, and that the skips are exactly the checks whose option was not given
 * plus the checks that declare (transitively) that they need `check`, each naming it as the root cause.
 */
export function expectExactlyOneFailure(report: ConformanceReport, check: string, flags: ReadonlySet<CheckRequirement>): void {
  const applicable = new Set(checkCatalog.filter((definition) => definition.requires === undefined || flags.has(definition.requires)).map((definition) => definition.id));
  const verdicts = Object.fromEntries(report.checks.map((result) => [result.id, result.verdict]));
  expect(report.checks.filter((result) => result.verdict === "fail").map((result) => result.id)).toEqual([check]);
  const dependents = dependentsOf(check, applicable);
  const expectedSkips = new Set([...checkIds.filter((id) => !applicable.has(id)), ...dependents]);
  expect(new Set(Object.keys(verdicts).filter((id) => verdicts[id] === "skip"))).toEqual(expectedSkips);
  expect(report.passed).toBe(false);
  expect(report.checks.find((result) => result.id === check)?.fix, "a failure says how to fix it").toMatch(/\w{3,}/);
  for (const dependent of dependents) {
    expect(report.checks.find((result) => result.id === dependent)?.detail, dependent).toMatch(
      new RegExp(`^not checked: .+ \\(see ${check.replace(".", "\\.")}\\)$`),
    );
  }
}
