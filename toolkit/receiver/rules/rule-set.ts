import type { Fault } from "../delivery.js";
import type { ReceiverRule } from "./receiver-rule.js";
import { ruleConditions, type RuleRequest } from "./rule-conditions.js";

/** The answer a rule (or the default) gives one request, decided when the request is recorded. */
export interface PlannedAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  fault: Fault | null;
  delayMs: number;
  /** Milliseconds between bytes when `fault` is `dribble`. */
  dribbleIntervalMs: number;
  /** Index of the answering rule; `null` for the default answer. */
  rule: number | null;
}

/** Default pause between bytes of a dribbled answer: a ~120-byte answer then takes ~12 s, past a 10 s timeout. */
export const defaultDribbleIntervalMs = 100;

/**
 * The receiver's rules and how many requests each has answered. The first matching rule answers; the count
 * picks its status from `statuses` (the last repeats) and ends it after `times`. Replacing the rules resets
 * the counts.
 */
export class RuleSet {
  #rules: readonly ReceiverRule[] = [];
  #answered: number[] = [];
  readonly #random: () => number;

  /** `random` draws `[min, max]` delays; tests replace it. */
  constructor(rules: readonly ReceiverRule[] = [], random: () => number = Math.random) {
    this.#random = random;
    this.replace(rules);
  }

  /** The rules as given (validated and frozen by the caller). */
  get rules(): readonly ReceiverRule[] {
    return this.#rules;
  }

  /** Replaces every rule and resets the per-rule counters. */
  replace(rules: readonly ReceiverRule[]): void {
    this.#rules = rules;
    this.#answered = rules.map(() => 0);
  }

  /** Picks the answer for a request and counts it against the rule that gives it. */
  answer(request: RuleRequest): PlannedAnswer {
    const index = this.#rules.findIndex(
      (rule, position) =>
        (rule.times === undefined || (this.#answered[position] ?? 0) < rule.times) &&
        ruleConditions.every((condition) => condition(rule, request)),
    );
    const rule = this.#rules[index];
    if (rule === undefined) return defaultAnswer();
    const answered = this.#answered[index] ?? 0;
    this.#answered[index] = answered + 1;
    const statuses = rule.statuses ?? [200];
    const status = statuses[Math.min(answered, statuses.length - 1)] ?? 200;
    return {
      status,
      ...answerBody(status, rule),
      fault: rule.fault ?? null,
      delayMs: this.#delayOf(rule.delay_ms),
      dribbleIntervalMs: rule.dribble_interval_ms ?? defaultDribbleIntervalMs,
      rule: index,
    };
  }

  #delayOf(delay: ReceiverRule["delay_ms"]): number {
    if (delay === undefined) return 0;
    if (typeof delay === "number") return delay;
    const [min, max] = delay;
    return Math.round(min + this.#random() * (max - min));
  }
}

/** Contract section 6: a request no rule matches is answered 200 `{"ok":true}`. */
function defaultAnswer(): PlannedAnswer {
  return { status: 200, ...answerBody(200, {}), fault: null, delayMs: 0, dribbleIntervalMs: defaultDribbleIntervalMs, rule: null };
}

function answerBody(status: number, rule: ReceiverRule): { headers: Record<string, string>; body: Buffer } {
  const body = rule.body === undefined ? { ok: status >= 200 && status < 300 } : rule.body;
  const isText = typeof body === "string";
  const headers: Record<string, string> = {
    "content-type": isText ? "text/plain; charset=utf-8" : "application/json",
  };
  for (const [name, value] of Object.entries(rule.headers ?? {})) headers[name.toLowerCase()] = value;
  return { headers, body: Buffer.from(isText ? body : JSON.stringify(body), "utf8") };
}
