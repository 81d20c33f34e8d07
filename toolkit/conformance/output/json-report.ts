import type { CheckResult, ConformanceReport } from "../check-result.js";

/** One check as `--json` prints it (contract section 6). */
export type JsonCheck = Pick<CheckResult, "id" | "clause" | "source" | "verdict" | "detail" | "fix">;

/** The `--json` document: `{"passed": bool, "checks": [...]}`. */
export interface JsonReport {
  passed: boolean;
  checks: JsonCheck[];
}

/** The report in the contract's `--json` shape: exactly these keys, `fix` only where there is one. */
export function toJsonReport(report: ConformanceReport): JsonReport {
  return {
    passed: report.passed,
    checks: report.checks.map(({ id, clause, source, verdict, detail, fix }) => ({ id, clause, source, verdict, detail, ...(fix === undefined ? {} : { fix }) })),
  };
}

/** The JSON Schema (draft 2020-12) of the `--json` document, for consumers that validate it. */
export const jsonReportSchema = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  $id: "https://predictor-runtime.dev/schemas/conform-report.json",
  title: "predictor-runtime conform --json",
  type: "object",
  additionalProperties: false,
  required: ["passed", "checks"],
  properties: {
    passed: { type: "boolean", description: "true when no applicable check failed" },
    checks: {
      type: "array",
      items: {
        type: "object",
        additionalProperties: false,
        required: ["id", "clause", "source", "verdict", "detail"],
        properties: {
          id: { type: "string", pattern: "^[a-z]+\\.[a-z0-9-]+$", description: "stable check id" },
          clause: { type: "string", minLength: 1 },
          source: { enum: ["Standard Webhooks", "Launch", "Modelbit", "Cortex"] },
          verdict: { enum: ["pass", "fail", "skip"] },
          detail: { type: "string", minLength: 1 },
          fix: { type: "string", minLength: 1 },
        },
        // A failure always says how to fix it.
        if: { properties: { verdict: { const: "fail" } } },
        then: { required: ["fix"], properties: { fix: { type: "string", minLength: 1 } } },
      },
    },
  },
} as const;
