import { describe, expect, it } from "vitest";
import { resolveConformanceOptions, type ConformanceOptions } from "../../toolkit/conformance/conformance-options.js";
import { ToolkitError, ToolkitErrorCode } from "../../toolkit/errors.js";
import { credentials, useCertificates } from "./helpers/fixtures.js";

const fixtures = useCertificates();

async function refusal(options: ConformanceOptions): Promise<ToolkitError> {
  try {
    await resolveConformanceOptions(options);
  } catch (error) {
    expect(error).toBeInstanceOf(ToolkitError);
    return error as ToolkitError;
  }
  throw new Error("the options were accepted");
}

describe("conformance options", () => {
  it("apply the documented defaults and hide the query string from output", async () => {
    const resolved = await resolveConformanceOptions({ url: "http://127.0.0.1:9000/hook?token=abc" });
    expect(resolved).toMatchObject({
      displayUrl: "http://127.0.0.1:9000/hook",
      format: "cortex",
      signing: undefined,
      basic: undefined,
      mtls: undefined,
      ackDeadlineMs: 10_000,
      timeoutMs: 30_000,
      concurrentDeliveries: 50,
      largeReportBytes: 1024 * 1024,
    });
    expect(resolved.url.search).toBe("?token=abc");
  });

  it("read the certificate fixtures from a directory, as given in memory", async () => {
    const fromDir = await resolveConformanceOptions({ url: "https://127.0.0.1:9/hook", mtls: fixtures.dir() });
    const certs = fixtures.certs();
    expect(fromDir.mtls?.client).toEqual(certs.client);
    expect(fromDir.mtls?.["client-foreign-ca"]).toEqual(certs["client-foreign-ca"]);
    expect(fromDir.mtls?.ca.cert).toBe(certs.ca.cert);
  });

  it("refuse bad values with stable codes, never repeating a secret", async () => {
    expect((await refusal({ url: "ws://127.0.0.1/hook" })).code).toBe(ToolkitErrorCode.urlInvalid);
    expect((await refusal({ url: "http://127.0.0.1/hook#part" })).code).toBe(ToolkitErrorCode.urlInvalid);
    expect((await refusal({ url: "http://127.0.0.1/hook", mtls: fixtures.certs() })).message).toContain("--mtls needs an https:// URL");
    const secret = await refusal({ url: "http://127.0.0.1/hook", secret: "not-a-whsec-secret" });
    expect(secret.code).toBe(ToolkitErrorCode.secretInvalid);
    expect(secret.message).not.toContain("not-a-whsec-secret");
    expect((await refusal({ url: "http://127.0.0.1/hook", basic: { username: "a:b", password: credentials.password } })).code).toBe(ToolkitErrorCode.basicInvalid);
    expect((await refusal({ url: "http://127.0.0.1/hook", basic: "nocolon" })).code).toBe(ToolkitErrorCode.basicInvalid);
    expect((await refusal({ url: "http://127.0.0.1/hook", format: "svix" as "cortex" })).code).toBe(ToolkitErrorCode.optionInvalid);
    expect((await refusal({ url: "http://127.0.0.1/hook", ackDeadlineMs: 0 })).message).toBe("ackDeadlineMs must be a whole number from 1 to 600000, got 0");
    expect((await refusal({ url: "http://127.0.0.1/hook", concurrentDeliveries: 1.5 })).code).toBe(ToolkitErrorCode.optionInvalid);
    expect((await refusal({ url: "https://127.0.0.1/hook", mtls: "/nonexistent-dir" })).code).toBe(ToolkitErrorCode.certFileMissing);
  });
});
