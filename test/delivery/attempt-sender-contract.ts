import { randomBytes } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { WebhookConfig } from "../../runtime/config/api-config.js";
import type { DeliveryRecord } from "../../runtime/tasks/delivery.js";
import type { AttemptApi, AttemptSender } from "../../runtime/webhook/attempt-sender.js";
import { startRawReceiver, type RawReceiver } from "../helpers/raw-receiver.js";
import { answerWith, startRecorder, type Recorder } from "../helpers/recorder.js";
import { generateTestCerts, type TestCerts } from "../helpers/test-certs.js";
import { waitUntil } from "../helpers/wait-until.js";

/** Makes the sender under test for these APIs; the suite closes it. */
export type MakeAttemptSender = (apis: readonly AttemptApi[]) => AttemptSender;

const SIGNING_SECRET = `whsec_${randomBytes(32).toString("base64")}`;
const PASSWORD = "pw-8c1e4b2a9f";

function webhook(overrides: Partial<WebhookConfig> = {}): WebhookConfig {
  return {
    callbackEnabled: true,
    timeoutMs: 5000,
    ignoreTimeout: false,
    retryScheduleMs: [0, 1000],
    allowNetworks: ["127.0.0.0/8", "::1/128"],
    ...overrides,
  };
}

function delivery(url: string, taskId = "task-1", extra: Partial<DeliveryRecord> = {}): DeliveryRecord {
  return {
    taskId,
    api: "sum",
    url,
    body: `{"id":"${taskId}","status":"completed","result":7}`,
    webhookId: `msg_${taskId}`,
    status: "pending",
    attempts: 0,
    nextAttemptAt: 0,
    ...extra,
  };
}

/**
 * What every AttemptSender does, whatever thread it sends from: the bytes and headers on the wire, the clock it
 * signs with, default credentials only where they may go, the network guard, the deadline, and shutdown.
 */
export function describeAttemptSender(name: string, make: MakeAttemptSender): void {
  describe(`AttemptSender contract: ${name}`, () => {
    const servers: Array<{ close(): Promise<void> }> = [];
    const senders: AttemptSender[] = [];
    let certs: TestCerts;

    beforeAll(async () => {
      certs = await generateTestCerts();
    });
    afterEach(async () => {
      await Promise.all(senders.splice(0).map((sender) => sender.close()));
      await Promise.all(servers.splice(0).map((server) => server.close()));
    });
    afterAll(async () => {
      await Promise.all(servers.splice(0).map((server) => server.close()));
    });

    const sender = (apis: readonly AttemptApi[]): AttemptSender => {
      const made = make(apis);
      senders.push(made);
      return made;
    };
    const recorder = async (...args: Parameters<typeof startRecorder>): Promise<Recorder> => {
      const started = await startRecorder(...args);
      servers.push(started);
      return started;
    };
    const raw = async (fault: Parameters<typeof startRawReceiver>[0]): Promise<RawReceiver> => {
      const started = await startRawReceiver(fault);
      servers.push(started);
      return started;
    };
    const never = new AbortController().signal;

    it("sends the stored body with the contract's headers, signed at the time of the sender's clock", async () => {
      const receiver = await recorder();
      const api: AttemptApi = { name: "sum", webhook: webhook({ signingSecret: SIGNING_SECRET }) };
      // A minute behind the real clock: the timestamp must come from the clock given, whatever thread sends.
      const clock = Math.floor(Date.now() / 1000) * 1000 - 60_000;
      const outcome = await sender([api]).send(delivery(`${receiver.url}/hook?token=t`), api, never, () => clock);
      expect(outcome).toEqual({ kind: "delivered", statusCode: 200 });
      const [request] = receiver.requests;
      expect(request?.path).toBe("/hook?token=t");
      expect(request?.body).toBe('{"id":"task-1","status":"completed","result":7}');
      expect(request?.headers).toMatchObject({
        "content-type": "application/json",
        "x-request-id": "task-1",
        "webhook-id": "msg_task-1",
        "webhook-timestamp": String(clock / 1000),
      });
      expect(new Webhook(SIGNING_SECRET).verify(request!.body, request!.headers as Record<string, string>)).toEqual({ id: "task-1", status: "completed", result: 7 });
    });

    it("keeps each outcome with its own attempt when many are sent at once", async () => {
      const receiver = await recorder((request, _index, res) => {
        const id = String(request.headers["x-request-id"]);
        res.writeHead(Number(id.split("-")[1]) % 3 === 0 ? 503 : 200).end();
      });
      const api: AttemptApi = { name: "sum", webhook: webhook() };
      const attempts = sender([api]);
      const ids = Array.from({ length: 60 }, (_, index) => `task-${index}`);
      const outcomes = await Promise.all(ids.map((id) => attempts.send(delivery(`${receiver.url}/hook`, id), api, never)));
      outcomes.forEach((outcome, index) => {
        expect(outcome).toMatchObject(index % 3 === 0 ? { kind: "retryable", statusCode: 503 } : { kind: "delivered", statusCode: 200 });
      });
      expect(new Set(receiver.requests.map((request) => request.headers["x-request-id"])).size).toBe(60);
    });

    it("sends the API's default basic auth to the origin of default_callback_url only", async () => {
      const home = await recorder();
      const elsewhere = await recorder();
      const api: AttemptApi = {
        name: "sum",
        webhook: webhook({ defaultCallbackUrl: `${home.url}/hook`, defaultCallbackAuth: { kind: "basic", username: "runtime", password: PASSWORD } }),
      };
      const attempts = sender([api]);
      expect(await attempts.send(delivery(`${home.url}/other`), api, never)).toMatchObject({ kind: "delivered" });
      expect(await attempts.send(delivery(`${elsewhere.url}/hook`), api, never)).toMatchObject({ kind: "delivered" });
      expect(home.requests[0]?.headers.authorization).toBe(`Basic ${Buffer.from(`runtime:${PASSWORD}`).toString("base64")}`);
      expect(elsewhere.requests[0]?.headers.authorization).toBeUndefined();
    });

    it("presents a request's client certificate (mTLS) and trusts its ca", async () => {
      const receiver = await recorder(undefined, {
        tls: { cert: certs.server.cert, key: certs.server.key, ca: certs.ca.cert, requestCert: true, rejectUnauthorized: true },
      });
      const api: AttemptApi = { name: "sum", webhook: webhook() };
      const auth = { kind: "mtls" as const, cert: certs.client.cert, key: certs.client.key, ca: certs.ca.cert };
      expect(await sender([api]).send(delivery(receiver.url, "task-1", { auth }), api, never)).toEqual({ kind: "delivered", statusCode: 200 });
      expect(receiver.requests[0]?.clientCertificate).toBe("predictor-runtime client");
    });

    it("passes a receiver's Retry-After on, and keeps the start of its answer without the attempt's secrets", async () => {
      const receiver = await recorder(answerWith([429], { 429: { "retry-after": "7" } }));
      const api: AttemptApi = { name: "sum", webhook: webhook() };
      expect(await sender([api]).send(delivery(receiver.url), api, never)).toMatchObject({ kind: "retryable", statusCode: 429, retryAfterMs: 7000 });
      const echoing = await recorder((request, _index, res) => res.writeHead(401).end(`no ${String(request.headers.authorization)} ${PASSWORD}`));
      const auth = { kind: "basic" as const, username: "u", password: PASSWORD };
      expect(await sender([api]).send(delivery(echoing.url, "task-2", { auth }), api, never)).toEqual({
        kind: "rejected",
        statusCode: 401,
        answer: "no Basic [redacted] [redacted]",
      });
    });

    it("refuses an address outside allow_networks without opening a socket", async () => {
      const receiver = await recorder();
      const api: AttemptApi = { name: "sum", webhook: webhook({ allowNetworks: [] }) };
      const outcome = await sender([api]).send(delivery(receiver.url), api, never);
      expect(outcome).toMatchObject({ kind: "refused", error: expect.stringContaining("webhook.allow_networks of API sum") });
      expect(receiver.connections).toBe(0);
    });

    it("ends an attempt at timeout_s and closes its connection", async () => {
      const receiver = await raw(() => undefined);
      const api: AttemptApi = { name: "sum", webhook: webhook({ timeoutMs: 300 }) };
      const outcome = await sender([api]).send(delivery(receiver.url), api, never);
      expect(outcome).toEqual({ kind: "timeout", error: "no complete answer within timeout_s (0.3 s); the connection was closed" });
      await receiver.waitUntilAllClosed(2000);
    });

    it("stops running attempts when their signal aborts (shutdown), and later ones at once", async () => {
      const receiver = await raw(() => undefined);
      const api: AttemptApi = { name: "sum", webhook: webhook({ timeoutMs: 30_000 }) };
      const attempts = sender([api]);
      const shutdown = new AbortController();
      const started = Date.now();
      const running = attempts.send(delivery(receiver.url), api, shutdown.signal);
      await waitUntil("the request arrived", () => receiver.requests === 1);
      shutdown.abort(new Error("shutting down"));
      expect((await running).kind).not.toBe("delivered");
      expect((await attempts.send(delivery(receiver.url, "task-2"), api, shutdown.signal)).kind).not.toBe("delivered");
      expect(Date.now() - started).toBeLessThan(10_000);
      await receiver.waitUntilAllClosed(2000);
      expect(receiver.requests).toBe(1);
    });
  });
}
