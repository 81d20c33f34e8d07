import { Agent, errors, request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import type { ReceiverRule } from "../../toolkit/receiver/rules/receiver-rule.js";
import { useReceivers } from "./helpers/receivers.js";

const start = useReceivers();
const agents: Agent[] = [];
afterEach(async () => {
  await Promise.all(agents.splice(0).map((agent) => agent.destroy()));
});

/** An agent whose waits are short, so a hung answer fails fast and on the client's side. */
function agent(options: ConstructorParameters<typeof Agent>[0] = {}): Agent {
  const made = new Agent({ headersTimeout: 2000, bodyTimeout: 2000, ...options });
  agents.push(made);
  return made;
}

async function receiverWith(rules: ReceiverRule[]): Promise<string> {
  return (await start({ rules })).url;
}

/** The client-side error of a request, or "answered STATUS". */
async function outcomeOf(url: string, dispatcher = agent()): Promise<unknown> {
  try {
    const response = await request(url, { method: "POST", body: '{"id":"t1"}', headers: { "content-type": "application/json" }, dispatcher });
    await response.body.text();
    return `answered ${response.statusCode}`;
  } catch (error) {
    return error;
  }
}

describe("rule answers over HTTP", () => {
  it("plays a status sequence and then repeats its last status", async () => {
    const url = await receiverWith([{ path: "/hook", statuses: [503, 503, 200] }]);
    const seen: number[] = [];
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const response = await request(`${url}/hook`, { method: "POST", body: "{}" });
      await response.body.dump();
      seen.push(response.statusCode);
    }
    expect(seen).toEqual([503, 503, 200, 200, 200]);
  });

  it("answers with the rule's body and headers", async () => {
    const url = await receiverWith([{ path: "/gone", statuses: [410], body: { error: "gone for good" }, headers: { "Retry-After": "120", "x-extra": "1" } }]);
    const response = await request(`${url}/gone`, { method: "POST", body: "{}" });
    expect(response.statusCode).toBe(410);
    expect(response.headers["retry-after"]).toBe("120");
    expect(response.headers["x-extra"]).toBe("1");
    expect(response.headers["content-type"]).toBe("application/json");
    expect(await response.body.json()).toEqual({ error: "gone for good" });
  });

  it("matches by method and path prefix, other requests get the default 200 {\"ok\":true}", async () => {
    const url = await receiverWith([{ method: "PUT", path: "/v1/*", statuses: [202] }]);
    const put = await request(`${url}/v1/tasks/9`, { method: "PUT", body: "{}" });
    await put.body.dump();
    const post = await request(`${url}/v1/tasks/9`, { method: "POST", body: "{}" });
    expect([put.statusCode, post.statusCode]).toEqual([202, 200]);
    expect(await post.body.json()).toEqual({ ok: true });
  });

  it("waits delay_ms before answering and records the delay", async () => {
    const receiver = await start({ rules: [{ path: "/fixed", delay_ms: 200 }, { path: "/range", delay_ms: [50, 80] }] });
    const started = performance.now();
    const response = await request(`${receiver.url}/fixed`, { method: "POST", body: "{}" });
    await response.body.dump();
    expect(performance.now() - started).toBeGreaterThanOrEqual(195);
    const ranged = await request(`${receiver.url}/range`, { method: "POST", body: "{}" });
    await ranged.body.dump();
    const [fixed, range] = receiver.deliveries;
    expect(fixed?.response.delay_ms).toBe(200);
    expect(range?.response.delay_ms).toBeGreaterThanOrEqual(50);
    expect(range?.response.delay_ms).toBeLessThanOrEqual(80);
  });

  it("replaces the rules with setRules(), resetting their counters", async () => {
    const receiver = await start({ rules: [{ statuses: [500, 201] }] });
    const statuses = async (): Promise<number> => {
      const response = await request(receiver.url, { method: "POST", body: "{}" });
      await response.body.dump();
      return response.statusCode;
    };
    expect(await statuses()).toBe(500);
    receiver.setRules([{ statuses: [500, 202] }]);
    expect([await statuses(), await statuses()]).toEqual([500, 202]);
    expect(() => receiver.setRules([{ fault: "boom" as "reset" }])).toThrow("rules[0].fault: must be one of");
    expect(receiver.rules).toEqual([{ statuses: [500, 202] }]);
  });
});

describe("faults seen from an undici client", () => {
  it("reset: the client sees ECONNRESET", async () => {
    const url = await receiverWith([{ fault: "reset" }]);
    expect(await outcomeOf(url)).toMatchObject({ code: "ECONNRESET" });
  });

  it("empty: the connection closes without an answer", async () => {
    const url = await receiverWith([{ fault: "empty" }]);
    const outcome = await outcomeOf(url);
    expect(outcome).toBeInstanceOf(errors.SocketError);
    expect(outcome).toMatchObject({ code: "UND_ERR_SOCKET", message: "other side closed" });
  });

  it("malformed: a status line then garbage makes the client's parser fail", async () => {
    const url = await receiverWith([{ fault: "malformed" }]);
    const outcome = await outcomeOf(url);
    expect(outcome).toBeInstanceOf(errors.HTTPParserError);
    expect(String((outcome as Error).message)).toMatch(/Invalid header/i);
  });

  it("hang: no answer ever comes, so the client times out (and the request is still recorded)", async () => {
    const receiver = await start({ rules: [{ path: "/hook", fault: "hang" }] });
    const started = performance.now();
    const outcome = await outcomeOf(`${receiver.url}/hook`, agent({ headersTimeout: 300 }));
    expect(outcome).toBeInstanceOf(errors.HeadersTimeoutError);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect(receiver.deliveries[0]?.response).toMatchObject({ status: null, fault: "hang" });
  });

  it("dribble: the answer arrives one byte at a time and then completes", async () => {
    const body = "abcdefghijklmnopqrstuvwxyz0123456789";
    const receiver = await start({
      rules: [
        { path: "/dribble", fault: "dribble", dribble_interval_ms: 3, body, statuses: [202] },
        { path: "/normal", body },
      ],
    });
    const chunksOf = async (path: string): Promise<{ status: number; chunks: number; text: string }> => {
      const response = await request(`${receiver.url}${path}`, { method: "POST", body: "{}", dispatcher: agent() });
      let chunks = 0;
      let text = "";
      for await (const chunk of response.body) {
        chunks += 1;
        text += String(chunk);
      }
      return { status: response.statusCode, chunks, text };
    };
    const dribbled = await chunksOf("/dribble");
    expect(dribbled.status).toBe(202);
    expect(dribbled.text).toBe(body);
    // One byte per write; a busy client may read two at once now and then, never the body in a few chunks.
    expect(dribbled.chunks).toBeGreaterThanOrEqual(body.length / 2);
    const normal = await chunksOf("/normal");
    expect(normal).toEqual({ status: 200, chunks: 1, text: body });
    expect(receiver.deliveries[0]?.response).toMatchObject({ status: 202, fault: "dribble", body });
  });

  it("applies a fault only `times` times, then the next rule answers", async () => {
    const url = await receiverWith([{ fault: "reset", times: 2 }, { statuses: [201] }]);
    const outcomes = [await outcomeOf(url), await outcomeOf(url), await outcomeOf(url)];
    expect(outcomes[0]).toMatchObject({ code: "ECONNRESET" });
    expect(outcomes[1]).toMatchObject({ code: "ECONNRESET" });
    expect(outcomes[2]).toBe("answered 201");
  });
});
