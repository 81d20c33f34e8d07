import { randomBytes } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { request } from "undici";
import { describe, expect, it } from "vitest";
import { ToolkitErrorCode } from "../../toolkit/errors.js";
import { startReceiver } from "../../toolkit/receiver/receiver.js";
import { useReceivers } from "./helpers/receivers.js";

const start = useReceivers();
const secret = `whsec_${randomBytes(24).toString("base64")}`;
const credentials = { username: "hooks", password: "s3cret:pass" };
const report = JSON.stringify({ id: "t1", status: "completed", result: 7, timestamp: "2026-11-22T09:48:29.123Z" });

function basicHeader(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
}

/** The headers the runtime sends with a report, signed by the reference `standardwebhooks` package. */
function signed(body: string, options: { id?: string; at?: Date; key?: string } = {}): Record<string, string> {
  const id = options.id ?? "msg_t1";
  const at = options.at ?? new Date();
  return {
    "content-type": "application/json",
    "webhook-id": id,
    "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
    "webhook-signature": new Webhook(options.key ?? secret).sign(id, at, body),
  };
}

async function send(url: string, body: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, unknown>; json: unknown }> {
  const response = await request(`${url}/hook`, { method: "POST", body, headers });
  return { status: response.statusCode, headers: response.headers, json: await response.body.json() };
}

describe("basic verdict", () => {
  it("passes the right credentials and answers by the rules", async () => {
    const receiver = await start({ basic: credentials, rules: [{ statuses: [202] }] });
    const answer = await send(receiver.url, report, { authorization: basicHeader("hooks", "s3cret:pass") });
    expect(answer.status).toBe(202);
    expect(receiver.deliveries[0]?.verdicts).toEqual({ basic: "pass", signature: null, tls: null });
  });

  it("refuses wrong or missing credentials 401 with WWW-Authenticate: Basic, and records them", async () => {
    const receiver = await start({ basic: credentials });
    const wrong = await send(receiver.url, report, { authorization: basicHeader("hooks", "guess") });
    expect(wrong.status).toBe(401);
    expect(wrong.headers["www-authenticate"]).toMatch(/^Basic realm=/);
    expect(wrong.json).toEqual({ error: "basic auth failed: wrong username or password" });
    const missing = await send(receiver.url, report, {});
    expect(missing.json).toEqual({ error: "basic auth failed: no Authorization header" });
    expect(receiver.deliveries.map((delivery) => delivery.verdicts.basic)).toEqual(["fail", "fail"]);
    expect(receiver.deliveries[1]?.verdict_reasons).toEqual({ basic: "no Authorization header" });
    expect(receiver.deliveries[0]?.response).toMatchObject({ status: 401, refused_by: "basic", rule: null });
  });

  it("never puts the expected password in an answer or a record", async () => {
    const receiver = await start({ basic: credentials });
    await send(receiver.url, report, { authorization: basicHeader("hooks", "nope") });
    expect(JSON.stringify(receiver.deliveries)).not.toContain("s3cret");
  });
});

describe("signature verdict", () => {
  it("passes a delivery signed by the standardwebhooks package", async () => {
    const receiver = await start({ secret });
    const answer = await send(receiver.url, report, signed(report));
    expect(answer.status).toBe(200);
    expect(receiver.deliveries[0]?.verdicts).toEqual({ basic: null, signature: "pass", tls: null });
  });

  it("fails a tampered body: 401 with the reason, recorded as fail", async () => {
    const receiver = await start({ secret });
    const tampered = report.replace('"result":7', '"result":8');
    const answer = await send(receiver.url, tampered, signed(report));
    expect(answer.status).toBe(401);
    expect(answer.json).toEqual({ error: "Standard Webhooks signature check failed: no v1 signature in webhook-signature matches the body" });
    expect(receiver.deliveries[0]).toMatchObject({
      body: { result: 8 },
      verdicts: { signature: "fail" },
      verdict_reasons: { signature: "no v1 signature in webhook-signature matches the body" },
      response: { status: 401, refused_by: "signature" },
    });
  });

  it("fails an unsigned delivery and one older than the tolerance", async () => {
    const receiver = await start({ secret, signatureToleranceS: 60 });
    const unsigned = await send(receiver.url, report, { "content-type": "application/json" });
    expect(unsigned.json).toEqual({ error: expect.stringContaining("missing header webhook-id") as unknown });
    const stale = await send(receiver.url, report, signed(report, { at: new Date(Date.now() - 120_000) }));
    expect(stale.status).toBe(401);
    expect(stale.json).toEqual({ error: expect.stringMatching(/webhook-timestamp is 1[12]\d s old, more than the 60 s tolerance/) as unknown });
  });

  it("checks a body larger than the recording limit over all its bytes", async () => {
    const receiver = await start({ secret, maxBodyBytes: 16 });
    const large = JSON.stringify({ result: "y".repeat(100_000) });
    expect((await send(receiver.url, large, signed(large))).status).toBe(200);
    expect(receiver.deliveries[0]).toMatchObject({ body_truncated: true, verdicts: { signature: "pass" } });
  });

  it("judges basic before the signature when both are set", async () => {
    const receiver = await start({ secret, basic: credentials });
    const both = await send(receiver.url, report, { ...signed(report), authorization: basicHeader("hooks", "s3cret:pass") });
    expect(both.status).toBe(200);
    const wrongBoth = await send(receiver.url, "{}", { ...signed(report), authorization: basicHeader("x", "y") });
    expect(wrongBoth.json).toEqual({ error: "basic auth failed: wrong username or password" });
    expect(receiver.deliveries[1]?.verdicts).toEqual({ basic: "fail", signature: "fail", tls: null });
  });
});

describe("enforcement", () => {
  it("with enforce: false records failed verdicts and answers by the rules", async () => {
    const receiver = await start({ secret, basic: credentials, enforce: false, rules: [{ statuses: [204] }] });
    const answer = await request(`${receiver.url}/hook`, { method: "POST", body: "{}", headers: signed(report) });
    await answer.body.dump();
    expect(answer.statusCode).toBe(204);
    expect(receiver.deliveries[0]?.verdicts).toEqual({ basic: "fail", signature: "fail", tls: null });
    expect(receiver.deliveries[0]?.response).toMatchObject({ status: 204, refused_by: null, rule: 0 });
  });

  it("does not count refused requests against the rules' status sequence", async () => {
    const receiver = await start({ basic: credentials, rules: [{ statuses: [503, 200] }] });
    const good = { authorization: basicHeader("hooks", "s3cret:pass") };
    const statuses = [(await send(receiver.url, "{}", {})).status, (await send(receiver.url, "{}", good)).status, (await send(receiver.url, "{}", good)).status];
    expect(statuses).toEqual([401, 503, 200]);
  });

  it("lets the admin API through without credentials", async () => {
    const receiver = await start({ secret, basic: credentials });
    await send(receiver.url, report, {});
    const list = await request(`${receiver.url}/_/deliveries`);
    expect(list.statusCode).toBe(200);
    expect(await list.body.json()).toHaveLength(1);
  });
});

describe("receiver options", () => {
  it("refuses a bad secret, empty basic user, bad port and host with a code, never echoing the secret", async () => {
    const badSecret = await startReceiver({ secret: "whsec_!!not-base64!!" }).catch((error: unknown) => error);
    expect(badSecret).toMatchObject({ code: ToolkitErrorCode.secretInvalid });
    expect((badSecret as Error).message).not.toContain("not-base64");
    await expect(startReceiver({ basic: { username: "", password: "x" } })).rejects.toMatchObject({ code: ToolkitErrorCode.basicInvalid });
    await expect(startReceiver({ port: 70000 })).rejects.toMatchObject({ code: ToolkitErrorCode.optionInvalid });
    await expect(startReceiver({ host: "not a host" })).rejects.toMatchObject({ code: ToolkitErrorCode.optionInvalid });
    await expect(startReceiver({ rules: [{ statuses: [42] }] })).rejects.toMatchObject({ code: ToolkitErrorCode.rulesInvalid });
  });
});
