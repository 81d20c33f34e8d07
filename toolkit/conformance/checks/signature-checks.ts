import type { CheckDefinition } from "../check-definition.js";
import type { DeliveryTweaks } from "../delivery-crafter.js";
import { describeOutcome, isAcknowledged } from "../send-outcome.js";
import { baseline } from "./prerequisites.js";
import { rejectionCheck } from "./rejection-check.js";

/** How far the stale and future timestamps are from now: twice the 5-minute tolerance, so clock skew cannot decide. */
const outsideToleranceS = 10 * 60;

const signed = { source: "Standard Webhooks", requires: "secret", needs: baseline } as const;

/** A rejection check whose flaw is one tweak of an otherwise valid completed report. */
function rejectsTweaked(spec: { id: string; clause: string; what: string; tweaks: DeliveryTweaks; fix: string; needs?: readonly string[]; whenNotPassed?: string }): CheckDefinition {
  const { tweaks, ...rest } = spec;
  return rejectionCheck({ ...signed, ...rest, probe: (context) => context.deliver(context.reports.completed(), tweaks) });
}

/** The Standard Webhooks signature checks (with a secret). */
export const signatureChecks: readonly CheckDefinition[] = [
  rejectsTweaked({
    id: "signature.rejects-missing",
    clause: "rejects a delivery without webhook-signature",
    what: "a delivery without webhook-signature",
    tweaks: { signature: "missing" },
    fix: "verify every delivery before acting on it: a missing webhook-signature is a 401, never a pass",
  }),
  rejectsTweaked({
    id: "signature.rejects-malformed",
    clause: "rejects a webhook-signature that holds no v1,<base64> entry",
    what: 'a delivery with webhook-signature "not-a-signature"',
    tweaks: { signature: "malformed" },
    fix: "parse webhook-signature as space-separated v1,<base64> entries and refuse (401) when none matches; an empty list of entries must not count as all matched",
  }),
  rejectsTweaked({
    id: "signature.rejects-wrong",
    clause: "rejects a full-length signature made with another key",
    what: "a full-length v1 signature made with another key",
    tweaks: { signature: "wrong-key" },
    whenNotPassed: "the receiver does not compare the signature's bytes (it accepts another key's signature)",
    fix: "compare the bytes of each v1 entry with the HMAC you compute, in constant time (crypto.timingSafeEqual, hmac.compare_digest), not just their length or format",
  }),
  rejectsTweaked({
    id: "signature.rejects-partial",
    clause: "rejects a truncated prefix of the valid signature",
    what: "the valid v1 signature cut to its first 24 base64 characters",
    tweaks: { signature: "partial" },
    fix: "compare the whole signature: check that both lengths are equal before a constant-time compare, and never compare only as many bytes as were sent",
  }),
  rejectsTweaked({
    id: "signature.rejects-stale",
    clause: "rejects a correctly signed delivery whose webhook-timestamp is more than 5 minutes old",
    what: `a correctly signed delivery whose webhook-timestamp is ${outsideToleranceS / 60} minutes old`,
    tweaks: { timestampOffsetS: -outsideToleranceS },
    fix: "refuse a webhook-timestamp more than 5 minutes from your clock, in either direction: it stops replays of captured deliveries",
  }),
  rejectsTweaked({
    id: "signature.rejects-future",
    clause: "rejects a correctly signed delivery whose webhook-timestamp is more than 5 minutes ahead",
    what: `a correctly signed delivery whose webhook-timestamp is ${outsideToleranceS / 60} minutes in the future`,
    tweaks: { timestampOffsetS: outsideToleranceS },
    fix: "apply the 5-minute tolerance both ways, |now - webhook-timestamp| <= 300 s: a timestamp far ahead is as suspect as an old one",
  }),
  rejectsTweaked({
    id: "signature.rejects-reserialized",
    clause: "rejects a body re-serialized after signing (same keys, order and values; whitespace only)",
    what: "a signed body re-serialized with indentation after signing",
    tweaks: { reserialize: true },
    // Meaningless against a receiver that does not compare signature bytes: it would accept any body.
    needs: [...baseline, "signature.rejects-wrong"],
    fix: "verify the signature over the raw body bytes as received, before parsing; never over JSON you parsed and serialized again",
  }),
  {
    id: "signature.accepts-rotation",
    clause: "accepts a webhook-signature holding a retired key's signature and the valid one side by side (secret rotation)",
    ...signed,
    run: async (context) => {
      const outcome = await context.deliver(context.reports.completed(), { signature: "rotation" });
      const what = "a delivery whose webhook-signature lists a retired key's signature, then the valid one";
      return isAcknowledged(outcome)
        ? { verdict: "pass", detail: `acknowledged ${what}: ${describeOutcome(outcome)}` }
        : {
            verdict: "fail",
            detail: `did not acknowledge ${what}: ${describeOutcome(outcome)}`,
            fix: "webhook-signature is a space-separated list: accept the delivery when any v1 entry matches, not only the first (senders sign with old and new secrets while rotating)",
          };
    },
  },
];
