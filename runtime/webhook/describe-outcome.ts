import type { DeliveryUpdate } from "../tasks/delivery.js";
import type { AttemptOutcome, NextStep, RetrySettings } from "./retry-policy.js";

/**
 * The status answer's view of an attempt: its status code and, unless it was delivered cleanly, what went wrong and
 * what the runtime does about it, in words the receiver's owner can act on.
 */
export function describeOutcome(
  outcome: AttemptOutcome,
  step: NextStep,
  settings: Pick<RetrySettings, "retryScheduleMs">,
): Pick<DeliveryUpdate, "lastStatusCode" | "lastError"> {
  const gaveUp =
    step.kind === "done" && step.status === "failed"
      ? `; gave up after ${settings.retryScheduleMs.length} attempts (the length of retry_schedule_s)`
      : "";
  switch (outcome.kind) {
    case "delivered":
      return { lastStatusCode: outcome.statusCode };
    case "rejected":
      return {
        lastStatusCode: outcome.statusCode,
        lastError: `${answered(`the receiver answered ${outcome.statusCode}`, outcome.answer)}; a 4xx other than 408, 409, 425 and 429 is final, so no retry`,
      };
    case "gone":
      return { lastStatusCode: 410, lastError: `${answered("the receiver answered 410 Gone", outcome.answer)}; 410 stops retries` };
    case "retryable": {
      const lastError = `${answered(outcome.error, outcome.answer)}${gaveUp}`;
      return outcome.statusCode === undefined ? { lastError } : { lastStatusCode: outcome.statusCode, lastError };
    }
    case "timeout":
      if (step.kind === "done" && step.status === "delivered") {
        return { lastError: `${outcome.error}; counted as delivered because ignore_timeout is true` };
      }
      return { lastError: `${outcome.error}${gaveUp}` };
    case "refused":
      return { lastError: `refused, not sent: ${outcome.error}` };
  }
}

/** `text`, followed by what the receiver answered when it answered something. */
function answered(text: string, answer: string | undefined): string {
  return answer === undefined ? text : `${text}: ${JSON.stringify(answer)}`;
}
