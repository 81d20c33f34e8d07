import { describe, expect, it } from "vitest";
import type { ConformanceOptions } from "../../toolkit/conformance/conformance-options.js";
import type { JsonReport } from "../../toolkit/conformance/output/json-report.js";
import { runConformance } from "../../toolkit/conformance/run-conformance.js";
import { describeConformantReceiver, type ReceiverSetup } from "./helpers/conformant-receiver-suite.js";
import { expectExactlyOneFailure } from "./helpers/expect-one-failure.js";
import { basicFlag, credentials, useCertificates } from "./helpers/fixtures.js";
import { runCli, usePythonReceivers } from "./helpers/processes.js";

/**
 * "Against a conformant receiver written by someone else, in another language, every check passes; against
 * receivers that each break one clause, exactly that clause's check fails and the exit code is 1."
 */

const fixtures = useCertificates();
const startPython = usePythonReceivers();

/** The Python receiver's flags for a setup, and the URL to check. */
async function startReceiver(setup: ReceiverSetup, breaks: readonly string[] = []): Promise<string> {
  const args = [
    ...(setup.secret === undefined ? [] : ["--secret", setup.secret]),
    ...(setup.basic === undefined ? [] : ["--basic", `${setup.basic.username}:${setup.basic.password}`]),
    ...(setup.mtls ? ["--mtls", fixtures.dir()] : []),
    ...breaks.flatMap((name) => ["--break", name]),
  ];
  const { port } = await startPython(args);
  return `${setup.mtls ? "https" : "http"}://127.0.0.1:${port}/webhooks/predictions?tenant=t1`;
}

describeConformantReceiver("a receiver in Python, standard library only", (setup) => startReceiver(setup), () => fixtures.certs());

const everything: ReceiverSetup = {
  secret: credentials.secret,
  basic: { username: credentials.username, password: credentials.password },
  mtls: true,
};

/** Each `--break` of the Python receiver, and the one check it must fail. */
const breaks: { name: string; check: string; options?: Partial<ConformanceOptions> }[] = [
  { name: "ack-completed", check: "ack.completed" },
  { name: "ack-failed", check: "ack.failed" },
  { name: "ack-slow", check: "ack.latency", options: { ackDeadlineMs: 300 } },
  { name: "unknown-fields", check: "ack.unknown-fields" },
  { name: "large-report", check: "ack.large-report" },
  { name: "duplicate", check: "ack.duplicate" },
  { name: "concurrency", check: "ack.concurrent" },
  { name: "signature-missing", check: "signature.rejects-missing" },
  { name: "signature-malformed", check: "signature.rejects-malformed" },
  { name: "signature-wrong", check: "signature.rejects-wrong" },
  { name: "signature-partial", check: "signature.rejects-partial" },
  { name: "signature-stale", check: "signature.rejects-stale" },
  { name: "signature-future", check: "signature.rejects-future" },
  { name: "signature-reserialized", check: "signature.rejects-reserialized" },
  { name: "signature-rotation", check: "signature.accepts-rotation" },
  { name: "basic-missing", check: "basic.rejects-missing" },
  { name: "basic-403", check: "basic.rejects-wrong" },
  { name: "mtls-no-cert", check: "mtls.rejects-no-cert" },
  { name: "mtls-expired", check: "mtls.rejects-expired" },
  { name: "mtls-foreign-ca", check: "mtls.rejects-foreign-ca" },
];

describe("the Python receiver with one clause broken", () => {
  it.each(breaks.map((entry) => [entry.name, entry] as const))(
    "--break %s fails exactly its check",
    async (_name, entry) => {
      const url = await startReceiver(everything, [entry.name]);
      const report = await runConformance({ url, secret: credentials.secret, basic: basicFlag, mtls: fixtures.certs(), ...entry.options });
      expectExactlyOneFailure(report, entry.check, new Set(["secret", "basic", "mtls"]));
    },
    60_000,
  );
});

describe("predictor-runtime conform against the Python receiver (child processes)", () => {
  const allFlags = (): string[] => ["--secret", credentials.secret, "--basic", basicFlag, "--mtls", fixtures.dir()];

  it("exits 0 when every check passes, printing the table", async () => {
    const url = await startReceiver(everything);
    const run = await runCli(["conform", url, ...allFlags()]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("24 checks: 24 passed, 0 failed, 0 skipped; the receiver passes every applicable check");
    expect(run.stdout).toMatch(/^check\s+verdict\s+what was seen\s+how to fix$/m);
  }, 90_000);

  it.each([
    ["signature-rotation", "signature.accepts-rotation"],
    ["basic-403", "basic.rejects-wrong"],
    ["duplicate", "ack.duplicate"],
    ["mtls-no-cert", "mtls.rejects-no-cert"],
  ])(
    "exits 1 when the receiver is run with --break %s, and only %s fails",
    async (name, check) => {
      const url = await startReceiver(everything, [name]);
      const run = await runCli(["conform", url, ...allFlags(), "--json"]);
      expect(run.code, run.stderr).toBe(1);
      const document = JSON.parse(run.stdout) as JsonReport;
      expect(document.passed).toBe(false);
      expect(document.checks.filter((result) => result.verdict === "fail").map((result) => result.id)).toEqual([check]);
    },
    90_000,
  );
});
