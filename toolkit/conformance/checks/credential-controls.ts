import type { CheckContext, CheckDefinition, CheckOutcome } from "../check-definition.js";
import { describeOutcome, isRejection } from "../send-outcome.js";
import { credentialControls } from "./prerequisites.js";

/** The credentials a delivery may carry, named as output names them, in the order the controls run. */
const credentialNames = { "mtls.accepts-valid": "the good client certificate", "basic.accepts-valid": "the right basic credentials", "signature.accepts-valid": "a valid signature" } as const;

/** Flags that enable each control, to tell a user how to isolate a refusal. */
const flagOf = { "mtls.accepts-valid": "--mtls", "basic.accepts-valid": "--basic", "signature.accepts-valid": "--secret" } as const;

/**
 * Runs a positive control: a completed and a failed report, each carrying every credential given. It passes when
 * the receiver does not reject (4xx, refused handshake) at least one of them; whether it then acknowledges them
 * is for the ack checks. Two report kinds, so a receiver that rejects one kind for its body is not mistaken for
 * one that refuses the credential.
 */
async function runControl(id: (typeof credentialControls)[number], fix: string, context: CheckContext): Promise<CheckOutcome> {
  const completed = await context.deliver(context.reports.completed());
  const failed = await context.deliver(context.reports.failed());
  const seen = `completed report ${describeOutcome(completed)}; failed report ${describeOutcome(failed)}`;
  const onTrial = { certificateOnTrial: id === "mtls.accepts-valid" };
  if (!isRejection(completed, onTrial) || !isRejection(failed, onTrial)) {
    return { verdict: "pass", detail: `did not reject deliveries carrying ${credentialNames[id]}: ${seen}` };
  }
  const later = credentialControls.slice(credentialControls.indexOf(id) + 1).filter((other) => applies(other, context));
  const ambiguity =
    later.length === 0
      ? ""
      : ` The deliveries also carried ${later.map((other) => credentialNames[other]).join(" and ")}, so the refusal may be theirs: run with ${flagOf[id]} alone to tell.`;
  return { verdict: "fail", detail: `rejected deliveries carrying ${credentialNames[id]}: ${seen}.${ambiguity}`, fix };
}

function applies(id: (typeof credentialControls)[number], context: CheckContext): boolean {
  const { mtls, basic, signing } = context.options;
  return id === "mtls.accepts-valid" ? mtls !== undefined : id === "basic.accepts-valid" ? basic !== undefined : signing !== undefined;
}

/** The positive controls: the right client certificate, basic credentials and signature are accepted. */
export const credentialControlChecks: readonly CheckDefinition[] = [
  {
    id: "mtls.accepts-valid",
    clause: "accepts a delivery presenting a good client certificate (signed by ca.pem, with clientAuth)",
    source: "Launch",
    requires: "mtls",
    needs: [],
    whenNotPassed: "the receiver refuses deliveries that present the good client certificate",
    run: (context) =>
      runControl(
        "mtls.accepts-valid",
        "trust the CA that signed client.pem (DIR/ca.pem) for client certificates and accept certificates with the clientAuth extended key usage",
        context,
      ),
  },
  {
    id: "basic.accepts-valid",
    clause: "accepts a delivery with the right basic credentials",
    source: "Launch",
    requires: "basic",
    needs: ["mtls.accepts-valid"],
    whenNotPassed: "the receiver refuses deliveries with the right basic credentials",
    run: (context) =>
      runControl(
        "basic.accepts-valid",
        "decode Authorization: Basic as base64 of USER:PASS (the password may contain colons) and compare both parts with the configured credentials",
        context,
      ),
  },
  {
    id: "signature.accepts-valid",
    clause: "accepts a delivery signed the Standard Webhooks way with its secret",
    source: "Standard Webhooks",
    requires: "secret",
    needs: ["mtls.accepts-valid", "basic.accepts-valid"],
    whenNotPassed: "the receiver refuses validly signed deliveries",
    run: (context) =>
      runControl(
        "signature.accepts-valid",
        "compute HMAC-SHA256 over `${webhook-id}.${webhook-timestamp}.${raw body}` keyed by the base64-decoded part of the secret after whsec_, and compare it with each v1,<base64> entry of webhook-signature",
        context,
      ),
  },
];
