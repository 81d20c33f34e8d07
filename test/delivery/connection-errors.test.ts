import { describe, expect, it } from "vitest";
import { basicToken, redactSecrets, secretsOf } from "../../runtime/webhook/attempt-secrets.js";
import { describeConnectionError } from "../../runtime/webhook/connection-errors.js";

const withCode = (message: string, code: string, cause?: Error): Error => Object.assign(new Error(message, cause ? { cause } : {}), { code });

describe("describeConnectionError", () => {
  it("names a known failure anywhere in the cause chain", () => {
    const error = new Error("fetch failed", { cause: withCode("certificate required", "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED") });
    expect(describeConnectionError(error)).toBe(
      "the receiver requires a client certificate; set callback auth kind mtls (ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED)",
    );
  });

  it("explains a hang-up during an mTLS attempt, and only then", () => {
    const hangUp = withCode("other side closed", "UND_ERR_SOCKET");
    expect(describeConnectionError(hangUp, { mtls: true })).toContain("with mTLS this usually means the receiver refused the client certificate");
    expect(describeConnectionError(hangUp)).toBe("the receiver closed the connection without a complete answer (UND_ERR_SOCKET)");
  });

  it("quotes an unknown failure with the attempt's secrets removed", () => {
    const error = withCode("bad thing near hunter2-password", "EWHATEVER");
    expect(describeConnectionError(error, { secrets: ["hunter2-password"] })).toBe("connection failed: bad thing near [redacted] (EWHATEVER)");
  });
});

describe("attempt secrets", () => {
  it("collects the password, its basic token, the signing secret and its key in every form, and a client key", () => {
    const secret = "whsec_c2VjcmV0LWtleS1ieXRlcw==";
    const key = Buffer.from("c2VjcmV0LWtleS1ieXRlcw==", "base64");
    expect(new Set(secretsOf({ signingSecret: secret }, { kind: "basic", username: "u", password: 'p"w' }))).toEqual(
      new Set([
        secret,
        "c2VjcmV0LWtleS1ieXRlcw==",
        "c2VjcmV0LWtleS1ieXRlcw",
        "secret-key-bytes",
        key.toString("hex"),
        key.toString("hex").toUpperCase(),
        basicToken("u", 'p"w'),
        'p"w',
        'p\\"w',
        "p%22w",
      ]),
    );
    expect(secretsOf({}, { kind: "mtls", cert: "CERT", key: "KEY\nPEM\n" })).toEqual(["KEY\\nPEM\\n", "KEY\nPEM\n", "KEY\nPEM"]);
  });

  it("removes a secret containing another whole", () => {
    const secret = "whsec_c2VjcmV0LWtleS1ieXRlcw==";
    expect(redactSecrets(`got ${secret}`, secretsOf({ signingSecret: secret }, undefined))).toBe("got [redacted]");
  });
});
