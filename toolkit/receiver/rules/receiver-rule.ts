import type { Fault } from "../delivery.js";

/**
 * One receiver rule (contract section 6). Every field is optional. Match conditions (`path`, `method`, and the
 * limit `times`) pick the requests; the other fields shape the answer.
 */
export interface ReceiverRule {
  /** Exact path, or a prefix when it ends in `*` (`/hooks/*`). */
  path?: string;
  /** HTTP method, any case. */
  method?: string;
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
