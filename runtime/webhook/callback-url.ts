/**
 * Checks a callback URL's form (not its address: that is the network guard's job). Returns a message saying what
 * is wrong and how to fix it, or the parsed URL.
 */
export function parseCallbackUrl(text: string): { url: URL } | { problem: string } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { problem: "is not an absolute URL; give one like https://example.com/hook" };
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return { problem: `uses ${url.protocol.slice(0, -1)}:, but only http and https callbacks are sent` };
  }
  if (url.username !== "" || url.password !== "") {
    // Credentials in a URL end up in logs and proxies; the auth block keeps them out of both.
    return { problem: "carries credentials in the URL; pass them as callback auth (kind: basic) instead" };
  }
  if (url.hash !== "") {
    return { problem: "has a #fragment, which is never sent to a server; remove it" };
  }
  return { url };
}

/** Path segments this long or longer are shown shortened in logs: long segments are where receivers put tokens. */
const LOGGED_SEGMENT_MAX = 16;

/**
 * A callback URL fit for logs: scheme, host and path, with the query dropped and long path segments shortened,
 * since receivers put tokens in both (`?token=...`, Slack's `/services/T0/B0/XXXXXXXX`).
 */
export function redactCallbackUrl(text: string): string {
  // Every attempt logs its URL, and most reports go to the same few: parse each once.
  let redacted = redactedUrls.get(text);
  if (redacted === undefined) {
    if (redactedUrls.size >= REDACTED_URLS_KEPT) redactedUrls.clear();
    redacted = redactUrl(text);
    redactedUrls.set(text, redacted);
  }
  return redacted;
}

/** Most URLs {@link redactCallbackUrl} remembers; bounded, since per-request URLs can each be different. */
const REDACTED_URLS_KEPT = 256;
const redactedUrls = new Map<string, string>();

function redactUrl(text: string): string {
  try {
    const url = new URL(text);
    const path = url.pathname
      .split("/")
      .map((segment) => (segment.length >= LOGGED_SEGMENT_MAX ? `${segment.slice(0, 4)}…` : segment))
      .join("/");
    return `${url.protocol}//${url.host}${path}${url.search ? "?…" : ""}`;
  } catch {
    return "(invalid URL)";
  }
}
