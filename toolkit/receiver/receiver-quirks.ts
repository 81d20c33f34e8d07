import { ToolkitError, ToolkitErrorCode } from "../errors.js";

/**
 * Deliberate flaws a mock receiver can be given, each a bug real receivers have, each breaking exactly one clause
 * of the conformance suite (`predictor-runtime conform`), so a test can show the suite notices it. None is on by
 * default: a receiver without quirks is conformant. Flaws of the answer rather than of verification (409 on a
 * repeated webhook-id, 503 above a concurrency limit, a strict schema) are rules with `match` conditions instead.
 */
export const receiverQuirks = {
  "signature-allow-unsigned": "a request without a webhook-signature header passes the signature check",
  "signature-allow-no-v1-entry":
    "a webhook-signature header without any v1,<base64> entry passes (an 'every entry matched' loop over an empty list)",
  "signature-length-only": "a v1 signature passes when its length is right, whatever its bytes",
  "signature-prefix-match": "a v1 signature passes when it is a non-empty prefix of the expected one (a truncating compare)",
  "signature-ignore-stale": "webhook-timestamp is not checked against the past: an old, replayed delivery passes",
  "signature-ignore-future": "webhook-timestamp is not checked against the future (the tolerance is applied one way only)",
  "signature-verify-reserialized":
    "the signature is checked over the body parsed and serialized again (compact JSON), not over the bytes received",
  "signature-first-entry-only": "only the first v1 entry of webhook-signature is checked, so secret rotation breaks",
  "basic-allow-missing": "a request without an Authorization header passes the basic check",
  "basic-403-on-wrong": "wrong basic credentials are refused 403 (without WWW-Authenticate) instead of 401",
  "mtls-allow-no-cert": "a client that presents no certificate is authorized",
  "mtls-allow-expired": "an expired client certificate is authorized",
  "mtls-allow-wrong-eku": "a client certificate without the clientAuth extended key usage is authorized",
  "mtls-allow-unknown-ca": "a client certificate from an issuer the receiver does not trust is authorized",
} as const;

/** One deliberate receiver flaw; see {@link receiverQuirks}. */
export type ReceiverQuirk = keyof typeof receiverQuirks;

/** Every quirk name, in the order they are documented. */
export const receiverQuirkNames = Object.keys(receiverQuirks) as ReceiverQuirk[];

/** Checks a list of quirk names, throwing OPTION_INVALID that lists the known ones. */
export function parseQuirks(quirks: readonly string[]): readonly ReceiverQuirk[] {
  const unknown = quirks.filter((quirk) => !(quirk in receiverQuirks));
  if (unknown.length > 0) {
    throw new ToolkitError(
      ToolkitErrorCode.optionInvalid,
      `unknown receiver quirk ${unknown.map((quirk) => JSON.stringify(quirk)).join(", ")}; known quirks: ${receiverQuirkNames.join(", ")}`,
    );
  }
  return Object.freeze([...new Set(quirks as ReceiverQuirk[])]);
}
