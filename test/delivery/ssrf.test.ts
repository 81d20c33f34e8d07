import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../runtime/config/load-config.js";
import { ConfigError } from "../../runtime/errors.js";
import { deliveryYaml, postJson, waitForSettledWebhook } from "../helpers/delivery-config.js";
import { startRecorder, type Recorder } from "../helpers/recorder.js";
import { startTestRuntime, type TestRuntime } from "../helpers/runtime-fixture.js";

// The SSRF forms of issue 3: none reaches a listener unless allow_networks admits it. Listeners run on the
// loopback addresses the forms point at; only loopback is ever a target.
let runtime: TestRuntime;
let v4: Recorder;
let v6: Recorder;

beforeAll(async () => {
  v4 = await startRecorder();
  v6 = await startRecorder(undefined, { host: "::1" });
  runtime = await startTestRuntime({
    yaml: deliveryYaml(
      { name: "closed", webhook: { allow_networks: [] } },
      { name: "open", webhook: { allow_networks: ["127.0.0.0/8", "::1/128"] } },
      { name: "v4-only", webhook: { allow_networks: ["127.0.0.1/32"] } },
    ),
  });
});
afterAll(async () => {
  await runtime.close();
  await Promise.all([v4.close(), v6.close()]);
});

/** The literal forms, each pointing at a loopback listener. */
const literalForms = (): Array<[string, string, () => Recorder]> => [
  ["127.0.0.1", `http://127.0.0.1:${v4.port}/hook`, () => v4],
  ["2130706433", `http://2130706433:${v4.port}/hook`, () => v4],
  ["0x7f.1", `http://0x7f.1:${v4.port}/hook`, () => v4],
  ["0177.0.0.1", `http://0177.0.0.1:${v4.port}/hook`, () => v4],
  ["[::ffff:127.0.0.1]", `http://[::ffff:127.0.0.1]:${v4.port}/hook`, () => v4],
  ["[::1]", `http://[::1]:${v6.port}/hook`, () => v6],
];

const cortex = (api: string, callbackUrl: string) => postJson(`${runtime.url}/${api}?callback_url=${encodeURIComponent(callbackUrl)}`, { x: 1 });
const launch = (api: string, callbackUrl: string) =>
  postJson(`${runtime.url}/v1/async-tasks?model_endpoint_name=${api}`, { args: { x: 1 }, callback_url: callbackUrl });

describe("with an empty allow_networks", () => {
  it("refuses every literal loopback form at submit on both surfaces, and no listener sees a connection", async () => {
    for (const [form, url] of literalForms()) {
      for (const submit of [cortex, launch]) {
        const { status, body } = await submit("closed", url);
        expect({ form, status }).toEqual({ form, status: 400 });
        expect(String(body.error)).toMatch(/^callback_url refused: .*is a loopback address; callbacks may not reach it unless webhook\.allow_networks of API closed lists it/);
      }
    }
    expect([v4.connections, v6.connections]).toEqual([0, 0]);
  });

  it("refuses cloud metadata and private literals", async () => {
    for (const [url, label] of [
      ["http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"],
      ["http://10.0.0.1/hook", "10.0.0.1 is a private address"],
      ["http://[fd00::1]/hook", "fd00::1 is a unique local (private) address"],
      ["http://[64:ff9b::a9fe:a9fe]/hook", "64:ff9b::a9fe:a9fe is a NAT64 address"],
    ] as const) {
      const { status, body } = await cortex("closed", url);
      expect(status).toBe(400);
      expect(String(body.error)).toContain(label);
    }
  });

  it("accepts a name, then fails its webhook at once when it resolves to loopback, without connecting", async () => {
    const { status, body } = await cortex("closed", `http://localhost:${v4.port}/hook`);
    expect(status).toBe(202);
    const webhook = await waitForSettledWebhook(runtime, `/closed/${String(body.id)}`);
    expect(webhook).toEqual({
      status: "failed",
      attempts: 1,
      last_error:
        "refused, not sent: localhost resolved only to addresses callbacks may not reach: 127.0.0.1 (a loopback address); " +
        "add them to webhook.allow_networks of API closed to allow it (for example 127.0.0.1/32)",
    });
    expect(v4.connections).toBe(0);
    const logged = runtime.logLines.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line.taskId === body.id && line.msg === "webhook attempt");
    expect(logged).toMatchObject({ outcome: "refused", webhookStatus: "failed" });
  });
});

describe("with loopback in allow_networks", () => {
  it("delivers to every loopback form", async () => {
    for (const [form, url, listener] of [...literalForms(), ["localhost", `http://localhost:${v4.port}/hook`, () => v4] as [string, string, () => Recorder]]) {
      const before = listener().requests.length;
      const { status, body } = await cortex("open", url);
      expect({ form, status }).toEqual({ form, status: 202 });
      expect({ form, webhook: await waitForSettledWebhook(runtime, `/open/${String(body.id)}`) }).toEqual({
        form,
        webhook: { status: "delivered", attempts: 1, last_status_code: 200 },
      });
      expect(listener().requests.length).toBe(before + 1);
    }
  });

  it("still refuses what the list does not name", async () => {
    expect((await cortex("open", "http://169.254.169.254/")).status).toBe(400);
    expect((await cortex("open", "http://10.0.0.1/")).status).toBe(400);
    const ipv6 = await cortex("v4-only", `http://[::1]:${v6.port}/hook`);
    expect(ipv6.status).toBe(400);
    expect(ipv6.body.error).toContain("::1 is a loopback address; callbacks may not reach it unless webhook.allow_networks of API v4-only lists it");
    const mapped = await cortex("v4-only", `http://[::ffff:127.0.0.2]:${v4.port}/hook`);
    expect(mapped.body.error).toContain("(which stands for 127.0.0.2) is a loopback address");
  });
});

describe("default_callback_url", () => {
  const load = (url: string, allow: string[]): string => {
    try {
      parseConfig(deliveryYaml({ name: "sum", webhook: { default_callback_url: url, allow_networks: allow } }), "/tmp/cortex.yaml");
    } catch (error) {
      if (error instanceof ConfigError) return error.message;
      throw error;
    }
    return "loaded";
  };

  it("refuses a literal outside allow_networks at start-up, in the config error format", () => {
    expect(load("http://169.254.169.254/hook", [])).toMatch(
      /^\/tmp\/cortex\.yaml:\d+ apis\[0\]\.webhook\.default_callback_url: refused: 169\.254\.169\.254 is a link-local address .*webhook\.allow_networks lists it/,
    );
    expect(load("http://0x7f.1:9000/hook", [])).toContain("127.0.0.1 is a loopback address");
  });

  it("accepts it when allow_networks lists it, and leaves names to delivery time", () => {
    expect(load("http://127.0.0.1:9000/hook", ["127.0.0.0/8"])).toBe("loaded");
    expect(load("http://localhost:9000/hook", [])).toBe("loaded");
  });
});
