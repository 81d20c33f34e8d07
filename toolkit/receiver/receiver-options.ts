import { isIP } from "node:net";
import { ToolkitError, ToolkitErrorCode } from "../errors.js";
import type { Delivery } from "./delivery.js";
import { parseQuirks, type ReceiverQuirk } from "./receiver-quirks.js";
import type { ReceiverRule } from "./rules/receiver-rule.js";
import { parseRulesDocument } from "./rules/rule-schema.js";
import { decodeSigningSecret } from "./verdicts/signature-verdict.js";

/** Options of `startReceiver`. Every field is optional; the defaults make a plain HTTP receiver on loopback. */
export interface ReceiverOptions {
  /** TCP port; 0 picks a free one (read it from `url`). @defaultValue 0 */
  port?: number;
  /** Address to listen on. Loopback unless you mean to expose the receiver. @defaultValue `"127.0.0.1"` */
  host?: string;
  /** Serve HTTPS with this certificate and key (PEM). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /**
   * mTLS: ask every client for a certificate signed by this CA (PEM; needs `tls`). A client without one is
   * still served, recorded with its `tls` verdict, and refused 401 (no certificate) or 403 (refused one).
   */
  clientCa?: string | Buffer;
  /** Check `Authorization: Basic` against these credentials (the `basic` verdict). */
  basic?: { username: string; password: string };
  /** Check Standard Webhooks signatures with this `whsec_...` secret (the `signature` verdict). */
  secret?: string;
  /** How far `webhook-timestamp` may be from now, in seconds, either way. @defaultValue 300 */
  signatureToleranceS?: number;
  /** Refuse requests whose tls, basic or signature verdict failed; `false` only records the verdicts. @defaultValue true */
  enforce?: boolean;
  /**
   * Deliberate verification flaws, such as `signature-first-entry-only` (see `receiverQuirks` for the list), for
   * showing that a conformance suite notices them. @defaultValue [] (a conformant receiver)
   */
  quirks?: readonly ReceiverQuirk[];
  /** Rules to start with (validated like `PUT /_/rules`). @defaultValue [] */
  rules?: ReceiverRule[];
  /** Body bytes recorded per delivery; the rest is counted, checked and dropped. @defaultValue 10 MiB */
  maxBodyBytes?: number;
  /** Deliveries kept; older ones are dropped. @defaultValue 10000 */
  maxDeliveries?: number;
  /** Approximate recorded body bytes kept over all deliveries; older ones are dropped. @defaultValue 256 MiB */
  maxStoredBytes?: number;
  /** Called for every delivery as it is recorded (the CLI prints a line). */
  onDelivery?: (delivery: Delivery) => void;
  /** URL prefixes besides loopback that the live page may resend a recorded delivery to. @defaultValue [] */
  resendAllow?: readonly string[];
}

/** ReceiverOptions with every default applied, checked and frozen. */
export type ResolvedReceiverOptions = Readonly<
  Required<Omit<ReceiverOptions, "tls" | "clientCa" | "basic" | "secret" | "onDelivery">> &
    Pick<ReceiverOptions, "tls" | "clientCa" | "basic" | "secret" | "onDelivery">
>;

const mib = 1024 * 1024;

/** Applies defaults and refuses a bad option with a message that says how to fix it (never echoing a secret). */
export function resolveReceiverOptions(options: ReceiverOptions): ResolvedReceiverOptions {
  const resolved = {
    port: options.port ?? 0,
    host: options.host ?? "127.0.0.1",
    signatureToleranceS: options.signatureToleranceS ?? 300,
    enforce: options.enforce ?? true,
    quirks: parseQuirks(options.quirks ?? []),
    rules: parseRulesDocument({ rules: options.rules ?? [] }).rules,
    maxBodyBytes: options.maxBodyBytes ?? 10 * mib,
    maxDeliveries: options.maxDeliveries ?? 10_000,
    maxStoredBytes: options.maxStoredBytes ?? 256 * mib,
    resendAllow: Object.freeze([...(options.resendAllow ?? [])]),
    tls: options.tls,
    clientCa: options.clientCa,
    basic: options.basic,
    secret: options.secret,
    onDelivery: options.onDelivery,
  };
  const problem = (message: string): never => {
    throw new ToolkitError(ToolkitErrorCode.optionInvalid, message);
  };
  if (!Number.isInteger(resolved.port) || resolved.port < 0 || resolved.port > 65535) {
    problem(`port must be a whole number from 0 to 65535, got ${resolved.port}`);
  }
  if (resolved.host !== "localhost" && isIP(resolved.host) === 0) {
    problem(`host must be an IP address to listen on (such as 127.0.0.1 or ::1) or localhost, got ${JSON.stringify(resolved.host)}`);
  }
  if (resolved.clientCa !== undefined && resolved.tls === undefined) {
    problem("clientCa (mTLS) needs tls: give the server certificate and key too");
  }
  if (resolved.basic !== undefined && resolved.basic.username === "") {
    throw new ToolkitError(ToolkitErrorCode.basicInvalid, "basic.username must not be empty");
  }
  if (resolved.secret !== undefined) decodeSigningSecret(resolved.secret);
  if (!Number.isFinite(resolved.signatureToleranceS) || resolved.signatureToleranceS < 0) {
    problem(`signatureToleranceS must be a number of seconds >= 0, got ${resolved.signatureToleranceS}`);
  }
  for (const prefix of resolved.resendAllow) {
    if (!/^https?:\/\/[^/]+\//.test(prefix)) problem(`--allow-resend ${JSON.stringify(prefix)}: give a URL prefix with scheme, host and a path, such as https://staging.example.com/hooks/`);
  }
  for (const name of ["maxBodyBytes", "maxDeliveries", "maxStoredBytes"] as const) {
    if (!Number.isInteger(resolved[name]) || resolved[name] < 1) problem(`${name} must be a whole number >= 1, got ${resolved[name]}`);
  }
  return Object.freeze(resolved);
}
