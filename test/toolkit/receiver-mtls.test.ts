import { Agent, request } from "undici";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { generateCertificates, type CertificateSet } from "../../toolkit/certs/generate-certificates.js";
import { writeCertificates } from "../../toolkit/certs/certificate-files.js";
import { ToolkitErrorCode } from "../../toolkit/errors.js";
import { loadReceiverTls } from "../../toolkit/receiver/receiver-tls.js";
import type { ReceiverOptions } from "../../toolkit/receiver/receiver-options.js";
import { useReceivers } from "./helpers/receivers.js";
import { makeTempDir } from "./helpers/temp-dir.js";

const start = useReceivers();
let certs: CertificateSet;
let dir: string;
let removeDir: () => Promise<void>;
const agents: Agent[] = [];

beforeAll(async () => {
  certs = await generateCertificates();
  ({ dir, remove: removeDir } = await makeTempDir("mtls"));
  await writeCertificates(dir, { certificates: certs });
});
afterAll(() => removeDir());
afterEach(async () => {
  await Promise.all(agents.splice(0).map((agent) => agent.destroy()));
});

/** A client that trusts the fixture CA and presents `client` (a fixture name) or no certificate. */
function clientWith(client: keyof CertificateSet | null): Agent {
  const agent = new Agent({
    connect: { ca: certs.ca.cert, servername: "localhost", ...(client === null ? {} : { cert: certs[client].cert, key: certs[client].key }) },
  });
  agents.push(agent);
  return agent;
}

async function mtlsReceiver(extra: ReceiverOptions = {}): Promise<string> {
  return (await start({ ...(await loadReceiverTls({ mtlsDir: dir })), ...extra })).url;
}

async function post(url: string, dispatcher: Agent): Promise<{ status: number; json: unknown }> {
  const response = await request(`${url}/hook`, { method: "POST", body: "{}", headers: { "content-type": "application/json" }, dispatcher });
  return { status: response.statusCode, json: await response.body.json() };
}

async function deliveriesOf(url: string, dispatcher: Agent): Promise<{ verdicts: { tls: unknown }; response: { status: number } }[]> {
  const response = await request(`${url}/_/deliveries`, { dispatcher });
  expect(response.statusCode).toBe(200);
  return (await response.body.json()) as { verdicts: { tls: unknown }; response: { status: number } }[];
}

describe("mTLS receiver", () => {
  it("serves HTTPS on an https:// URL", async () => {
    expect(await mtlsReceiver()).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it("authorizes the good client and records its subject", async () => {
    const url = await mtlsReceiver();
    const agent = clientWith("client");
    expect(await post(url, agent)).toEqual({ status: 200, json: { ok: true } });
    const [delivery] = await deliveriesOf(url, agent);
    expect(delivery?.verdicts.tls).toEqual({ authorized: true, subject: "CN=predictor-runtime client, O=predictor-runtime toolkit (test only)" });
  });

  it("answers a client without a certificate 401 and records it as unauthorized", async () => {
    const url = await mtlsReceiver();
    const agent = clientWith(null);
    const answer = await post(url, agent);
    expect(answer.status).toBe(401);
    expect(answer.json).toEqual({ error: "client certificate required: present one signed by the receiver's CA (ca.pem)" });
    // The admin API needs no certificate, even on the mTLS listener.
    const [delivery] = await deliveriesOf(url, agent);
    expect(delivery?.verdicts.tls).toEqual({ authorized: false, error: "NO_CLIENT_CERTIFICATE" });
    expect(delivery?.response.status).toBe(401);
  });

  const refused: [keyof CertificateSet, string][] = [
    ["client-expired", "CERT_HAS_EXPIRED"],
    ["client-wrong-eku", "INVALID_PURPOSE"],
    ["client-foreign-ca", "UNABLE_TO_VERIFY_LEAF_SIGNATURE"],
  ];
  for (const [name, reason] of refused) {
    it(`answers ${name} 403 and records ${reason}`, async () => {
      const url = await mtlsReceiver();
      const agent = clientWith(name);
      const answer = await post(url, agent);
      expect(answer.status).toBe(403);
      expect(answer.json).toEqual({ error: `client certificate refused: ${reason}` });
      const [delivery] = await deliveriesOf(url, agent);
      expect(delivery?.verdicts.tls).toMatchObject({ authorized: false, error: reason, subject: expect.stringContaining("CN=predictor-runtime client (") as unknown });
    });
  }

  it("with enforce: false answers a refused client by the rules and still records why", async () => {
    const url = await mtlsReceiver({ enforce: false, rules: [{ statuses: [202] }] });
    const agent = clientWith("client-expired");
    expect((await post(url, agent)).status).toBe(202);
    const [delivery] = await deliveriesOf(url, agent);
    expect(delivery?.verdicts.tls).toMatchObject({ authorized: false, error: "CERT_HAS_EXPIRED" });
  });

  it("resets a TLS connection with a real TCP reset", async () => {
    const url = await mtlsReceiver({ rules: [{ fault: "reset" }] });
    const outcome = await request(`${url}/hook`, { method: "POST", body: "{}", dispatcher: clientWith("client") }).catch((error: unknown) => error);
    expect(outcome).toMatchObject({ code: "ECONNRESET" });
  });
});

describe("faults over TLS", () => {
  it("dribbles a TLS answer one byte at a time", async () => {
    const body = "0123456789abcdefghij";
    const url = await mtlsReceiver({ rules: [{ fault: "dribble", dribble_interval_ms: 3, body }] });
    const response = await request(`${url}/hook`, { method: "POST", body: "{}", dispatcher: clientWith("client") });
    let chunks = 0;
    let text = "";
    for await (const chunk of response.body) {
      chunks += 1;
      text += String(chunk);
    }
    expect(text).toBe(body);
    expect(chunks).toBeGreaterThanOrEqual(body.length / 2);
  });
});

describe("TLS without client certificates", () => {
  it("serves HTTPS and leaves the tls verdict null", async () => {
    const url = (await start(await loadReceiverTls({ tlsDir: dir }))).url;
    const agent = clientWith(null);
    expect((await post(url, agent)).status).toBe(200);
    const [delivery] = await deliveriesOf(url, agent);
    expect(delivery?.verdicts.tls).toBeNull();
  });

  it("names the missing file and the certs command", async () => {
    const error = await loadReceiverTls({ mtlsDir: `${dir}/missing` }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: ToolkitErrorCode.certFileMissing });
    expect((error as Error).message).toMatch(/missing\/server\.pem does not exist; run `predictor-runtime certs --out .*missing` first/);
  });
});
