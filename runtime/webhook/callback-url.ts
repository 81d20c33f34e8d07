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

/** A callback URL fit for logs: scheme, host and path; the query may carry a receiver's token, so it is dropped. */
export function redactCallbackUrl(text: string): string {
  try {
    const url = new URL(text);
    return `${url.protocol}//${url.host}${url.pathname}${url.search ? "?…" : ""}`;
  } catch {
    return "(invalid URL)";
  }
}
