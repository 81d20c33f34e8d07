import { describe, expect, it } from "vitest";
import type { CheckResult } from "../../../toolkit/conformance/check-result.js";
import type { ConformanceCertificates } from "../../../toolkit/conformance/conformance-options.js";
import { runConformance } from "../../../toolkit/conformance/run-conformance.js";
import { credentials } from "./fixtures.js";

/** How a receiver under test is configured: which credentials it checks. */
export interface ReceiverSetup {
  secret?: string;
  basic?: { username: string; password: string };
  /** Serve HTTPS and require client certificates from the fixture CA. */
  mtls: boolean;
}

/** Starts a conformant receiver with that setup and resolves with the URL to check; the caller cleans up. */
export type StartConformantReceiver = (setup: ReceiverSetup) => Promise<string>;

function verdicts(checks: readonly CheckResult[]): Record<string, string> {
  return Object.fromEntries(checks.map((check) => [check.id, check.verdict]));
}

/**
 * The contract suite for conformant receivers, behind one factory, so any implementation runs the same numbered
 * sections: the project's mock receiver, and one written by someone else in another language.
 */
export function describeConformantReceiver(name: string, start: StartConformantReceiver, certificates: () => ConformanceCertificates): void {
  describe(`${name} (conformant)`, () => {
    const all = { secret: credentials.secret, basic: { username: credentials.username, password: credentials.password }, mtls: true };

    it("1. passes every check with a secret, basic credentials and client certificates, Cortex reports", async () => {
      const url = await start(all);
      const report = await runConformance({ url, format: "cortex", secret: credentials.secret, basic: all.basic, mtls: certificates() });
      expect(report.checks.filter((check) => check.verdict !== "pass")).toEqual([]);
      expect(report.passed).toBe(true);
      expect(report.checks).toHaveLength(24);
    });

    it("2. passes every check with Launch reports", async () => {
      const url = await start(all);
      const report = await runConformance({ url, format: "launch", secret: credentials.secret, basic: all.basic, mtls: certificates() });
      expect(report.checks.filter((check) => check.verdict !== "pass")).toEqual([]);
      expect(report.checks.find((check) => check.id === "ack.completed")?.source).toBe("Launch");
    });

    it("3. without credentials: the acknowledgement checks pass, the credential checks are skipped as not applicable", async () => {
      const url = await start({ mtls: false });
      const report = await runConformance({ url });
      const seen = verdicts(report.checks);
      const ackIds = report.checks.filter((check) => check.id.startsWith("ack.")).map((check) => check.id);
      expect(ackIds).toEqual(["ack.completed", "ack.failed", "ack.latency", "ack.unknown-fields", "ack.large-report", "ack.duplicate", "ack.concurrent"]);
      for (const id of ackIds) expect(seen[id], id).toBe("pass");
      for (const check of report.checks.filter((check) => !check.id.startsWith("ack."))) {
        expect(check.verdict, check.id).toBe("skip");
        expect(check.detail, check.id).toMatch(/^not applicable: pass --(secret|basic|mtls) /);
      }
      expect(report.passed).toBe(true);
    });

    it("4. with one credential at a time, that credential's checks pass", async () => {
      for (const [setup, flags, group] of [
        [{ secret: credentials.secret, mtls: false }, { secret: credentials.secret }, "signature."],
        [{ basic: all.basic, mtls: false }, { basic: all.basic }, "basic."],
      ] as const) {
        const url = await start(setup);
        const report = await runConformance({ url, ...flags });
        const checks = report.checks.filter((check) => check.id.startsWith(group));
        expect(checks.length, group).toBeGreaterThan(1);
        expect(checks.filter((check) => check.verdict !== "pass"), group).toEqual([]);
        expect(report.passed, group).toBe(true);
      }
    });
  });
}
