import type { Fault } from "../delivery.js";

/**
 * Conditions on what a request carries, beyond its path and method; a rule matches when all of them hold. They
 * let a mock receiver misbehave on some deliveries only (a failed report, a large one, a repeat).
 */
export interface RuleMatch {
  /** The JSON body contains these fields with these values, recursively (`{"status": "failed"}`); other fields may be present. */
  body?: unknown;
  /** The body is longer than this many bytes. */
  body_bytes_over?: number;
  /** The JSON body is an object with a top-level field not in this list (a strict schema refusing unknown fields). */
  body_keys_not_in?: string[];
  /**
   * `true`: an earlier request that passed verification carried the same `webhook-id` (since start or the last
   * clear); `false`: none did, or the request has no `webhook-id`.
   */
  webhook_id_repeated?: boolean;
  /** More than this many requests, this one included, are being read or answered at once (a concurrency limit). */
  in_flight_over?: number;
}

/**
 * One receiver rule (contract section 6). Every field is optional. Match conditions (`path`, `method`, `match`,
 * and the limit `times`) pick the requests; the other fields shape the answer.
 */
export interface ReceiverRule {
  /** Exact path, or a prefix when it ends in `*` (`/hooks/*`). */
  path?: string;
  /** HTTP method, any case. */
  method?: string;
  /** Conditions on the body, the `webhook-id` and the load; see {@link RuleMatch}. */
  match?: RuleMatch;
  /** The rule stops matching after this many requests (then later rules, or the default, answer). */
  times?: number;
  /** One status per matching request; the last repeats. @defaultValue `[200]` */
  statuses?: number[];
  /** Answer body: a string is sent as text, anything else as JSON. @defaultValue `{"ok": <status is 2xx>}` */
  body?: unknown;
  /** Extra answer headers; they override the defaults (`content-type`). */
  headers?: Record<string, string>;
  /** Wait before answering: milliseconds, or `[min, max]` drawn uniformly per request. */
  delay_ms?: number | [number, number];
  /** Break the connection instead of answering normally. */
  fault?: Fault;
  /** Milliseconds between bytes of a `dribble` answer. @defaultValue 100 */
  dribble_interval_ms?: number;
}

/** The rules document of `PUT /_/rules` and `--rules FILE`. */
export interface RulesDocument {
  rules: ReceiverRule[];
}
