/** The outcome of one credential check; `reason` says what failed, never what was expected. */
export type CheckResult = { verdict: "pass" } | { verdict: "fail"; reason: string };

/** A passed check. */
export const passed: CheckResult = Object.freeze({ verdict: "pass" });

/** A failed check with its reason. */
export function failed(reason: string): CheckResult {
  return { verdict: "fail", reason };
}
