import { createHmac, randomBytes } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { ToolkitErrorCode } from "../../toolkit/errors.js";
import { checkBasic, parseBasicCredentials } from "../../toolkit/receiver/verdicts/basic-verdict.js";
import { refusalFor } from "../../toolkit/receiver/verdicts/enforcement.js";
import { SignatureVerifier, decodeSigningSecret } from "../../toolkit/receiver/verdicts/signature-verdict.js";

const secret = `whsec_${randomBytes(32).toString("base64")}`;
const body = JSON.stringify({ id: "task-1", status: "completed", result: 7, timestamp: "2026-11-22T09:48:29.123Z" });
const nowMs = Date.UTC(2026, 10, 22, 10, 0, 0);
const nowS = Math.floor(nowMs / 1000);

/** Headers as a Standard Webhooks sender makes them, signed by the reference `standardwebhooks` package. */
function signedHeaders(options: { id?: string; timestampS?: number; payload?: string; key?: string } = {}): Record<string, string> {
  const id = options.id ?? "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W";
  const timestampS = options.timestampS ?? nowS;
  const signature = new Webhook(options.key ?? secret).sign(id, new Date(timestampS * 1000), options.payload ?? body);
  return { "webhook-id": id, "webhook-timestamp": String(timestampS), "webhook-signature": signature };
}

const verifier = new SignatureVerifier(secret, { now: () => nowMs });

describe("Standard Webhooks signature verdict", () => {
  it("passes a body signed by the standardwebhooks package", () => {
    expect(verifier.verify(signedHeaders(), body)).toEqual({ verdict: "pass" });
  });

  it("fails a tampered body", () => {
    const result = verifier.verify(signedHeaders(), body.replace('"result":7', '"result":8'));
    expect(result).toEqual({ verdict: "fail", reason: "no v1 signature in webhook-signature matches the body" });
  });

  it("fails a signature made with another secret, or for another id", () => {
    const otherKey = `whsec_${randomBytes(32).toString("base64")}`;
    expect(verifier.verify(signedHeaders({ key: otherKey }), body).verdict).toBe("fail");
    const headers = { ...signedHeaders(), "webhook-id": "msg_other" };
    expect(verifier.verify(headers, body).verdict).toBe("fail");
  });

  it("accepts any one matching entry among several, and ignores other versions", () => {
    const good = signedHeaders()["webhook-signature"] ?? "";
    const stale = signedHeaders({ key: `whsec_${randomBytes(24).toString("base64")}` })["webhook-signature"] ?? "";
    const headers = { ...signedHeaders(), "webhook-signature": `v1a,${randomBytes(64).toString("base64")} ${stale} ${good}` };
    expect(verifier.verify(headers, body)).toEqual({ verdict: "pass" });
    const onlyOthers = { ...signedHeaders(), "webhook-signature": `v2,${good.slice(3)} ${stale}` };
    expect(verifier.verify(onlyOthers, body).verdict).toBe("fail");
  });

  it("agrees with an HMAC computed independently over id.timestamp.body", () => {
    const key = Buffer.from(secret.slice("whsec_".length), "base64");
    const mac = createHmac("sha256", key).update(`msg_1.${nowS}.${body}`).digest("base64");
    expect(verifier.verify({ "webhook-id": "msg_1", "webhook-timestamp": String(nowS), "webhook-signature": `v1,${mac}` }, body)).toEqual({
      verdict: "pass",
    });
  });

  it("checks a body fed in chunks the same as whole", () => {
    const check = verifier.begin(signedHeaders());
    for (let offset = 0; offset < body.length; offset += 7) check.update(Buffer.from(body.slice(offset, offset + 7)));
    expect(check.finish()).toEqual({ verdict: "pass" });
  });

  it("allows 5 minutes of clock difference either way by default, and no more", () => {
    expect(verifier.verify(signedHeaders({ timestampS: nowS - 300 }), body).verdict).toBe("pass");
    expect(verifier.verify(signedHeaders({ timestampS: nowS + 300 }), body).verdict).toBe("pass");
    expect(verifier.verify(signedHeaders({ timestampS: nowS - 301 }), body)).toEqual({
      verdict: "fail",
      reason: "webhook-timestamp is 301 s old, more than the 300 s tolerance",
    });
    expect(verifier.verify(signedHeaders({ timestampS: nowS + 301 }), body)).toEqual({
      verdict: "fail",
      reason: "webhook-timestamp is 301 s in the future, more than the 300 s tolerance",
    });
  });

  it("takes a configured tolerance", () => {
    const strict = new SignatureVerifier(secret, { toleranceS: 10, now: () => nowMs });
    expect(strict.verify(signedHeaders({ timestampS: nowS - 10 }), body).verdict).toBe("pass");
    expect(strict.verify(signedHeaders({ timestampS: nowS - 11 }), body).verdict).toBe("fail");
  });

  it("names missing headers and a malformed timestamp", () => {
    expect(verifier.verify({}, body)).toEqual({ verdict: "fail", reason: "missing header webhook-id, webhook-timestamp, webhook-signature" });
    expect(verifier.verify({ ...signedHeaders(), "webhook-timestamp": "2026-11-22T10:00:00Z" }, body)).toEqual({
      verdict: "fail",
      reason: "webhook-timestamp is not whole Unix seconds",
    });
    expect(verifier.verify({ ...signedHeaders(), "webhook-signature": "garbage" }, body).verdict).toBe("fail");
  });

  it("accepts a secret without the whsec_ prefix, refuses one that is not base64 without echoing it", () => {
    const bare = secret.slice("whsec_".length);
    expect(new SignatureVerifier(bare, { now: () => nowMs }).verify(signedHeaders(), body).verdict).toBe("pass");
    let caught: unknown;
    try {
      decodeSigningSecret("whsec_not base64!!");
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: ToolkitErrorCode.secretInvalid });
    expect(String((caught as Error).message)).not.toContain("not base64!!");
  });
});

describe("basic auth verdict", () => {
  const expected = { username: "hook-user", password: "pa:ss wörd" };
  const header = (text: string): string => `Basic ${Buffer.from(text, "utf8").toString("base64")}`;

  it("passes the right credentials (a password may hold colons and non-ASCII)", () => {
    expect(parseBasicCredentials("hook-user:pa:ss wörd")).toEqual(expected);
    expect(checkBasic(header("hook-user:pa:ss wörd"), expected)).toEqual({ verdict: "pass" });
    expect(checkBasic(`basic   ${Buffer.from("hook-user:pa:ss wörd").toString("base64")}`, expected).verdict).toBe("pass");
  });

  it("fails each wrong case with its own reason", () => {
    expect(checkBasic(undefined, expected)).toEqual({ verdict: "fail", reason: "no Authorization header" });
    expect(checkBasic("Bearer abc", expected)).toEqual({ verdict: "fail", reason: "the Authorization header is not Basic" });
    expect(checkBasic(header("hook-user:wrong"), expected)).toEqual({ verdict: "fail", reason: "wrong username or password" });
    expect(checkBasic(header("other:pa:ss wörd"), expected).verdict).toBe("fail");
    expect(checkBasic(header("hook-user:pa:ss wörd "), expected).verdict).toBe("fail");
  });

  it("refuses USER:PASS without a colon or user, without repeating the text", () => {
    for (const text of ["justapassword", ":hunter2-pw"]) {
      let caught: unknown;
      try {
        parseBasicCredentials(text);
      } catch (error) {
        caught = error;
      }
      expect(caught).toMatchObject({ code: ToolkitErrorCode.basicInvalid });
      expect((caught as Error).message).not.toContain(text);
    }
  });
});

describe("enforcement", () => {
  const none = { basic: null, signature: null, tls: null };

  it("refuses nothing when every checked verdict passed", () => {
    expect(refusalFor(none, {})).toBeNull();
    expect(refusalFor({ basic: "pass", signature: "pass", tls: { authorized: true, subject: "CN=x" } }, {})).toBeNull();
  });

  it("answers no certificate 401, a refused certificate 403, before looking at basic or signature", () => {
    const noCert = refusalFor({ basic: "fail", signature: "fail", tls: { authorized: false, error: "NO_CLIENT_CERTIFICATE" } }, {});
    expect(noCert).toMatchObject({ status: 401, refusedBy: "tls" });
    const expired = refusalFor({ ...none, tls: { authorized: false, error: "CERT_HAS_EXPIRED", subject: "CN=x" } }, {});
    expect(expired).toMatchObject({ status: 403, refusedBy: "tls" });
    expect(expired?.error).toContain("CERT_HAS_EXPIRED");
  });

  it("answers basic failures 401 with WWW-Authenticate: Basic, signature failures 401 with the reason", () => {
    const basic = refusalFor({ ...none, basic: "fail", signature: "fail" }, { basic: "no Authorization header" });
    expect(basic).toMatchObject({ status: 401, refusedBy: "basic" });
    expect(basic?.headers["www-authenticate"]).toMatch(/^Basic /);
    const signature = refusalFor({ ...none, signature: "fail" }, { signature: "missing header webhook-id" });
    expect(signature).toMatchObject({ status: 401, refusedBy: "signature" });
    expect(signature?.error).toContain("missing header webhook-id");
  });
});
