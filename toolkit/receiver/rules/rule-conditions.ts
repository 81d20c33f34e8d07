import type { IncomingHttpHeaders } from "node:http";
import type { Verdicts } from "../delivery.js";
import type { ReceiverRule } from "./receiver-rule.js";

/** What a rule condition may look at: the request as recorded, with its verdicts. */
export interface RuleRequest {
  /** Upper case. */
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  query: Record<string, string | string[]>;
  verdicts: Verdicts;
}

/** One match condition: true when the rule's field is absent or the request satisfies it. */
export type RuleCondition = (rule: ReceiverRule, request: RuleRequest) => boolean;

/**
 * Every stateless match condition; a rule matches when all hold. A new condition is one entry here plus its
 * field in `ReceiverRule` and `rulesDocumentSchema`. (The stateful `times` limit lives in RuleSet.)
 */
export const ruleConditions: readonly RuleCondition[] = [
  (rule, request) => rule.path === undefined || pathMatches(rule.path, request.path),
  (rule, request) => rule.method === undefined || rule.method.toUpperCase() === request.method,
];

/** `path` is exact, or a prefix when it ends in `*`. */
export function pathMatches(pattern: string, path: string): boolean {
  return pattern.endsWith("*") ? path.startsWith(pattern.slice(0, -1)) : path === pattern;
}
