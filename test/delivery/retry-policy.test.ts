import { describe, expect, it } from "vitest";
import { describeOutcome } from "../../runtime/webhook/describe-outcome.js";
import { classifyStatus, firstAttemptDelay, nextStep, parseRetryAfter, type AttemptOutcome, type RetrySettings } from "../../runtime/webhook/retry-policy.js";

// Contract section 4, rule by rule, against the pure policy: no sockets, no clocks, random injected.
const settings: RetrySettings = { retryScheduleMs: [0, 5_000, 300_000], ignoreTimeout: false };
const lowest = (): number => 0;
const middle = (): number => 0.5;
/** Math.random never returns 1; this is as close as it gets. */
const highest = (): number => 1 - Number.EPSILON;
const retryable: AttemptOutcome = { kind: "retryable", statusCode: 503, error: "the receiver answered 503" };

describe("classifyStatus", () => {
  it.each([200, 201, 202, 204, 299])("counts %i as delivered", (status) => {
    expect(classifyStatus(status)).toEqual({ kind: "delivered", statusCode: status });
  });

  it.each([400, 401, 403, 404, 405, 413, 415, 422, 451, 499])("counts %i as a final rejection", (status) => {
    expect(classifyStatus(status).kind).toBe("rejected");
  });

  it.each([408, 409, 425, 429])("retries %i although it is a 4xx", (status) => {
    expect(classifyStatus(status)).toMatchObject({ kind: "retryable", statusCode: status });
  });

  it.each([500, 502, 503, 504, 599])("retries %i", (status) => {
    expect(classifyStatus(status)).toMatchObject({ kind: "retryable", statusCode: status });
  });

  it.each([300, 301, 302, 303, 307, 308])("retries %i and says redirects are never followed", (status) => {
    const outcome = classifyStatus(status);
    expect(outcome).toMatchObject({ kind: "retryable", statusCode: status });
    expect(outcome.kind === "retryable" && outcome.error).toContain("never followed");
  });

  it("treats 410 as gone, which stops retries", () => {
    expect(classifyStatus(410)).toEqual({ kind: "gone", statusCode: 410 });
  });

  it("keeps Retry-After only on retryable answers", () => {
    expect(classifyStatus(429, 7000)).toMatchObject({ kind: "retryable", retryAfterMs: 7000 });
    expect(classifyStatus(400, 7000)).not.toHaveProperty("retryAfterMs");
  });
});

describe("nextStep", () => {
  it("stops as delivered after a 2xx", () => {
    expect(nextStep(settings, 1, classifyStatus(204))).toEqual({ kind: "done", status: "delivered" });
  });

  it("stops as failed after a final 4xx, even with attempts left", () => {
    expect(nextStep(settings, 1, classifyStatus(401))).toEqual({ kind: "done", status: "failed" });
  });

  it("stops as failed after 410 Gone, even with attempts left", () => {
    expect(nextStep(settings, 1, classifyStatus(410))).toEqual({ kind: "done", status: "failed" });
  });

  it("stops as failed when the network guard refused the address", () => {
    expect(nextStep(settings, 1, { kind: "refused", error: "refused" })).toEqual({ kind: "done", status: "failed" });
  });

  it("waits the next scheduled wait before the next attempt", () => {
    expect(nextStep(settings, 1, retryable, middle)).toEqual({ kind: "retry", delayMs: 5_000 });
    expect(nextStep(settings, 2, retryable, middle)).toEqual({ kind: "retry", delayMs: 300_000 });
  });

  it("jitters every wait by at most 20% either way", () => {
    expect(nextStep(settings, 1, retryable, lowest)).toEqual({ kind: "retry", delayMs: 4_000 });
    const high = nextStep(settings, 1, retryable, highest);
    expect(high.kind === "retry" && high.delayMs).toBe(6_000);
    for (const random of [0.1, 0.25, 0.75, 0.9]) {
      const step = nextStep(settings, 2, retryable, () => random);
      expect(step.kind === "retry" && step.delayMs).toBeGreaterThanOrEqual(240_000);
      expect(step.kind === "retry" && step.delayMs).toBeLessThanOrEqual(360_000);
    }
  });

  it("jitters the first attempt's wait too", () => {
    const first = { retryScheduleMs: [10_000], ignoreTimeout: false };
    expect(firstAttemptDelay(first, lowest)).toBe(8_000);
    expect(firstAttemptDelay(first, highest)).toBeCloseTo(12_000, 5);
  });

  it("fails after the last scheduled attempt", () => {
    expect(nextStep(settings, 3, retryable, middle)).toEqual({ kind: "done", status: "failed" });
    expect(nextStep(settings, 3, { kind: "timeout", error: "slow" }, middle)).toEqual({ kind: "done", status: "failed" });
  });

  it("retries timeouts, and connection errors without a status", () => {
    expect(nextStep(settings, 1, { kind: "timeout", error: "slow" }, middle)).toEqual({ kind: "retry", delayMs: 5_000 });
    expect(nextStep(settings, 1, { kind: "retryable", error: "reset" }, middle)).toEqual({ kind: "retry", delayMs: 5_000 });
  });

  it("counts a timeout as delivered with ignore_timeout", () => {
    expect(nextStep({ ...settings, ignoreTimeout: true }, 1, { kind: "timeout", error: "slow" })).toEqual({ kind: "done", status: "delivered" });
  });

  it("honours a Retry-After longer than the jittered wait", () => {
    const step = nextStep(settings, 1, { ...retryable, retryAfterMs: 8_000 }, middle);
    expect(step).toEqual({ kind: "retry", delayMs: 8_000 });
  });

  it("caps Retry-After at twice the scheduled wait", () => {
    const step = nextStep(settings, 1, { ...retryable, retryAfterMs: 3_600_000 }, middle);
    expect(step).toEqual({ kind: "retry", delayMs: 10_000 });
  });

  it("keeps the jittered wait when Retry-After is shorter (whichever is longer)", () => {
    expect(nextStep(settings, 1, { ...retryable, retryAfterMs: 1_000 }, highest)).toEqual({ kind: "retry", delayMs: 6_000 });
    expect(nextStep(settings, 1, { ...retryable, retryAfterMs: 0 }, lowest)).toEqual({ kind: "retry", delayMs: 4_000 });
  });

  it("gives a scheduled wait of 0 no room for Retry-After (twice 0 is 0)", () => {
    const step = nextStep({ retryScheduleMs: [0, 0], ignoreTimeout: false }, 1, { ...retryable, retryAfterMs: 60_000 }, middle);
    expect(step).toEqual({ kind: "retry", delayMs: 0 });
  });
});

describe("parseRetryAfter", () => {
  const now = Date.parse("2026-11-22T09:00:00Z");

  it("reads delta seconds", () => {
    expect(parseRetryAfter("120", now)).toBe(120_000);
    expect(parseRetryAfter(" 0 ", now)).toBe(0);
  });

  it("reads an HTTP date as the time until it", () => {
    expect(parseRetryAfter("Sun, 22 Nov 2026 09:00:30 GMT", now)).toBe(30_000);
  });

  it("reads an HTTP date in the past as now", () => {
    expect(parseRetryAfter("Sun, 22 Nov 2026 08:00:00 GMT", now)).toBe(0);
  });

  it("ignores absent, empty, negative and unparsable values", () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter("", now)).toBeUndefined();
    expect(parseRetryAfter("-5", now)).toBeUndefined();
    expect(parseRetryAfter("soon", now)).toBeUndefined();
  });

  it("uses the first of repeated headers", () => {
    expect(parseRetryAfter(["3", "9"], now)).toBe(3_000);
  });
});

describe("describeOutcome", () => {
  const retry = { kind: "retry", delayMs: 5 } as const;
  const failed = { kind: "done", status: "failed" } as const;
  const delivered = { kind: "done", status: "delivered" } as const;

  it("shows only the status code of a delivered attempt", () => {
    expect(describeOutcome(classifyStatus(200), delivered, settings)).toEqual({ lastStatusCode: 200 });
  });

  it("says a final 4xx is not retried, with the receiver's answer", () => {
    const outcome = { ...classifyStatus(401), answer: "bad credentials" };
    const described = describeOutcome(outcome, failed, settings);
    expect(described.lastStatusCode).toBe(401);
    expect(described.lastError).toBe('the receiver answered 401: "bad credentials"; a 4xx other than 408, 409, 425 and 429 is final, so no retry');
  });

  it("says the webhook gave up once the schedule is exhausted", () => {
    expect(describeOutcome(retryable, failed, settings).lastError).toBe("the receiver answered 503; gave up after 3 attempts (the length of retry_schedule_s)");
    expect(describeOutcome(retryable, retry, settings).lastError).toBe("the receiver answered 503");
  });

  it("says a timeout counted as delivered under ignore_timeout", () => {
    const described = describeOutcome({ kind: "timeout", error: "no complete answer within timeout_s (1 s)" }, delivered, settings);
    expect(described).toEqual({ lastError: "no complete answer within timeout_s (1 s); counted as delivered because ignore_timeout is true" });
  });

  it("says a refused address was not sent", () => {
    expect(describeOutcome({ kind: "refused", error: "localhost resolved only to ..." }, failed, settings).lastError).toMatch(/^refused, not sent: /);
  });
});
