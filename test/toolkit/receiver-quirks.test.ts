import { createHmac, randomBytes } from "node:crypto";
import { Agent, request } from "undici";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { generateCertificates, type CertificateSet } from "../../toolkit/certs/generate-certificates.js";
import { ToolkitError, ToolkitErrorCode } from "../../toolkit/errors.js";
import { receiverQuirkNames, receiverQuirks, type ReceiverQuirk } from "../../toolkit/receiver/receiver-quirks.js";
import { SignatureVerifier } from "../../toolkit/receiver/verdicts/signature-verdict.js";
import { useReceivers } from "./helpers/receivers.js";

const start = useReceivers();
const secret = `whsec_${randomBytes(32).toString("base64")}`;
const key = Buffer.from(secret.slice("whsec_".length), "base64");
const nowMs = Date.UTC(2026, 10, 22, 10, 0, 0);
const nowS = Math.floor(nowMs / 1000);
const body = JSON.stringify({ id: "t1", status: "completed", result: 7, timestamp: "2026-11-22T09:48:29.123Z" });

/** A v1 signature computed here, independently of the verifier under test. */
function sign(payload: string, options: { id?: string; timestampS?: number; with?: Buffer } = {}): string {
  const mac = createHmac("sha256", options.with ?? key).update(`${options.id ?? "msg_1"}.${options.timestampS ?? nowS}.${payload}`).digest("base64");
  return `v1,${mac}`;
}

function headers(signature: string | undefined, timestampS = nowS): Record<string, string> {
  return { "webhook-id": "msg_1", "webhook-timestamp": String(timestampS), ...(signature === undefined ? {} : { "webhook-signature": signature }) };
}

/** Verdicts of one probe under no quirk and under `quirk`. */
function verdicts(quirk: ReceiverQuirk, probe: { headers: Record<string, string>; body?: string }): [string, string] {
  const strict = new SignatureVerifier(secret, { now: () => nowMs });
  const flawed = new SignatureVerifier(secret, { now: () => nowMs, quirks: [quirk] });
  return [strict.verify(probe.headers, probe.body ?? body).verdict, flawed.verify(probe.headers, probe.body ?? body).verdict];
}

describe("receiver quirks", () => {
  it("refuses an unknown quirk, naming the known ones", async () => {
    const refused = start({ quirks: ["signature-be-nice" as ReceiverQuirk] });
    await expect(refused).rejects.toBeInstanceOf(ToolkitError);
    await expect(refused).rejects.toMatchObject({
      code: ToolkitErrorCode.optionInvalid,
      message: expect.stringContaining('unknown receiver quirk "signature-be-nice"; known quirks: signature-allow-unsigned') as unknown,
    });
  });

  it("documents every quirk in one sentence", () => {
    for (const name of receiverQuirkNames) expect(receiverQuirks[name].length, name).toBeGreaterThan(20);
  });
});

describe("signature quirks: each lets exactly its flawed delivery through", () => {
  const valid = sign(body);
  const otherKey = randomBytes(32);
  const cases: [ReceiverQuirk, { headers: Record<string, string>; body?: string }][] = [
    ["signature-allow-unsigned", { headers: headers(undefined) }],
    ["signature-allow-no-v1-entry", { headers: headers("not-a-signature") }],
    ["signature-length-only", { headers: headers(sign(body, { with: otherKey })) }],
    ["signature-prefix-match", { headers: headers(valid.slice(0, 3 + 24)) }],
    ["signature-ignore-stale", { headers: headers(sign(body, { timestampS: nowS - 600 }), nowS - 600) }],
    ["signature-ignore-future", { headers: headers(sign(body, { timestampS: nowS + 600 }), nowS + 600) }],
    ["signature-verify-reserialized", { headers: headers(valid), body: JSON.stringify(JSON.parse(body), null, 2) }],
    ["signature-first-entry-only", { headers: headers(`${sign(body, { with: otherKey })} ${valid}`) }],
  ];

  it.each(cases)("%s", (quirk, probe) => {
    const [strict, flawed] = verdicts(quirk, probe);
    if (quirk === "signature-first-entry-only") {
      // Here the flaw refuses what a correct receiver accepts (rotation).
      expect([strict, flawed]).toEqual(["pass", "fail"]);
    } else {
      expect([strict, flawed]).toEqual(["fail", "pass"]);
    }
  });

  it("each quirk still passes a valid delivery and refuses a wrong-key one it is not about", () => {
    const wrongKey = headers(sign(body, { with: randomBytes(32) }));
    for (const [quirk] of cases) {
      const flawed = new SignatureVerifier(secret, { now: () => nowMs, quirks: [quirk] });
      expect(flawed.verify(headers(valid), body).verdict, quirk).toBe("pass");
      if (quirk !== "signature-length-only") expect(flawed.verify(wrongKey, body).verdict, quirk).toBe("fail");
    }
  });

  it("signature-prefix-match still refuses an empty signature", () => {
    const flawed = new SignatureVerifier(secret, { now: () => nowMs, quirks: ["signature-prefix-match"] });
    expect(flawed.verify(headers("v1,"), body).verdict).toBe("fail");
  });
});

async function post(url: string, extra: Record<string, string> = {}, dispatcher?: Agent): Promise<{ status: number; headers: Record<string, unknown> }> {
  const response = await request(`${url}/hook`, {
    method: "POST",
    body,
    headers: { "content-type": "application/json", ...extra },
    ...(dispatcher === undefined ? {} : { dispatcher }),
  });
  await response.body.dump();
  return { status: response.statusCode, headers: response.headers };
}

function basicHeader(password: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`hooks:${password}`).toString("base64")}` };
}

describe("basic quirks over HTTP", () => {
  const basic = { username: "hooks", password: "right-password" };

  it("basic-allow-missing passes a request without Authorization, still refuses wrong credentials 401", async () => {
    const receiver = await start({ basic, quirks: ["basic-allow-missing"] });
    expect((await post(receiver.url)).status).toBe(200);
    expect((await post(receiver.url, basicHeader("wrong"))).status).toBe(401);
    expect(receiver.deliveries.map((delivery) => delivery.verdicts.basic)).toEqual(["pass", "fail"]);
  });

  it("basic-403-on-wrong refuses wrong credentials 403 without a challenge, missing ones still 401", async () => {
    const receiver = await start({ basic, quirks: ["basic-403-on-wrong"] });
    const wrong = await post(receiver.url, basicHeader("wrong"));
    expect(wrong.status).toBe(403);
    expect(wrong.headers["www-authenticate"]).toBeUndefined();
    const missing = await post(receiver.url);
    expect(missing.status).toBe(401);
    expect(missing.headers["www-authenticate"]).toMatch(/^Basic /);
    expect((await post(receiver.url, basicHeader("right-password"))).status).toBe(200);
  });
});

describe("mTLS quirks over HTTPS", () => {
  let certs: CertificateSet;
  const agents: Agent[] = [];
  beforeAll(async () => {
    certs = await generateCertificates();
  });
  afterEach(async () => {
    await Promise.all(agents.splice(0).map((agent) => agent.destroy()));
  });

  function clientWith(name: keyof CertificateSet | null): Agent {
    const agent = new Agent({
      connect: { ca: certs.ca.cert, servername: "localhost", ...(name === null ? {} : { cert: certs[name].cert, key: certs[name].key }) },
    });
    agents.push(agent);
    return agent;
  }

  const cases: [ReceiverQuirk, keyof CertificateSet | null, string][] = [
    ["mtls-allow-no-cert", null, "NO_CLIENT_CERTIFICATE"],
    ["mtls-allow-expired", "client-expired", "CERT_HAS_EXPIRED"],
    ["mtls-allow-wrong-eku", "client-wrong-eku", "INVALID_PURPOSE"],
    ["mtls-allow-unknown-ca", "client-foreign-ca", "UNABLE_TO_VERIFY_LEAF_SIGNATURE"],
  ];

  it.each(cases)("%s authorizes its client (error still recorded) and no other bad one", async (quirk, client, error) => {
    const receiver = await start({ tls: certs.server, clientCa: certs.ca.cert, quirks: [quirk] });
    expect((await post(receiver.url, {}, clientWith(client))).status).toBe(200);
    expect(receiver.deliveries[0]?.verdicts.tls).toMatchObject({ authorized: true, error });
    for (const [, other] of cases.filter(([name]) => name !== quirk)) {
      expect((await post(receiver.url, {}, clientWith(other))).status, String(other)).toBeGreaterThanOrEqual(401);
    }
    expect((await post(receiver.url, {}, clientWith("client"))).status).toBe(200);
  });
});

describe("match conditions over HTTP", () => {
  it("answers 409 to a repeated webhook-id, but only once the first passed verification; clear() forgets", async () => {
    const receiver = await start({ secret, rules: [{ match: { webhook_id_repeated: true }, statuses: [409] }] });
    const fresh = (): number => Math.floor(Date.now() / 1000);
    const signed = (id: string): Record<string, string> => {
      const at = fresh();
      return { "webhook-id": id, "webhook-timestamp": String(at), "webhook-signature": sign(body, { id, timestampS: at }) };
    };
    // A refused request does not count as seen.
    expect((await post(receiver.url, { ...signed("msg_a"), "webhook-signature": "v1,AAAA" })).status).toBe(401);
    expect((await post(receiver.url, signed("msg_a"))).status).toBe(200);
    expect((await post(receiver.url, signed("msg_a"))).status).toBe(409);
    expect((await post(receiver.url, signed("msg_b"))).status).toBe(200);
    receiver.clear();
    expect((await post(receiver.url, signed("msg_a"))).status).toBe(200);
  });

  it("answers 503 above a concurrency limit while requests overlap", async () => {
    const receiver = await start({ rules: [{ match: { in_flight_over: 3 }, statuses: [503] }, { delay_ms: 200 }] });
    const statuses = await Promise.all(Array.from({ length: 8 }, () => post(receiver.url).then((answer) => answer.status)));
    expect(statuses.filter((status) => status === 200)).toHaveLength(3);
    expect(statuses.filter((status) => status === 503)).toHaveLength(5);
    // One at a time, nobody is over the limit.
    expect((await post(receiver.url)).status).toBe(200);
  });

  it("matches a JSON body field, and a body size", async () => {
    const receiver = await start({ rules: [{ match: { body: { status: "completed" } }, statuses: [500] }, { match: { body_bytes_over: 50_000 }, fault: "reset" }] });
    expect((await post(receiver.url)).status).toBe(500);
    const failed = await request(`${receiver.url}/hook`, { method: "POST", body: body.replace("completed", "failed"), headers: { "content-type": "application/json" } });
    await failed.body.dump();
    expect(failed.statusCode).toBe(200);
    const large = request(`${receiver.url}/hook`, { method: "POST", body: JSON.stringify({ pad: "x".repeat(60_000) }), headers: { "content-type": "application/json" } });
    await expect(large).rejects.toThrow();
  });
});
