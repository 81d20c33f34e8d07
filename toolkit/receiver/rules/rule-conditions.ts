import type { IncomingHttpHeaders } from "node:http";
import { isDeepStrictEqual } from "node:util";
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
  /** The parsed body when it is complete JSON; `undefined` otherwise. */
  json: unknown;
  /** Every byte of the body, recorded or not. */
  bodyBytes: number;
  /** An earlier request that passed verification carried this request's `webhook-id`. */
  webhookIdRepeated: boolean;
  /** Requests being read or answered right now, this one included. */
  inFlight: number;
}

/** One match condition: true when the rule's field is absent or the request satisfies it. */
export type RuleCondition = (rule: ReceiverRule, request: RuleRequest) => boolean;

/**
 * Every stateless match condition; a rule matches when all hold. A new condition is one entry here plus its
 * field in `ReceiverRule` (or `RuleMatch`) and `rulesDocumentSchema`. (The stateful `times` limit lives in RuleSet;
 * the state a condition reads, such as the webhook-ids seen, is computed into `RuleRequest` by the recorder.)
 */
export const ruleConditions: readonly RuleCondition[] = [
  (rule, request) => rule.path === undefined || pathMatches(rule.path, request.path),
  (rule, request) => rule.method === undefined || rule.method.toUpperCase() === request.method,
  ({ match }, request) => match?.body === undefined || (request.json !== undefined && contains(request.json, match.body)),
  ({ match }, request) => match?.body_bytes_over === undefined || request.bodyBytes > match.body_bytes_over,
  ({ match }, request) => match?.body_keys_not_in === undefined || hasKeyOutside(request.json, match.body_keys_not_in),
  ({ match }, request) => match?.webhook_id_repeated === undefined || match.webhook_id_repeated === request.webhookIdRepeated,
  ({ match }, request) => match?.in_flight_over === undefined || request.inFlight > match.in_flight_over,
];

/** `path` is exact, or a prefix when it ends in `*`. */
export function pathMatches(pattern: string, path: string): boolean {
  return pattern.endsWith("*") ? path.startsWith(pattern.slice(0, -1)) : path === pattern;
}

/** True when `value` has every field of `pattern` with the same value, recursively through objects; arrays and scalars compare whole. */
export function contains(value: unknown, pattern: unknown): boolean {
  if (!isPlainObject(pattern)) return isDeepStrictEqual(value, pattern);
  if (!isPlainObject(value)) return false;
  return Object.entries(pattern).every(([key, expected]) => Object.hasOwn(value, key) && contains(value[key], expected));
}

function hasKeyOutside(json: unknown, known: readonly string[]): boolean {
  return isPlainObject(json) && Object.keys(json).some((key) => !known.includes(key));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
