import type { ServerResponse } from "node:http";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { deliveryYaml, postJson, statusOf, waitForSettledWebhook, waitForWebhook } from "../helpers/delivery-config.js";
import { httpAnswer, startRawReceiver } from "../helpers/raw-receiver.js";
import { answerWith, startRecorder, type Recorder } from "../helpers/recorder.js";
import { startTestRuntime, type TestRuntime } from "../helpers/runtime-fixture.js";

// Section 4's delivery rules end to end: runtime -> outbox -> dispatcher -> a receiver on 127.0.0.1.
let runtime: TestRuntime;
const receivers: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  runtime = await startTestRuntime({
    yaml: deliveryYaml(
      { name: "echo" },
      { name: "after-retry", webhook: { retry_schedule_s: [0, 0.2] } },
      { name: "impatient", webhook: { timeout_s: 0.2, retry_schedule_s: [0, 0.05] } },
      { name: "tolerant", webhook: { timeout_s: 0.2, ignore_timeout: true } },
    ),
  });
});
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
});
afterAll(async () => {
  await runtime.close();
});

async function recorder(...args: Parameters<typeof startRecorder>): Promise<Recorder> {
  const started = await startRecorder(...args);
  receivers.push(started);
  return started;
}

/** Queues a task on the Cortex surface with a per-request callback_url; returns its status path. */
async function submit(api: string, callbackUrl: string): Promise<string> {
  const { status, body } = await postJson(`${runtime.url}/${api}?callback_url=${encodeURIComponent(callbackUrl)}`, { x: 1 });
  expect(status).toBe(202);
  return `/${api}/${String(body.id)}`;
}

describe("retries", () => {
  it("delivers to a receiver answering 500, 500, 200 on the third attempt, with one webhook-id, showing each attempt", async () => {
    const held: ServerResponse[] = [];
    const receiver = await recorder((_request, _index, res) => held.push(res));
    const path = await submit("echo", `${receiver.url}/hook`);

    await receiver.waitFor(1);
    expect((await statusOf(runtime, path)).webhook).toEqual({ status: "pending", attempts: 0 });
    held[0]!.writeHead(500).end("upstream down");
    expect(await waitForWebhook(runtime, path, (webhook) => webhook.attempts === 1)).toEqual({
      status: "pending",
      attempts: 1,
      last_status_code: 500,
      last_error: 'the receiver answered 500: "upstream down"',
    });

    await receiver.waitFor(2);
    held[1]!.writeHead(500).end();
    expect(await waitForWebhook(runtime, path, (webhook) => webhook.attempts === 2)).toEqual({
      status: "pending",
      attempts: 2,
      last_status_code: 500,
      last_error: "the receiver answered 500",
    });

    await receiver.waitFor(3);
    held[2]!.writeHead(200).end();
    expect(await waitForSettledWebhook(runtime, path)).toEqual({ status: "delivered", attempts: 3, last_status_code: 200 });

    const ids = new Set(receiver.requests.map((request) => request.headers["webhook-id"]));
    expect(ids).toEqual(new Set([`msg_${path.split("/")[2]}`]));
    expect(new Set(receiver.requests.map((request) => request.body)).size).toBe(1);
  });

  it("fails after the last scheduled attempt", async () => {
    const receiver = await recorder(answerWith([503]));
    const path = await submit("echo", `${receiver.url}/hook`);
    expect(await waitForSettledWebhook(runtime, path)).toEqual({
      status: "failed",
      attempts: 3,
      last_status_code: 503,
      last_error: 'the receiver answered 503: "{\\"status\\":503}"; gave up after 3 attempts (the length of retry_schedule_s)',
    });
    expect(receiver.requests).toHaveLength(3);
  });

  it("stops at once on a final 4xx", async () => {
    const receiver = await recorder((_request, _index, res) => res.writeHead(422).end("missing field: id"));
    const path = await submit("echo", `${receiver.url}/hook`);
    expect(await waitForSettledWebhook(runtime, path)).toEqual({
      status: "failed",
      attempts: 1,
      last_status_code: 422,
      last_error: 'the receiver answered 422: "missing field: id"; a 4xx other than 408, 409, 425 and 429 is final, so no retry',
    });
  });

  it("stops at once on 410 Gone", async () => {
    const receiver = await recorder(answerWith([410, 200]));
    const path = await submit("echo", `${receiver.url}/hook`);
    expect(await waitForSettledWebhook(runtime, path)).toMatchObject({ status: "failed", attempts: 1, last_status_code: 410 });
    expect(receiver.requests).toHaveLength(1);
  });

  it.each([408, 409, 425, 429])("retries %i", async (status) => {
    const receiver = await recorder(answerWith([status, 200]));
    const path = await submit("echo", `${receiver.url}/hook`);
    expect(await waitForSettledWebhook(runtime, path)).toEqual({ status: "delivered", attempts: 2, last_status_code: 200 });
  });

  it("waits for Retry-After, capped at twice the scheduled wait", async () => {
    // Scheduled 0.2 s +-20%; Retry-After 1 s is capped at 0.4 s, which is longer, so it wins.
    const receiver = await recorder(answerWith([429, 200], { 429: { "retry-after": "1" } }));
    const path = await submit("after-retry", `${receiver.url}/hook`);
    await waitForSettledWebhook(runtime, path);
    const [first, second] = receiver.requests;
    const gapMs = second!.receivedAt - first!.receivedAt;
    expect(gapMs).toBeGreaterThanOrEqual(380);
    expect(gapMs).toBeLessThan(1000);
  });

  it("never follows a redirect, retries it, and the redirect target sees no connection", async () => {
    const target = await recorder();
    const receiver = await recorder((_request, _index, res) => res.writeHead(302, { location: `${target.url}/hook` }).end());
    const path = await submit("echo", `${receiver.url}/hook`);
    expect(await waitForSettledWebhook(runtime, path)).toEqual({
      status: "failed",
      attempts: 3,
      last_status_code: 302,
      last_error: "the receiver answered 302 (redirects are never followed); gave up after 3 attempts (the length of retry_schedule_s)",
    });
    expect(target.connections).toBe(0);
  });

  it("retries after a connection reset", async () => {
    const receiver = await startRawReceiver((socket, index) => (index === 0 ? socket.resetAndDestroy() : socket.end(httpAnswer(204))));
    receivers.push(receiver);
    const path = await submit("echo", `${receiver.url}/hook`);
    expect(await waitForSettledWebhook(runtime, path)).toEqual({ status: "delivered", attempts: 2, last_status_code: 204 });
  });
});

describe("timeouts", () => {
  it("retries a receiver that never answers, then fails, saying why", async () => {
    const receiver = await recorder(() => undefined);
    const path = await submit("impatient", `${receiver.url}/hook`);
    expect(await waitForSettledWebhook(runtime, path)).toEqual({
      status: "failed",
      attempts: 2,
      last_error: "no complete answer within timeout_s (0.2 s); the connection was closed; gave up after 2 attempts (the length of retry_schedule_s)",
    });
    expect(receiver.requests).toHaveLength(2);
  });

  it("counts a timed-out attempt as delivered with ignore_timeout", async () => {
    const receiver = await recorder(() => undefined);
    const path = await submit("tolerant", `${receiver.url}/hook`);
    expect(await waitForSettledWebhook(runtime, path)).toEqual({
      status: "delivered",
      attempts: 1,
      last_error: "no complete answer within timeout_s (0.2 s); the connection was closed; counted as delivered because ignore_timeout is true",
    });
    expect(receiver.requests).toHaveLength(1);
  });
});
