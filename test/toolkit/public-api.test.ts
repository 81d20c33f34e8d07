import { Webhook } from "standardwebhooks";
import { Agent, request } from "undici";
import { describe, expect, it } from "vitest";
import * as toolkit from "../../toolkit/index.js";

describe("toolkit entry point", () => {
  it("exports the documented API", () => {
    for (const name of [
      "generateCertificates",
      "writeCertificates",
      "readCertificateFile",
      "certificateFileName",
      "certificateNames",
      "defaultServerHosts",
      "startReceiver",
      "MockReceiver",
      "loadReceiverTls",
      "faults",
      "parseRulesDocument",
      "SignatureVerifier",
      "ToolkitError",
      "ToolkitErrorCode",
      "receiverQuirks",
      "receiverQuirkNames",
      "runConformance",
      "checkIds",
      "toJsonReport",
      "jsonReportSchema",
      "toJunitXml",
      "toTable",
    ]) {
      expect(toolkit, name).toHaveProperty(name);
    }
  });

  it("works end to end as a user would: fixtures, an mTLS receiver with a secret, a signed delivery, a wait", async () => {
    const certs = await toolkit.generateCertificates();
    const secret = `whsec_${Buffer.from("a test secret of 24 bytes").toString("base64")}`;
    const receiver = await toolkit.startReceiver({ tls: certs.server, clientCa: certs.ca.cert, secret });
    const agent = new Agent({ connect: { ca: certs.ca.cert, servername: "localhost", cert: certs.client.cert, key: certs.client.key } });
    try {
      const body = '{"id":"t1","status":"completed","result":7}';
      const at = new Date();
      const headers = {
        "content-type": "application/json",
        "webhook-id": "msg_1",
        "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
        "webhook-signature": new Webhook(secret).sign("msg_1", at, body),
      };
      const sent = request(`${receiver.url}/hook`, { method: "POST", body, headers, dispatcher: agent });
      const [delivery] = await receiver.waitFor({ count: 1, timeoutMs: 5000 });
      expect(delivery?.verdicts).toEqual({ basic: null, signature: "pass", tls: { authorized: true, subject: expect.stringContaining("CN=predictor-runtime client") as unknown } });
      expect((await sent).statusCode).toBe(200);
    } finally {
      await agent.destroy();
      await receiver.close();
    }
  });
});
