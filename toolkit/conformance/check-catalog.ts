import type { CheckDefinition } from "./check-definition.js";
import { acknowledgementChecks } from "./checks/acknowledgement-checks.js";
import { basicChecks } from "./checks/basic-checks.js";
import { credentialControlChecks } from "./checks/credential-controls.js";
import { mtlsChecks } from "./checks/mtls-checks.js";
import { signatureChecks } from "./checks/signature-checks.js";

/**
 * Every check, in the order they run and are reported. A check's `needs` always come before it.
 *
 * The dependency graph ("AUTH" is the three credential controls, each dropped when its option is not given):
 *
 *   mtls.accepts-valid                                   (needs nothing: the first positive control)
 *   basic.accepts-valid            <- mtls.accepts-valid
 *   signature.accepts-valid        <- mtls.accepts-valid, basic.accepts-valid
 *   ack.completed, ack.failed      <- AUTH
 *   ack.latency                    <- AUTH, ack.completed   (judges ack.completed's and ack.failed's deliveries)
 *   ack.unknown-fields, ack.large-report, ack.duplicate, ack.concurrent,
 *   signature.rejects-{missing,malformed,wrong,partial,stale,future}, signature.accepts-rotation,
 *   basic.rejects-{missing,wrong}, mtls.rejects-{no-cert,expired,wrong-eku,foreign-ca}
 *                                  <- AUTH, ack.completed
 *   signature.rejects-reserialized <- AUTH, ack.completed, signature.rejects-wrong
 *
 * Why: every other check varies one thing of a valid completed report, so its verdict means something only if that
 * report, with those credentials, is accepted and acknowledged. A receiver that refuses everything would otherwise
 * "pass" every rejection check; one that answers 500 to everything would fail all of them. With the graph, a
 * receiver that breaks one clause fails one check, and the checks it makes meaningless are skipped, naming it.
 */
export const checkCatalog: readonly CheckDefinition[] = [
  ...credentialControlChecks,
  ...acknowledgementChecks,
  ...signatureChecks,
  ...basicChecks,
  ...mtlsChecks,
];

/** Every check id, in run order. */
export const checkIds: readonly string[] = checkCatalog.map((check) => check.id);
