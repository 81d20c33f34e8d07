/**
 * The toolkit for people who write webhook receivers: certificate fixtures and a mock receiver that records,
 * verifies and misbehaves (contract section 6). Usable from any test runner.
 */

/** Makes the CA, server, client and negative-case certificates as PEMs. */
export { generateCertificates, defaultServerHosts } from "./certs/generate-certificates.js";
/** A certificate and key, the whole fixture set, and the options that shape it. */
export type { CertificatePair, CertificateSet, CertificateOptions } from "./certs/generate-certificates.js";
/** Writes the fixtures to a directory (keys 0600), reads one back, and names their files. */
export { writeCertificates, readCertificateFile, certificateFileName } from "./certs/certificate-files.js";
/** Options of writeCertificates. */
export type { WriteCertificatesOptions } from "./certs/certificate-files.js";
/** The fixture names (`ca`, `server`, `client`, `client-expired`, ...) in the order they are made. */
export { certificateNames } from "./certs/certificate-profiles.js";
/** One fixture name, and the key algorithms on offer. */
export type { CertificateName, CertificateKeyType } from "./certs/certificate-profiles.js";

/** Starts a mock webhook receiver; the MockReceiver class for start()/close() by hand. */
export { startReceiver, MockReceiver } from "./receiver/receiver.js";
/** Options of waitFor. */
export type { WaitForOptions } from "./receiver/receiver.js";
/** Options of startReceiver. */
export type { ReceiverOptions } from "./receiver/receiver-options.js";
/** The deliberate verification flaws a mock receiver can be given, with a sentence on each. */
export { receiverQuirks, receiverQuirkNames } from "./receiver/receiver-quirks.js";
/** One receiver quirk name. */
export type { ReceiverQuirk } from "./receiver/receiver-quirks.js";
/** Reads receiver TLS settings from directories made by `certs` (what `--tls DIR` / `--mtls DIR` do). */
export { loadReceiverTls } from "./receiver/receiver-tls.js";
/** A recorded delivery, its verdicts and the receiver's answer to it. */
export type { Delivery, DeliveryResponse, Verdict, Verdicts, TlsVerdict, Fault } from "./receiver/delivery.js";
/** The connection faults a rule can inject. */
export { faults } from "./receiver/delivery.js";
/** A receiver rule and the `{"rules": [...]}` document. */
export type { ReceiverRule, RuleMatch, RulesDocument } from "./receiver/rules/receiver-rule.js";
/** Validates a rules document, throwing RULES_INVALID that names each bad field. */
export { parseRulesDocument } from "./receiver/rules/rule-schema.js";
/** The Standard Webhooks verifier behind the `signature` verdict, usable on its own. */
export { SignatureVerifier } from "./receiver/verdicts/signature-verdict.js";
/** Options of SignatureVerifier. */
export type { SignatureVerifierOptions } from "./receiver/verdicts/signature-verdict.js";
/** A HAR 1.2 document as `GET /_/har` serves it. */
export type { HarDocument, HarEntry } from "./receiver/admin/har.js";

/** Runs the conformance checks against a webhook receiver (what `predictor-runtime conform` does). */
export { runConformance } from "./conformance/run-conformance.js";
/** Options of runConformance, its progress events, and the certificate set its mTLS checks present. */
export type { ConformanceOptions, ConformanceProgress, ConformanceCertificates } from "./conformance/conformance-options.js";
/** What runConformance returns: one result per check. */
export type { ConformanceReport, CheckResult, CheckVerdict, CheckSource } from "./conformance/check-result.js";
/** The stable ids of every check, in the order they run. */
export { checkIds } from "./conformance/check-catalog.js";
/** The report as `--json` prints it, and that document's JSON Schema. */
export { toJsonReport, jsonReportSchema } from "./conformance/output/json-report.js";
/** The `--json` document's type. */
export type { JsonReport, JsonCheck } from "./conformance/output/json-report.js";
/** The report as JUnit XML, as `--junit FILE` writes it. */
export { toJunitXml } from "./conformance/output/junit-report.js";
/** The report as the plain-text table the CLI prints. */
export { toTable } from "./conformance/output/table-report.js";

/** The toolkit's error class and its stable codes. */
export { ToolkitError, ToolkitErrorCode } from "./errors.js";
/** One toolkit error code. */
export type { ToolkitErrorCodeValue } from "./errors.js";
