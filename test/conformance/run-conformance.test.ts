import { afterEach, describe, expect, it } from "vitest";
import { checkIds } from "../../toolkit/conformance/check-catalog.js";
import type { ConformanceProgress } from "../../toolkit/conformance/conformance-options.js";
import { runConformance } from "../../toolkit/conformance/run-conformance.js";
import { startReceiver, type MockReceiver } from "../../toolkit/receiver/receiver.js";
import { credentials, useCertificates } from "./helpers/fixtures.js";

const fixtures = useCertificates();
const open: MockReceiver[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((receiver) => receiver.close()));
});

describe("runConformance", () => {
  it("reports progress for every check in order, and describes the run", async () => {
    const receiver = await startReceiver();
    open.push(receiver);
    const events: ConformanceProgress[] = [];
    const report = await runConformance({ url: `${receiver.url}/hook?token=kept-out-of-output`, onProgress: (event) => events.push(event) });
    expect(events[0]).toEqual({ type: "run-started", url: `${receiver.url}/hook`, total: 24 });
    const started = events.filter((event) => event.type === "check-started").map((event) => event.id);
    const finished = events.flatMap((event) => (event.type === "check-finished" ? [event.result.id] : []));
    expect(started).toEqual(checkIds);
    expect(finished).toEqual(checkIds);
    expect(report.url).toBe(`${receiver.url}/hook`);
    expect(JSON.stringify(report)).not.toContain("kept-out-of-output");
    expect(Date.parse(report.startedAt)).toBeLessThanOrEqual(Date.now());
    expect(report.durationMs).toBeGreaterThanOrEqual(report.checks.reduce((sum, check) => sum + check.durationMs, 0) - 24);
    // The receiver saw the query string: deliveries go to the URL exactly as given.
    expect(receiver.deliveries[0]?.query).toEqual({ token: "kept-out-of-output" });
  });

  it("says when a receiver wants credentials the suite was not given", async () => {
    const receiver = await startReceiver({ secret: credentials.secret });
    open.push(receiver);
    const report = await runConformance({ url: `${receiver.url}/hook` });
    expect(report.checks.find((check) => check.id === "ack.completed")?.detail).toMatch(
      /^did not acknowledge a completed report: 401 .+ \(the receiver wants credentials: pass --secret, --basic or --mtls as it needs\)$/,
    );
  });

  it("names the root cause through chains of skips", async () => {
    const certs = fixtures.certs();
    const receiver = await startReceiver({ tls: certs.server, clientCa: certs["foreign-ca"].cert, secret: credentials.secret });
    open.push(receiver);
    const report = await runConformance({ url: `${receiver.url}/hook`, secret: credentials.secret, mtls: certs });
    const detailOf = (id: string): string | undefined => report.checks.find((check) => check.id === id)?.detail;
    const root = "not checked: the receiver refuses deliveries that present the good client certificate (see mtls.accepts-valid)";
    // signature.rejects-reserialized needs signature.rejects-wrong, itself skipped: the root is still the mTLS control.
    for (const id of ["signature.accepts-valid", "ack.completed", "ack.latency", "signature.rejects-reserialized", "mtls.rejects-expired"]) expect(detailOf(id), id).toBe(root);
    expect(detailOf("basic.rejects-wrong")).toBe("not applicable: pass --basic USER:PASS to check basic auth");
    expect(detailOf("mtls.accepts-valid")).toMatch(/^rejected deliveries carrying the good client certificate: completed report 403 .+ The deliveries also carried a valid signature, so the refusal may be theirs: run with --mtls alone to tell\.$/);
  });
});
