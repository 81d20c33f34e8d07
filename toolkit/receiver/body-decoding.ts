import { isTooDeep } from "../../runtime/shared/json-depth.js";

/** True for `application/json` and `application/<anything>+json`, with any parameters. */
export function isJsonContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const mediaType = contentType.split(";")[0]?.trim().toLowerCase() ?? "";
  return mediaType === "application/json" || /^application\/[^/]+\+json$/.test(mediaType);
}

/** Longest body text parsed as JSON for the admin API and rule matching; a longer one is shown as its text. */
export const MAX_PARSED_BODY_CHARS = 1024 * 1024;
/** Deepest JSON parsed for the admin API (whose serializer recurses); deeper bodies are shown as their text. */
export const MAX_PARSED_BODY_DEPTH = 256;

/** The recorded form of a body: its text (or base64), and whether it may be read as JSON. */
export interface DecodedBody {
  raw_body: string;
  raw_body_encoding: "utf8" | "base64";
  /** The content type says JSON, and the body arrived whole as UTF-8. */
  jsonTyped: boolean;
}

/**
 * Decodes a body to the text that is recorded. Only the text is kept: a parsed copy costs about 24 times the
 * bytes, and a deep one breaks any recursive serializer, so the parse happens on demand (see {@link boundedJson}).
 */
export function decodeBody(bytes: Buffer, contentType: string | undefined, truncated: boolean): DecodedBody {
  let text: string;
  try {
    // A truncated body may end inside a multi-byte character: `stream` leaves that tail out instead of failing.
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes, { stream: truncated });
  } catch {
    return { raw_body: bytes.toString("base64"), raw_body_encoding: "base64", jsonTyped: false };
  }
  return { raw_body: text, raw_body_encoding: "utf8", jsonTyped: !truncated && text !== "" && isJsonContentType(contentType) };
}

/**
 * The body's JSON value, parsed now, or `undefined` when it is not JSON-typed, does not parse, or is past the
 * bounds ({@link MAX_PARSED_BODY_CHARS}, {@link MAX_PARSED_BODY_DEPTH}) that keep a parse cheap and its value safe
 * to serialize again.
 */
export function boundedJson(decoded: DecodedBody): unknown {
  if (!decoded.jsonTyped || decoded.raw_body.length > MAX_PARSED_BODY_CHARS || isTooDeep(decoded.raw_body, MAX_PARSED_BODY_DEPTH)) return undefined;
  try {
    return JSON.parse(decoded.raw_body) as unknown;
  } catch {
    // Shown as text: a receiver author wants to see the malformed JSON as it arrived.
    return undefined;
  }
}

/** The `body` a delivery shows: the parsed JSON within the bounds, else the text as recorded. */
export function shownBody(decoded: DecodedBody): unknown {
  return boundedJson(decoded) ?? decoded.raw_body;
}
