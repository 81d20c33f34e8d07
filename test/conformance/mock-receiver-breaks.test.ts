import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { checkIds } from "../../toolkit/conformance/check-catalog.js";
import type { CheckRequirement } from "../../toolkit/conformance/check-definition.js";
import type { ConformanceOptions } from "../../toolkit/conformance/conformance-options.js";
import { reportFieldNames } from "../../toolkit/conformance/report-bodies.js";
import { runConformance } from "../../toolkit/conformance/run-conformance.js";
import { startReceiver, type MockReceiver } from "../../toolkit/receiver/receiver.js";
import type { ReceiverOptions } from "../../toolkit/receiver/receiver-options.js";
import { expectExactlyOneFailure } from "./helpers/expect-one-failure.js";
import { credentials, useCertificates } from "./helpers/fixtures.js";

/**
 * For every check, the mock receiver configured to break exactly that check: that check fails, no other check
 * fails, and the only skips are the checks that (transitively) need it, plus those whose option is not given.
 */

const fixtures = useCertificates();
const open: MockReceiver[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((receiver) => receiver.close()));
});

type Flag = CheckRequirement;

/** One row: the check that must fail, and the receiver that breaks it. */
interface BreakRow {
  check: string;
  /** What differs from the conformant mock receiver: quirks, rules, or other credentials. */
  receiver: (certs: ReturnType<typeof fixtures.certs>) => Partial<ReceiverOptions>;
  /**
   * The options given to the suite; all three unless noted. A positive control under several credentials cannot
   * be told apart from the others (the suite documents this), so those rows give only their own.
   */
  flags?: Flag[];
  format?: "cortex" | "launch";
  options?: Partial<ConformanceOptions>;
}

const anotherSecret = `whsec_${randomBytes(32).toString("base64")}`;

const rows: BreakRow[] = [
  { check: "mtls.accepts-valid", receiver: (certs) => ({ clientCa: certs["foreign-ca"].cert }) },
  { check: "basic.accepts-valid", receiver: () => ({ basic: { username: credentials.username, password: "another-password" } }), flags: ["basic"] },
  { check: "signature.accepts-valid", receiver: () => ({ secret: anotherSecret }), flags: ["secret"] },
  { check: "ack.completed", receiver: () => ({ rules: [{ match: { body: { status: "completed" } }, statuses: [500] }] }) },
  { check: "ack.failed", receiver: () => ({ rules: [{ match: { body: { status: "failed" } }, statuses: [400] }] }) },
  { check: "ack.latency", receiver: () => ({ rules: [{ delay_ms: 100 }] }), options: { ackDeadlineMs: 50 } },
  { check: "ack.unknown-fields", receiver: () => ({ rules: [{ match: { body_keys_not_in: [...reportFieldNames] }, statuses: [400] }] }) },
  { check: "ack.large-report", receiver: () => ({ rules: [{ match: { body_bytes_over: 512 * 1024 }, fault: "reset" }] }) },
  { check: "ack.duplicate", receiver: () => ({ rules: [{ match: { webhook_id_repeated: true }, statuses: [409] }] }) },
  { check: "ack.concurrent", receiver: () => ({ rules: [{ match: { in_flight_over: 5 }, statuses: [503] }, { delay_ms: 300 }] }) },
  { check: "signature.rejects-missing", receiver: () => ({ quirks: ["signature-allow-unsigned"] }) },
  { check: "signature.rejects-malformed", receiver: () => ({ quirks: ["signature-allow-no-v1-entry"] }) },
  { check: "signature.rejects-wrong", receiver: () => ({ quirks: ["signature-length-only"] }) },
  { check: "signature.rejects-partial", receiver: () => ({ quirks: ["signature-prefix-match"] }) },
  { check: "signature.rejects-stale", receiver: () => ({ quirks: ["signature-ignore-stale"] }) },
  { check: "signature.rejects-future", receiver: () => ({ quirks: ["signature-ignore-future"] }) },
  { check: "signature.rejects-reserialized", receiver: () => ({ quirks: ["signature-verify-reserialized"] }) },
  { check: "signature.accepts-rotation", receiver: () => ({ quirks: ["signature-first-entry-only"] }) },
  { check: "basic.rejects-missing", receiver: () => ({ quirks: ["basic-allow-missing"] }) },
  { check: "basic.rejects-wrong", receiver: () => ({ quirks: ["basic-403-on-wrong"] }) },
  { check: "mtls.rejects-no-cert", receiver: () => ({ quirks: ["mtls-allow-no-cert"] }) },
  { check: "mtls.rejects-expired", receiver: () => ({ quirks: ["mtls-allow-expired"] }) },
  { check: "mtls.rejects-wrong-eku", receiver: () => ({ quirks: ["mtls-allow-wrong-eku"] }) },
  { check: "mtls.rejects-foreign-ca", receiver: () => ({ quirks: ["mtls-allow-unknown-ca"] }) },
];

/** The same clauses broken with Launch bodies, whose status values differ. */
const launchRows: BreakRow[] = [
  { check: "ack.completed", format: "launch", receiver: () => ({ rules: [{ match: { body: { status: "SUCCESS" } }, statuses: [500] }] }) },
  { check: "ack.failed", format: "launch", receiver: () => ({ rules: [{ match: { body: { status: "FAILURE" } }, statuses: [422] }] }) },
];

async function runRow(row: BreakRow): Promise<Awaited<ReturnType<typeof runConformance>>> {
  const certs = fixtures.certs();
  const flags = new Set(row.flags ?? ["secret", "basic", "mtls"]);
  const basic = { username: credentials.username, password: credentials.password };
  const receiver = await startReceiver({
    ...(flags.has("mtls") ? { tls: certs.server, clientCa: certs.ca.cert } : {}),
    ...(flags.has("secret") ? { secret: credentials.secret } : {}),
    ...(flags.has("basic") ? { basic } : {}),
    ...row.receiver(certs),
  });
  open.push(receiver);
  return runConformance({
    url: `${receiver.url}/hook`,
    format: row.format ?? "cortex",
    ...(flags.has("secret") ? { secret: credentials.secret } : {}),
    ...(flags.has("basic") ? { basic } : {}),
    ...(flags.has("mtls") ? { mtls: certs } : {}),
    ...row.options,
  });
}

describe("breaking one clause fails exactly its check", () => {
  it("has a row for every check", () => {
    expect(rows.map((row) => row.check)).toEqual(checkIds);
  });

  it.each([...rows, ...launchRows].map((row) => [`${row.check}${row.format === "launch" ? " (Launch)" : ""}`, row] as const))(
    "%s",
    async (_name, row) => {
      const report = await runRow(row);
      expectExactlyOneFailure(report, row.check, new Set(row.flags ?? ["secret", "basic", "mtls"]));
    },
    60_000,
  );
});
