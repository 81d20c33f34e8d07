/**
 * When to try a webhook again (contract section 4), as a pure function: the schedule is data, jitter and
 * Retry-After clamping happen here, and nothing here does I/O, so every rule is unit-tested directly.
 */

/**
 * How one attempt ended, as far as the retry rules care. `answer` is the start of the receiver's response body, for
 * the status answer's last_error (secrets already removed).
 */
export type AttemptOutcome =
  /** Any 2xx. */
  | { kind: "delivered"; statusCode: number }
  /** A 4xx other than 408/409/425/429 (and 410): the receiver refused this report for good. */
  | { kind: "rejected"; statusCode: number; answer?: string }
  /** 410 Gone: the receiver asks us to stop. */
  | { kind: "gone"; statusCode: 410; answer?: string }
  /** 5xx, 408, 409, 425, 429, 3xx (never followed), or a connection error: try again later. */
  | { kind: "retryable"; statusCode?: number; error: string; retryAfterMs?: number; answer?: string }
  /** The exchange did not finish within timeout_s. */
  | { kind: "timeout"; error: string }
  /** The network guard refused the address: final, a retry would be refused too. */
  | { kind: "refused"; error: string };

/** What to do after an attempt. */
export type NextStep = { kind: "done"; status: "delivered" | "failed" } | { kind: "retry"; delayMs: number };

/** Webhook settings the policy reads. */
export interface RetrySettings {
  /** Wait before each attempt (ms); its length is the number of attempts. */
  retryScheduleMs: readonly number[];
  /** A timed-out attempt counts as delivered (Modelbit). */
  ignoreTimeout: boolean;
}

/** Jitter applied to every scheduled wait: +-20%. */
export const JITTER_FRACTION = 0.2;

/** Statuses that look like client errors but say "try later" (RFC 9110: 408, 409; RFC 8470: 425; RFC 6585: 429). */
const RETRYABLE_CLIENT_STATUSES = new Set([408, 409, 425, 429]);

/** Classifies a receiver's HTTP status (contract section 4). */
export function classifyStatus(statusCode: number, retryAfterMs?: number): AttemptOutcome {
  if (statusCode >= 200 && statusCode < 300) return { kind: "delivered", statusCode };
  if (statusCode === 410) return { kind: "gone", statusCode };
  if (statusCode >= 400 && statusCode < 500 && !RETRYABLE_CLIENT_STATUSES.has(statusCode)) {
    return { kind: "rejected", statusCode };
  }
  const outcome: AttemptOutcome = { kind: "retryable", statusCode, error: describeStatus(statusCode) };
  if (retryAfterMs !== undefined) outcome.retryAfterMs = retryAfterMs;
  return outcome;
}

/** The wait before the first attempt (`retry_schedule_s[0]`, jittered). */
export function firstAttemptDelay(settings: RetrySettings, random: () => number = Math.random): number {
  return jitter(settings.retryScheduleMs[0] ?? 0, random);
}

/**
 * Decides what follows attempt number `attemptsMade` (1-based) that ended with `outcome`. The wait before attempt
 * n+1 is `retryScheduleMs[n]` +-20%, or Retry-After capped at twice that wait, whichever is longer.
 */
export function nextStep(
  settings: RetrySettings,
  attemptsMade: number,
  outcome: AttemptOutcome,
  random: () => number = Math.random,
): NextStep {
  switch (outcome.kind) {
    case "delivered":
      return { kind: "done", status: "delivered" };
    case "rejected":
    case "gone":
    case "refused":
      return { kind: "done", status: "failed" };
    case "timeout":
      if (settings.ignoreTimeout) return { kind: "done", status: "delivered" };
      break;
    case "retryable":
      break;
  }
  const scheduled = settings.retryScheduleMs[attemptsMade];
  if (scheduled === undefined) return { kind: "done", status: "failed" };
  const jittered = jitter(scheduled, random);
  const retryAfterMs = outcome.kind === "retryable" ? outcome.retryAfterMs : undefined;
  const delayMs = retryAfterMs === undefined ? jittered : Math.max(jittered, Math.min(retryAfterMs, 2 * scheduled));
  return { kind: "retry", delayMs: Math.round(delayMs) };
}

const HTTP_DATE_START = /^\s*(Mon|Tue|Wed|Thu|Fri|Sat|Sun)/i;

/** Parses a Retry-After header (delta seconds or an HTTP date) into ms from `now`; undefined when absent or invalid. */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text.trim() === "") return undefined;
  if (/^\s*\d+\s*$/.test(text)) return Number(text) * 1000;
  // Every HTTP-date form (RFC 9110 section 5.6.7) starts with a day name; Date.parse alone would also take "-5".
  if (!HTTP_DATE_START.test(text)) return undefined;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

function jitter(waitMs: number, random: () => number): number {
  return waitMs * (1 - JITTER_FRACTION + 2 * JITTER_FRACTION * random());
}

function describeStatus(statusCode: number): string {
  if (statusCode >= 300 && statusCode < 400) return `the receiver answered ${statusCode} (redirects are never followed)`;
  return `the receiver answered ${statusCode}`;
}
