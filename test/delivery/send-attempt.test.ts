import type { LookupAddress } from "node:dns";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { DeliveryRecord } from "../../runtime/tasks/delivery.js";
import type { CallbackAuth } from "../../runtime/tasks/task.js";
import { ConnectionPool } from "../../runtime/webhook/connection-pool.js";
import { NetworkGuard } from "../../runtime/webhook/network-guard.js";
import { sendAttempt } from "../../runtime/webhook/send-attempt.js";
import { dribble, httpAnswer, startRawReceiver, type RawReceiver } from "../helpers/raw-receiver.js";
import { answerWith, startRecorder, type Recorder } from "../helpers/recorder.js";
import { generateTestCerts, type TestCerts } from "../helpers/test-certs.js";
import { waitUntil } from "../helpers/wait-until.js";

// One attempt at a time through real sockets on 127.0.0.1: what the receiver does, and what sendAttempt makes of it.
const loopback = new NetworkGuard({ allowNetworks: ["127.0.0.0/8", "::1/128"], apiName: "sum" });
const closed: Array<{ close(): Promise<void> }> = [];
let pool: ConnectionPool;

beforeAll(() => {
  pool = new ConnectionPool();
});
afterEach(async () => {
  await Promise.all(closed.splice(0).map((server) => server.close()));
});
afterAll(async () => {
  await pool.close();
});

function delivery(url: string): DeliveryRecord {
  return { taskId: "task-1", api: "sum", url: `${url}/hook`, body: '{"id":"task-1","status":"completed","result":7}', webhookId: "msg_task-1", status: "pending", attempts: 0, nextAttemptAt: 0 };
}

async function raw(fault: Parameters<typeof startRawReceiver>[0]): Promise<RawReceiver> {
  const receiver = await startRawReceiver(fault);
  closed.push(receiver);
  return receiver;
}

async function recorder(...args: Parameters<typeof startRecorder>): Promise<Recorder> {
  const receiver = await startRecorder(...args);
  closed.push(receiver);
  return receiver;
}

async function timed<T>(work: Promise<T>): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  const value = await work;
  return { value, ms: Date.now() - started };
}

const send = (url: string, options: { timeoutMs?: number; auth?: CallbackAuth; guard?: NetworkGuard; signal?: AbortSignal; signingSecret?: string } = {}) =>
  sendAttempt(
    delivery(url),
    { timeoutMs: options.timeoutMs ?? 5000, ...(options.signingSecret ? { signingSecret: options.signingSecret } : {}) },
    {
      dispatcher: pool.dispatcherFor(options.guard ?? loopback, options.auth),
      ...(options.auth ? { auth: options.auth } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    },
  );

describe("timeout_s bounds the whole exchange", () => {
  it("cuts off a receiver dribbling its status line one byte per 100 ms at the deadline, and closes the connection", async () => {
    const receiver = await raw((socket) => dribble(socket, httpAnswer(200, "ok"), 100));
    const { value, ms } = await timed(send(receiver.url, { timeoutMs: 500 }));
    expect(value).toEqual({ kind: "timeout", error: "no complete answer within timeout_s (0.5 s); the connection was closed" });
    expect(ms).toBeGreaterThanOrEqual(450);
    expect(ms).toBeLessThan(1500);
    await receiver.waitUntilAllClosed(1000);
  });

  it("cuts off a body dribbled after a 200 at the deadline; the status already decided the outcome", async () => {
    const receiver = await raw((socket) => {
      socket.write("HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n");
      dribble(socket, "x".repeat(1000), 100);
    });
    const { value, ms } = await timed(send(receiver.url, { timeoutMs: 500 }));
    expect(value).toEqual({ kind: "delivered", statusCode: 200 });
    expect(ms).toBeGreaterThanOrEqual(450);
    expect(ms).toBeLessThan(1500);
    await receiver.waitUntilAllClosed(1000);
  });

  it("reads at most 64 KiB of an endless answer and drops the connection", async () => {
    let written = 0;
    const receiver = await raw((socket) => {
      socket.write("HTTP/1.1 503 Busy\r\ntransfer-encoding: chunked\r\n\r\n");
      const chunk = "y".repeat(16 * 1024);
      const pump = (): void => {
        while (!socket.destroyed && written < 64 * 1024 * 1024) {
          written += chunk.length;
          if (!socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`)) {
            socket.once("drain", pump);
            return;
          }
        }
      };
      pump();
    });
    const { value, ms } = await timed(send(receiver.url, { timeoutMs: 10_000 }));
    expect(value).toMatchObject({ kind: "retryable", statusCode: 503, answer: expect.stringMatching(/^y{200}…$/) });
    expect(ms).toBeLessThan(5000);
    await receiver.waitUntilAllClosed(2000);
    expect(written).toBeLessThan(64 * 1024 * 1024);
  });

  it("stops at once when the runtime shuts down, closing the connection", async () => {
    const receiver = await raw(() => undefined);
    const shutdown = new AbortController();
    const attempt = timed(send(receiver.url, { timeoutMs: 10_000, signal: shutdown.signal }));
    await waitUntil("the request arrived", () => receiver.requests === 1);
    shutdown.abort(new Error("shutting down"));
    const { ms } = await attempt;
    expect(ms).toBeLessThan(2000);
    await receiver.waitUntilAllClosed(1000);
  });

  it("leaves no timer behind once attempts end", async () => {
    const receiver = await raw((socket, index) => (index < 3 ? dribble(socket, httpAnswer(200), 100) : socket.end(httpAnswer(204))));
    const timers = (): number => process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length;
    const before = timers();
    for (let i = 0; i < 3; i++) expect(await send(receiver.url, { timeoutMs: 300 })).toMatchObject({ kind: "timeout" });
    // A deadline left running after a quick answer would still be pending 10 s from now.
    for (let i = 0; i < 3; i++) expect(await send(receiver.url, { timeoutMs: 10_000 })).toMatchObject({ kind: "delivered" });
    // The receiver's own dribble timers stop when their connections close.
    await receiver.waitUntilAllClosed(2000);
    // undici keeps one shared timer for its own bookkeeping; no timer per attempt may remain.
    expect(timers() - before).toBeLessThanOrEqual(1);
  });
});

describe("what a receiver answers", () => {
  it("retries a reset connection", async () => {
    const receiver = await raw((socket) => socket.resetAndDestroy());
    expect(await send(receiver.url)).toEqual({ kind: "retryable", error: "the receiver reset the connection (ECONNRESET)" });
  });

  it("retries a connection closed without an answer", async () => {
    const receiver = await raw((socket) => socket.end());
    expect(await send(receiver.url)).toMatchObject({ kind: "retryable", error: expect.stringContaining("closed the connection without a complete answer") });
  });

  it("retries an answer that is not HTTP", async () => {
    const receiver = await raw((socket) => socket.end("garbage\r\n\r\n"));
    expect(await send(receiver.url)).toMatchObject({ kind: "retryable", error: expect.stringContaining("not valid HTTP/1.1: Response does not match") });
  });

  it("retries connection refused", async () => {
    const receiver = await raw(() => undefined);
    await receiver.close();
    expect(await send(receiver.url)).toMatchObject({ kind: "retryable", error: expect.stringContaining("ECONNREFUSED") });
  });

  it("never follows a redirect: the second listener sees no connection", async () => {
    const target = await recorder();
    const redirecting = await recorder((_request, _index, res) => res.writeHead(302, { location: `${target.url}/elsewhere` }).end());
    const outcome = await send(redirecting.url);
    expect(outcome).toMatchObject({ kind: "retryable", statusCode: 302, error: "the receiver answered 302 (redirects are never followed)" });
    expect(redirecting.requests).toHaveLength(1);
    expect(target.connections).toBe(0);
  });

  it("passes Retry-After on to the policy", async () => {
    const receiver = await recorder(answerWith([429], { 429: { "retry-after": "7" } }));
    expect(await send(receiver.url)).toMatchObject({ kind: "retryable", statusCode: 429, retryAfterMs: 7000 });
  });

  it("keeps the start of the answer, with the attempt's secrets removed", async () => {
    const password = "pw-3f9a1c7e5b";
    const secret = `whsec_${Buffer.from("a-signing-key-of-24-bytes!").toString("base64")}`;
    const receiver = await recorder((request, _index, res) =>
      res.writeHead(401).end(`denied\n${String(request.headers.authorization)} ${password} ${secret}`),
    );
    const outcome = await send(receiver.url, { auth: { kind: "basic", username: "user", password }, signingSecret: secret });
    expect(outcome).toEqual({ kind: "rejected", statusCode: 401, answer: "denied Basic [redacted] [redacted] [redacted]" });
  });
});

describe("the network guard on the wire", () => {
  it("refuses a literal loopback address before any socket is opened", async () => {
    const receiver = await recorder();
    const outcome = await send(receiver.url, { guard: new NetworkGuard({ apiName: "sum" }) });
    expect(outcome).toEqual({
      kind: "refused",
      error: "127.0.0.1 is a loopback address; callbacks may not reach it unless webhook.allow_networks of API sum lists it (for example 127.0.0.1/32)",
    });
    expect(receiver.connections).toBe(0);
  });

  it("refuses a name resolving to loopback, and opens no socket", async () => {
    const receiver = await recorder();
    const outcome = await send(`http://localhost:${receiver.port}`, { guard: new NetworkGuard({ apiName: "sum" }) });
    expect(outcome).toMatchObject({ kind: "refused", error: expect.stringMatching(/^localhost resolved only to addresses callbacks may not reach: 127\.0\.0\.1 \(a loopback address\)/) });
    expect(receiver.connections).toBe(0);
  });

  it("connects to the address the guard checked", async () => {
    const receiver = await recorder();
    const resolved: string[] = [];
    const resolve = async (hostname: string): Promise<LookupAddress[]> => {
      resolved.push(hostname);
      return [{ address: "127.0.0.1", family: 4 }];
    };
    const guard = new NetworkGuard({ allowNetworks: ["127.0.0.1/32"], resolve });
    const outcome = await send(`http://receiver.test:${receiver.port}`, { guard });
    expect(outcome).toEqual({ kind: "delivered", statusCode: 200 });
    expect(resolved).toEqual(["receiver.test"]);
    expect(receiver.requests[0]?.headers.host).toBe(`receiver.test:${receiver.port}`);
  });
});

describe("mTLS", () => {
  let certs: TestCerts;
  beforeAll(async () => {
    certs = await generateTestCerts();
  });
  const mtlsReceiver = () =>
    recorder(undefined, { tls: { cert: certs.server.cert, key: certs.server.key, ca: certs.ca.cert, requestCert: true, rejectUnauthorized: true } });

  it("presents the client certificate and trusts the given ca", async () => {
    const receiver = await mtlsReceiver();
    const auth: CallbackAuth = { kind: "mtls", cert: certs.client.cert, key: certs.client.key, ca: certs.ca.cert };
    expect(await send(`https://localhost:${receiver.port}`, { auth })).toEqual({ kind: "delivered", statusCode: 200 });
    expect(await send(receiver.url, { auth })).toEqual({ kind: "delivered", statusCode: 200 });
    expect(receiver.requests.map((request) => request.clientCertificate)).toEqual(["predictor-runtime client", "predictor-runtime client"]);
  });

  it("is refused by the receiver with a client certificate from a CA it does not trust", async () => {
    const receiver = await mtlsReceiver();
    const outcome = await send(receiver.url, { auth: { kind: "mtls", cert: certs.foreignClient.cert, key: certs.foreignClient.key, ca: certs.ca.cert } });
    expect(outcome).toEqual({
      kind: "retryable",
      error:
        "the receiver closed the connection without a complete answer (UND_ERR_SOCKET); " +
        "with mTLS this usually means the receiver refused the client certificate (is it issued by a CA the receiver trusts?)",
    });
    expect(receiver.requests).toHaveLength(0);
    expect(receiver.tlsClientErrors).toBeGreaterThan(0);
  });

  it("does not trust a receiver's certificate from a CA it was not given", async () => {
    const receiver = await mtlsReceiver();
    const outcome = await send(receiver.url, { auth: { kind: "mtls", cert: certs.client.cert, key: certs.client.key } });
    expect(outcome).toEqual({
      kind: "retryable",
      error:
        "the receiver's certificate chain ends in a self-signed CA that is not trusted: give the issuing CA as callback auth ca, or add it with NODE_EXTRA_CA_CERTS (SELF_SIGNED_CERT_IN_CHAIN)",
    });
    expect(receiver.requests).toHaveLength(0);
  });
});
