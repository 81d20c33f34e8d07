import { describe, expect, it } from "vitest";
import type { CheckContext } from "../../toolkit/conformance/check-definition.js";
import { rejectionCheck } from "../../toolkit/conformance/checks/rejection-check.js";
import type { SendOutcome } from "../../toolkit/conformance/send-outcome.js";

const answered = (status: number, headers: Record<string, string> = {}): SendOutcome => ({ kind: "answered", status, headers, body: "", elapsedMs: 3 });

/** The verdict and detail a rejection check gives for one outcome of its probe. */
async function judge(outcome: SendOutcome, extra: { status?: number; certificateOnTrial?: boolean; challenge?: boolean } = {}): Promise<{ verdict: string; detail: string }> {
  const check = rejectionCheck({ id: "x.rejects-y", clause: "rejects y", source: "Launch", needs: [], what: "y", fix: "reject y", probe: () => Promise.resolve(outcome), ...extra });
  const { verdict, detail } = await check.run({} as CheckContext);
  return { verdict, detail };
}

describe("what counts as a rejection", () => {
  it("any 4xx rejects; a 2xx accepts; a 3xx, 5xx, reset or silence does not reject", async () => {
    expect(await judge(answered(401))).toEqual({ verdict: "pass", detail: "rejected y: 401 after 3 ms" });
    expect(await judge(answered(422))).toMatchObject({ verdict: "pass" });
    expect(await judge(answered(204))).toEqual({ verdict: "fail", detail: "accepted y: 204 after 3 ms" });
    expect(await judge(answered(500))).toEqual({ verdict: "fail", detail: "did not reject y: 500 after 3 ms (a 5xx or 3xx is not a rejection: senders retry it)" });
    expect(await judge(answered(302))).toMatchObject({ verdict: "fail" });
    expect(await judge({ kind: "broken", error: "ECONNRESET: reset", elapsedMs: 1 })).toMatchObject({ verdict: "fail" });
    expect(await judge({ kind: "timeout", elapsedMs: 30_000 })).toEqual({ verdict: "fail", detail: "did not reject y: no answer within 30 s" });
  });

  it("a refused handshake, or a connection closed unanswered, rejects only where the client certificate is on trial", async () => {
    const refused: SendOutcome = { kind: "tls-refused", error: "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: alert", elapsedMs: 1 };
    expect(await judge(refused, { certificateOnTrial: true })).toEqual({
      verdict: "pass",
      detail: "rejected y at the TLS layer: refused the TLS handshake (ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: alert)",
    });
    expect(await judge({ kind: "broken", error: "UND_ERR_SOCKET: other side closed", elapsedMs: 1 }, { certificateOnTrial: true })).toMatchObject({ verdict: "pass" });
    expect(await judge(refused)).toMatchObject({ verdict: "fail" });
  });

  it("an exact status: 401 passes (noting a missing challenge), 403 fails", async () => {
    const basic = { status: 401, challenge: true };
    expect(await judge(answered(401, { "www-authenticate": 'Basic realm="x"' }), basic)).toEqual({ verdict: "pass", detail: "rejected y: 401 after 3 ms" });
    expect((await judge(answered(401), basic)).detail).toBe("rejected y: 401 after 3 ms (without WWW-Authenticate, which RFC 9110 requires on a 401: add one)");
    expect(await judge(answered(403), basic)).toEqual({ verdict: "fail", detail: "rejected y, but not with 401: 403 after 3 ms" });
  });
});
