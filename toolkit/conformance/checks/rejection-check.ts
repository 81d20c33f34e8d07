import type { CheckContext, CheckDefinition, CheckOutcome } from "../check-definition.js";
import { describeOutcome, isAcknowledged, isRejection, type SendOutcome } from "../send-outcome.js";

/** What a negative check is: everything of a CheckDefinition but `run`, plus the flawed delivery it sends. */
export interface RejectionCheckSpec extends Omit<CheckDefinition, "run"> {
  /** The flawed delivery, as a person reads it: "a delivery without webhook-signature". */
  what: string;
  /** Sends the flawed delivery. */
  probe: (context: CheckContext) => Promise<SendOutcome>;
  /** How to fix a receiver that did not reject it. */
  fix: string;
  /** The rejection must be exactly this status (basic auth: 401), not just any 4xx. */
  status?: number;
  /** The delivery's client certificate is what is on trial, so a refused handshake counts as a rejection. */
  certificateOnTrial?: boolean;
  /** The rejection is an authentication challenge: a 401 without WWW-Authenticate passes, with a note (RFC 9110 requires one). */
  challenge?: boolean;
}

/**
 * A check that a flawed delivery is rejected: a 4xx (or exactly `status`), or a refused handshake when the
 * certificate is on trial. A 2xx is "accepted"; a 5xx, a reset or silence is "did not reject", since a sender
 * retries those and the receiver has not said no.
 */
export function rejectionCheck(spec: RejectionCheckSpec): CheckDefinition {
  const { what, probe, fix, status, certificateOnTrial, challenge, ...definition } = spec;
  return {
    ...definition,
    run: async (context): Promise<CheckOutcome> => {
      const outcome = await probe(context);
      const seen = describeOutcome(outcome);
      if (isRejection(outcome, { certificateOnTrial: certificateOnTrial === true })) {
        if (outcome.kind !== "answered") return { verdict: "pass", detail: `rejected ${what} at the TLS layer: ${seen}` };
        if (status === undefined || outcome.status === status) {
          const unchallenged = challenge === true && outcome.headers["www-authenticate"] === undefined;
          const note = unchallenged ? " (without WWW-Authenticate, which RFC 9110 requires on a 401: add one)" : "";
          return { verdict: "pass", detail: `rejected ${what}: ${seen}${note}` };
        }
        return { verdict: "fail", detail: `rejected ${what}, but not with ${status}: ${seen}`, fix };
      }
      if (isAcknowledged(outcome)) return { verdict: "fail", detail: `accepted ${what}: ${seen}`, fix };
      const retried = outcome.kind === "answered" ? " (a 5xx or 3xx is not a rejection: senders retry it)" : "";
      return { verdict: "fail", detail: `did not reject ${what}: ${seen}${retried}`, fix };
    },
  };
}
