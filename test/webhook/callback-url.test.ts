import { describe, expect, it } from "vitest";
import { parseCallbackUrl, redactCallbackUrl } from "../../runtime/webhook/callback-url.js";

describe("redactCallbackUrl", () => {
  it("keeps scheme, host and short path segments, and drops the query", () => {
    expect(redactCallbackUrl("https://hooks.example.com:8443/api/v1/hook?token=s3cr3t")).toBe("https://hooks.example.com:8443/api/v1/hook?…");
    expect(redactCallbackUrl("http://127.0.0.1:9000/hook")).toBe("http://127.0.0.1:9000/hook");
  });

  it("shortens long path segments, where receivers such as Slack put their tokens", () => {
    const url = "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX";
    const logged = redactCallbackUrl(url);
    expect(logged).toBe("https://hooks.slack.com/services/T00000000/B00000000/XXXX…");
    expect(logged).not.toContain("XXXXXXXXXXXXXXXXXXXXXXXX");
  });

  it("never throws on text that is not a URL", () => {
    expect(redactCallbackUrl("not a url")).toBe("(invalid URL)");
  });
});

describe("parseCallbackUrl", () => {
  it.each([
    ["not a url", "is not an absolute URL; give one like https://example.com/hook"],
    ["ftp://example.com/x", "uses ftp:, but only http and https callbacks are sent"],
    ["http://user:pass@example.com/x", "carries credentials in the URL; pass them as callback auth (kind: basic) instead"],
    ["http://example.com/x#frag", "has a #fragment, which is never sent to a server; remove it"],
  ])("refuses %s: %s", (text, problem) => {
    expect(parseCallbackUrl(text)).toEqual({ problem });
  });

  it("accepts http and https URLs with paths and queries", () => {
    const parsed = parseCallbackUrl("https://example.com/hook?x=1");
    expect("url" in parsed && parsed.url.href).toBe("https://example.com/hook?x=1");
  });
});
