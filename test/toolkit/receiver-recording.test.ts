import { execFile } from "node:child_process";
import { connect } from "node:net";
import { promisify } from "node:util";
import { Agent, request } from "undici";
import { describe, expect, it } from "vitest";
import { ToolkitError, ToolkitErrorCode } from "../../toolkit/errors.js";
import { useReceivers } from "./helpers/receivers.js";

const start = useReceivers();
const run = promisify(execFile);

async function post(url: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<number> {
  const response = await request(url, { method: "POST", body, headers });
  await response.body.dump();
  return response.statusCode;
}

describe("recording", () => {
  it("records method, path, query, headers, parsed JSON and raw body, time and null verdicts", async () => {
    const receiver = await start();
    const before = Date.now();
    const status = await post(`${receiver.url}/hook/cortex?attempt=1&tag=a&tag=b`, '{"id":"t1","result":7}', {
      "content-type": "application/json",
      "x-request-id": "t1",
    });
    expect(status).toBe(200);
    const [delivery] = receiver.deliveries;
    expect(delivery).toMatchObject({
      id: "1",
      method: "POST",
      path: "/hook/cortex",
      url: "/hook/cortex?attempt=1&tag=a&tag=b",
      query: { attempt: "1", tag: ["a", "b"] },
      body: { id: "t1", result: 7 },
      raw_body: '{"id":"t1","result":7}',
      raw_body_encoding: "utf8",
      body_bytes: 22,
      body_truncated: false,
      http_version: "1.1",
      remote_address: "127.0.0.1",
      verdicts: { basic: null, signature: null, tls: null },
      response: { status: 200, body: '{"ok":true}', fault: null, rule: null, refused_by: null },
    });
    expect(delivery?.headers["x-request-id"]).toBe("t1");
    expect(delivery?.headers["content-type"]).toBe("application/json");
    expect(Date.parse(delivery?.received_at ?? "")).toBeGreaterThanOrEqual(before - 1);
    expect(delivery?.received_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(delivery?.timing.body_ms).toBeGreaterThanOrEqual(0);
  });

  it("records any method on any path, including / and a path that only starts like the admin prefix", async () => {
    const receiver = await start();
    for (const [method, path] of [["PUT", "/"], ["DELETE", "/x/y"], ["GET", "/_admin"], ["PATCH", "/_"]] as const) {
      const response = await request(`${receiver.url}${path}`, { method });
      await response.body.dump();
    }
    expect(receiver.deliveries.map((delivery) => `${delivery.method} ${delivery.path}`)).toEqual([
      "PUT /",
      "DELETE /x/y",
      "GET /_admin",
      "PATCH /_",
    ]);
  });

  it("records the path exactly as sent, without resolving // or ..", async () => {
    const receiver = await start({ rules: [{ path: "/a/../b", statuses: [202] }] });
    const { port } = new URL(receiver.url);
    const statuses: string[] = [];
    for (const target of ["//double/slash?x=1", "/a/../b"]) {
      const socket = connect(Number(port), "127.0.0.1");
      socket.write(`POST ${target} HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}`);
      let answer = "";
      for await (const chunk of socket) answer += String(chunk);
      statuses.push(answer.split(" ")[1] ?? "");
    }
    expect(statuses).toEqual(["200", "202"]);
    expect(receiver.deliveries.map((delivery) => [delivery.path, delivery.query])).toEqual([
      ["//double/slash", { x: "1" }],
      ["/a/../b", {}],
    ]);
  });

  it("keeps text as text, malformed JSON as its text, and binary as base64", async () => {
    const receiver = await start();
    await post(receiver.url, "42", { "content-type": "text/plain" });
    await post(receiver.url, '{"broken":', { "content-type": "application/json" });
    await post(receiver.url, Buffer.from([0xff, 0x00, 0xfe]), { "content-type": "application/octet-stream" });
    await post(receiver.url, '{"a":1}', { "content-type": "application/cloudevents+json; charset=utf-8" });
    const [text, malformed, binary, vendorJson] = receiver.deliveries;
    expect(text).toMatchObject({ body: "42", raw_body: "42" });
    expect(malformed).toMatchObject({ body: '{"broken":', raw_body_encoding: "utf8" });
    expect(binary).toMatchObject({ raw_body: "/wD+", raw_body_encoding: "base64", body_bytes: 3 });
    expect(vendorJson?.body).toEqual({ a: 1 });
  });

  it("records only the first maxBodyBytes of a long body and says so", async () => {
    const receiver = await start({ maxBodyBytes: 10 });
    await post(receiver.url, "0123456789abcdefghijklmno", { "content-type": "application/json" });
    expect(receiver.deliveries[0]).toMatchObject({
      raw_body: "0123456789",
      body: "0123456789",
      body_bytes: 25,
      body_truncated: true,
    });
  });

  it("listens on IPv6 loopback with a bracketed URL", async () => {
    const receiver = await start({ host: "::1" });
    expect(receiver.url).toMatch(/^http:\/\/\[::1\]:\d+$/);
    await post(`${receiver.url}/v6`, "{}");
    expect(receiver.deliveries[0]).toMatchObject({ path: "/v6", remote_address: "::1" });
  });

  it("survives a client that leaves mid-body, recording nothing for it", async () => {
    const receiver = await start();
    const { port } = new URL(receiver.url);
    const socket = connect(Number(port), "127.0.0.1");
    await new Promise((resolve) => socket.once("connect", resolve));
    socket.write("POST /half HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n0123456789");
    await new Promise<void>((resolve) => socket.end(() => resolve()));
    socket.destroy();
    await post(`${receiver.url}/whole`, "{}");
    expect(receiver.deliveries.map((delivery) => delivery.path)).toEqual(["/whole"]);
  });

  it("does not record the admin API", async () => {
    const receiver = await start();
    for (const path of ["/_/deliveries", "/_/rules", "/_/har", "/_/", "/_/nope"]) {
      const response = await request(`${receiver.url}${path}`);
      await response.body.dump();
    }
    await post(receiver.url + "/hook", "{}");
    expect(receiver.deliveries.map((delivery) => delivery.path)).toEqual(["/hook"]);
  });

  it("keeps the newest maxDeliveries and still counts every one", async () => {
    const receiver = await start({ maxDeliveries: 3 });
    for (let index = 1; index <= 5; index += 1) await post(`${receiver.url}/n${index}`, "{}");
    expect(receiver.deliveries.map((delivery) => delivery.path)).toEqual(["/n3", "/n4", "/n5"]);
    expect(await receiver.waitFor({ count: 5, timeoutMs: 0 })).toHaveLength(3);
  });

  it("drops the oldest deliveries once recorded bodies pass maxStoredBytes", async () => {
    const receiver = await start({ maxStoredBytes: 3 * 1024 * 1024 });
    const megabyte = "x".repeat(1024 * 1024);
    for (let index = 1; index <= 3; index += 1) await post(`${receiver.url}/big${index}`, megabyte);
    expect(receiver.deliveries.map((delivery) => delivery.path)).toEqual(["/big3"]);
  });
});

describe("waitFor", () => {
  it("resolves as the Nth delivery lands, before the receiver even answers it", async () => {
    const receiver = await start({ rules: [{ path: "/third", fault: "hang" }] });
    const waiting = receiver.waitFor({ count: 3, timeoutMs: 5000 });
    let settled = false;
    void waiting.then(() => (settled = true));
    await post(`${receiver.url}/first`, "{}");
    await post(`${receiver.url}/second`, "{}");
    expect(settled).toBe(false);
    const agent = new Agent();
    const hung = request(`${receiver.url}/third`, { method: "POST", body: "{}", dispatcher: agent }).catch(() => "closed");
    const deliveries = await waiting;
    expect(deliveries.map((delivery) => delivery.path)).toEqual(["/first", "/second", "/third"]);
    await agent.destroy();
    await hung;
  });

  it("resolves at once when enough deliveries are already recorded", async () => {
    const receiver = await start();
    await post(receiver.url, "{}");
    expect(await receiver.waitFor({ count: 1, timeoutMs: 0 })).toHaveLength(1);
  });

  it("rejects at its timeout with what did arrive", async () => {
    const receiver = await start({ rules: [{ path: "/hook", statuses: [503] }] });
    await post(`${receiver.url}/hook`, "{}");
    const started = Date.now();
    const error = await receiver.waitFor({ count: 3, timeoutMs: 200 }).catch((caught: unknown) => caught);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(error).toBeInstanceOf(ToolkitError);
    expect((error as ToolkitError).code).toBe(ToolkitErrorCode.waitTimeout);
    expect((error as ToolkitError).message).toBe("expected 3 deliveries within 200 ms, got 1: POST /hook -> 503");
  });

  it("counts from the last clear()", async () => {
    const receiver = await start();
    await post(receiver.url, "{}");
    receiver.clear();
    expect(receiver.deliveries).toEqual([]);
    await expect(receiver.waitFor({ count: 1, timeoutMs: 50 })).rejects.toThrow("expected 1 delivery within 50 ms, got 0");
    await post(receiver.url, "{}");
    expect(await receiver.waitFor({ count: 1, timeoutMs: 1000 })).toHaveLength(1);
    expect(receiver.deliveries[0]?.id).toBe("2");
  });

  it("refuses a bad count", async () => {
    const receiver = await start();
    await expect(receiver.waitFor({ count: 0 })).rejects.toMatchObject({ code: ToolkitErrorCode.optionInvalid });
  });

  it("is rejected with RECEIVER_CLOSED when the receiver closes", async () => {
    const receiver = await start();
    const waiting = receiver.waitFor({ count: 1, timeoutMs: 60_000 });
    await receiver.close();
    await expect(waiting).rejects.toMatchObject({ code: ToolkitErrorCode.receiverClosed });
  });
});

describe("close()", () => {
  it("ends hung, delayed and dribbling connections, rejects waits, and leaves nothing that keeps a process alive", async () => {
    // In a child process: a timer or socket left behind would keep it from exiting for up to 100 s.
    const started = Date.now();
    const { stdout } = await run(process.execPath, ["--import", "tsx", "test/fixtures/receiver-close-exit.ts"], { timeout: 20_000 });
    expect(Date.now() - started).toBeLessThan(15_000);
    const report = JSON.parse(stdout) as { outcomes: string[]; pendingWait: string };
    expect(report.outcomes).toEqual(["/hang: UND_ERR_SOCKET", "/slow: UND_ERR_SOCKET", "/dribble: UND_ERR_SOCKET"]);
    expect(report.pendingWait).toBe(ToolkitErrorCode.receiverClosed);
  });

  it("closes promptly with a hung connection open", async () => {
    const receiver = await start({ rules: [{ fault: "hang" }] });
    const agent = new Agent();
    const hung = request(receiver.url, { method: "POST", body: "{}", dispatcher: agent }).catch((error: Error & { code?: string }) => error.code);
    await receiver.waitFor({ count: 1, timeoutMs: 5000 });
    const closing = Date.now();
    await receiver.close();
    expect(Date.now() - closing).toBeLessThan(1000);
    expect(await hung).toBe("UND_ERR_SOCKET");
    await agent.close();
  });

  it("refuses a port in use with PORT_IN_USE", async () => {
    const receiver = await start();
    const port = Number(new URL(receiver.url).port);
    await expect(start({ port })).rejects.toMatchObject({ code: ToolkitErrorCode.portInUse });
  });

  it("can be called twice, and frees the port", async () => {
    const receiver = await start();
    const port = Number(new URL(receiver.url).port);
    await receiver.close();
    await receiver.close();
    const again = await start({ port });
    expect(again.url).toBe(receiver.url);
  });
});
