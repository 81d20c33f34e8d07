import { describe, expect, it } from "vitest";
import { checkCatalog, checkIds } from "../../toolkit/conformance/check-catalog.js";

describe("the check catalog", () => {
  it("has the documented checks, in run order, with stable ids", () => {
    expect(checkIds).toEqual([
      "mtls.accepts-valid",
      "basic.accepts-valid",
      "signature.accepts-valid",
      "ack.completed",
      "ack.failed",
      "ack.latency",
      "ack.unknown-fields",
      "ack.large-report",
      "ack.duplicate",
      "ack.concurrent",
      "signature.rejects-missing",
      "signature.rejects-malformed",
      "signature.rejects-wrong",
      "signature.rejects-partial",
      "signature.rejects-stale",
      "signature.rejects-future",
      "signature.rejects-reserialized",
      "signature.accepts-rotation",
      "basic.rejects-missing",
      "basic.rejects-wrong",
      "mtls.rejects-no-cert",
      "mtls.rejects-expired",
      "mtls.rejects-wrong-eku",
      "mtls.rejects-foreign-ca",
    ]);
  });

  it("declares the dependency graph documented in check-catalog.ts", () => {
    const auth = ["mtls.accepts-valid", "basic.accepts-valid", "signature.accepts-valid"];
    const baseline = [...auth, "ack.completed"];
    const expected: Record<string, string[]> = {
      "mtls.accepts-valid": [],
      "basic.accepts-valid": ["mtls.accepts-valid"],
      "signature.accepts-valid": ["mtls.accepts-valid", "basic.accepts-valid"],
      "ack.completed": auth,
      "ack.failed": auth,
      "ack.latency": baseline,
      "signature.rejects-reserialized": [...baseline, "signature.rejects-wrong"],
    };
    for (const check of checkCatalog) expect(check.needs, check.id).toEqual(expected[check.id] ?? baseline);
  });

  it("runs every prerequisite before the checks that need it, and names what its failure means", () => {
    const seen = new Set<string>();
    for (const check of checkCatalog) {
      for (const need of check.needs) {
        expect(seen.has(need), `${check.id} needs ${need}, which must come first`).toBe(true);
        expect(checkCatalog.find((candidate) => candidate.id === need)?.whenNotPassed, need).toMatch(/^the receiver /);
      }
      seen.add(check.id);
    }
    expect(new Set(checkIds).size).toBe(checkIds.length);
  });

  it("gives every check a one-line clause, a known source, and the option that enables it where it has one", () => {
    for (const check of checkCatalog) {
      expect(check.id).toMatch(/^(ack|signature|basic|mtls)\.[a-z0-9-]+$/);
      expect(check.clause).toMatch(/^[a-z][^\n]{10,140}$/);
      const sources = typeof check.source === "function" ? [check.source("cortex"), check.source("launch")] : [check.source];
      for (const source of sources) expect(["Standard Webhooks", "Launch", "Modelbit", "Cortex"]).toContain(source);
      const group = check.id.split(".")[0];
      expect(check.requires, check.id).toBe(group === "ack" ? undefined : group === "signature" ? "secret" : group);
    }
  });
});
