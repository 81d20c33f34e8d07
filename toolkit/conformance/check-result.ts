/** Where a check's clause comes from. */
export type CheckSource = "Standard Webhooks" | "Launch" | "Modelbit" | "Cortex";

/** A check's verdict: `skip` when its flag was not given or a check it needs did not pass. */
export type CheckVerdict = "pass" | "fail" | "skip";

/** The result of one check, as `--json` prints it (plus its duration). */
export interface CheckResult {
  /** Stable id, such as `signature.rejects-stale`. */
  id: string;
  /** The one-line rule the check enforces. */
  clause: string;
  source: CheckSource;
  verdict: CheckVerdict;
  /** What was seen (pass, fail), or why the check did not run (skip). */
  detail: string;
  /** How to fix the receiver; present on failures. */
  fix?: string;
  /** How long the check took. */
  durationMs: number;
}

/** Everything `runConformance` found. */
export interface ConformanceReport {
  /** True when no applicable check failed (skips do not fail a run). */
  passed: boolean;
  /** Every check, in the order they ran. */
  checks: CheckResult[];
  /** The receiver URL without its query string. */
  url: string;
  /** When the run started (ISO 8601, UTC). */
  startedAt: string;
  durationMs: number;
}
