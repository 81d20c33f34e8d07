import type { Delivery } from "./delivery.js";

/** True for `application/json` and `application/<anything>+json`, with any parameters. */
export function isJsonContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const mediaType = contentType.split(";")[0]?.trim().toLowerCase() ?? "";
  return mediaType === "application/json" || /^application\/[^/]+\+json$/.test(mediaType);
}

/** The recorded forms of a body: parsed JSON when the content type says JSON and it parses, else the text. */
export function decodeBody(
  bytes: Buffer,
  contentType: string | undefined,
  truncated: boolean,
): Pick<Delivery, "body" | "raw_body" | "raw_body_encoding"> {
  let text: string;
  try {
    // A truncated body may end inside a multi-byte character: `stream` leaves that tail out instead of failing.
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes, { stream: truncated });
  } catch {
    const base64 = bytes.toString("base64");
    return { body: base64, raw_body: base64, raw_body_encoding: "base64" };
  }
  if (!truncated && text !== "" && isJsonContentType(contentType)) {
    try {
      return { body: JSON.parse(text) as unknown, raw_body: text, raw_body_encoding: "utf8" };
    } catch {
      // Recorded as text: a receiver author wants to see the malformed JSON as it arrived.
    }
  }
  return { body: text, raw_body: text, raw_body_encoding: "utf8" };
}

/**
 * The parsed JSON value of a body decoded by {@link decodeBody}, or `undefined` when it was not JSON: decodeBody
 * leaves a body it did not parse as its own text, so a parsed value is whatever differs from the raw text.
 */
export function jsonValueOf(decoded: Pick<Delivery, "body" | "raw_body">): unknown {
  return decoded.body === decoded.raw_body ? undefined : decoded.body;
}
