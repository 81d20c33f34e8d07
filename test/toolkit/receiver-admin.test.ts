import { Script } from "node:vm";
import { Ajv } from "ajv";
import { request } from "undici";
import { describe, expect, it } from "vitest";
import { livePageScript } from "../../toolkit/receiver/admin/live-page.js";
import type { Delivery } from "../../toolkit/receiver/delivery.js";
import { useReceivers } from "./helpers/receivers.js";

const start = useReceivers();

async function call(url: string, method = "GET", body?: string): Promise<{ status: number; json: unknown; headers: Record<string, unknown> }> {
  const response = await request(url, { method: method as "GET", ...(body === undefined ? {} : { body, headers: { "content-type": "application/json" } }) });
  const text = await response.body.text();
  return { status: response.statusCode, json: text === "" ? undefined : (JSON.parse(text) as unknown), headers: response.headers };
}

async function deliver(url: string, path = "/hook"): Promise<void> {
  const response = await request(`${url}${path}`, { method: "POST", body: '{"n":1}', headers: { "content-type": "application/json" } });
  await response.body.dump();
}

describe("GET and DELETE /_/deliveries", () => {
  it("lists deliveries oldest first, and DELETE empties the list", async () => {
    const receiver = await start();
    for (const path of ["/a", "/b", "/c"]) await deliver(receiver.url, path);
    const listed = await call(`${receiver.url}/_/deliveries`);
    expect(listed.status).toBe(200);
    expect((listed.json as Delivery[]).map((delivery) => delivery.path)).toEqual(["/a", "/b", "/c"]);
    expect(await call(`${receiver.url}/_/deliveries`, "DELETE")).toMatchObject({ status: 200, json: { deleted: 3 } });
    expect((await call(`${receiver.url}/_/deliveries`)).json).toEqual([]);
  });
});

describe("GET /_/deliveries/wait", () => {
  it("answers 200 with the list once N deliveries in total are recorded", async () => {
    const receiver = await start();
    await deliver(receiver.url, "/first");
    const waiting = call(`${receiver.url}/_/deliveries/wait?count=2&timeout_ms=5000`);
    await deliver(receiver.url, "/second");
    const answer = await waiting;
    expect(answer.status).toBe(200);
    expect((answer.json as Delivery[]).map((delivery) => delivery.path)).toEqual(["/first", "/second"]);
  });

  it("answers 408 at the timeout with what arrived", async () => {
    const receiver = await start();
    await deliver(receiver.url);
    const started = Date.now();
    const answer = await call(`${receiver.url}/_/deliveries/wait?count=2&timeout_ms=150`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(answer.status).toBe(408);
    expect(answer.json).toMatchObject({ error: "expected 2 deliveries within 150 ms, got 1: POST /hook -> 200", count: 1 });
  });

  it("refuses missing or out-of-range parameters with 400 naming the parameter", async () => {
    const receiver = await start();
    const cases: [string, string][] = [
      ["", "query parameter count is required"],
      ["count=abc", 'query parameter count must be a whole number from 1 to 1000000, got "abc"'],
      ["count=0", "query parameter count must be"],
      ["count=1.5", "query parameter count must be"],
      ["count=1&timeout_ms=-5", "query parameter timeout_ms must be"],
      ["count=1&timeout_ms=600001", "query parameter timeout_ms must be a whole number from 0 to 600000"],
    ];
    for (const [query, message] of cases) {
      const answer = await call(`${receiver.url}/_/deliveries/wait?${query}`);
      expect(answer.status, query).toBe(400);
      expect((answer.json as { error: string }).error, query).toContain(message);
    }
  });
});

describe("PUT and GET /_/rules", () => {
  it("replaces the rules, which then answer", async () => {
    const receiver = await start({ rules: [{ statuses: [500] }] });
    const rules = { rules: [{ path: "/hook", statuses: [503, 200] }] };
    expect(await call(`${receiver.url}/_/rules`, "PUT", JSON.stringify(rules))).toMatchObject({ status: 200, json: rules });
    expect((await call(`${receiver.url}/_/rules`)).json).toEqual(rules);
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 3; attempt += 1) statuses.push((await call(`${receiver.url}/hook`, "POST", "{}")).status);
    expect(statuses).toEqual([503, 200, 200]);
  });

  it("answers 400 naming the bad field, and keeps the old rules", async () => {
    const receiver = await start({ rules: [{ statuses: [201] }] });
    const bad = await call(`${receiver.url}/_/rules`, "PUT", JSON.stringify({ rules: [{ path: "/x", delay_ms: "slow" }] }));
    expect(bad.status).toBe(400);
    expect(bad.json).toEqual({ error: "rules[0].delay_ms: must be milliseconds from 0 to 600000, or [min, max] with min <= max" });
    expect((await call(`${receiver.url}/_/rules`)).json).toEqual({ rules: [{ statuses: [201] }] });
  });

  it("answers 400 to a body that is not JSON", async () => {
    const receiver = await start();
    const bad = await call(`${receiver.url}/_/rules`, "PUT", "{rules:");
    expect(bad.status).toBe(400);
    expect((bad.json as { error: string }).error).toMatch(/^the body is not JSON/);
  });
});

describe("admin routing", () => {
  it("answers an unknown admin path 404 and a wrong method 405 with Allow", async () => {
    const receiver = await start();
    const missing = await call(`${receiver.url}/_/nothing`);
    expect(missing.status).toBe(404);
    expect((missing.json as { error: string }).error).toContain("/_/deliveries");
    const wrongMethod = await call(`${receiver.url}/_/har`, "POST", "{}");
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers["allow"]).toBe("GET");
    expect(receiver.deliveries).toEqual([]);
  });

  it("serves the live page with a strict Content-Security-Policy", async () => {
    const receiver = await start();
    const response = await request(`${receiver.url}/_/`);
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toMatch(/^text\/html/);
    expect(response.headers["content-security-policy"]).toContain("script-src 'self'");
    expect(await response.body.text()).toContain('<script src="/_/live.js"></script>');
  });

  it("serves a live script that at least compiles (the browser test checks what it does)", async () => {
    const receiver = await start();
    const response = await request(`${receiver.url}/_/live.js`);
    expect(response.headers["content-type"]).toMatch(/^text\/javascript/);
    const script = await response.body.text();
    expect(script).toBe(livePageScript);
    expect(() => new Script(script)).not.toThrow();
  });
});

/** HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/): required fields, and only `_` custom fields. */
const harSchema = (() => {
  const strict = (required: string[], properties: Record<string, unknown>): Record<string, unknown> => ({
    type: "object",
    required,
    properties,
    patternProperties: { "^_": {} },
    additionalProperties: false,
  });
  const pairs = { type: "array", items: strict(["name", "value"], { name: { type: "string" }, value: { type: "string" }, comment: { type: "string" } }) };
  const cookies = { type: "array", maxItems: 0 };
  return strict(["log"], {
    log: strict(["version", "creator", "entries"], {
      version: { const: "1.2" },
      creator: strict(["name", "version"], { name: { type: "string" }, version: { type: "string" } }),
      entries: {
        type: "array",
        items: strict(["startedDateTime", "time", "request", "response", "cache", "timings"], {
          startedDateTime: { type: "string", pattern: "^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?(Z|[+-]\\d\\d:\\d\\d)$" },
          time: { type: "number", minimum: 0 },
          request: strict(["method", "url", "httpVersion", "cookies", "headers", "queryString", "headersSize", "bodySize"], {
            method: { type: "string" },
            url: { type: "string", pattern: "^https?://" },
            httpVersion: { type: "string" },
            cookies,
            headers: pairs,
            queryString: pairs,
            postData: strict(["mimeType"], { mimeType: { type: "string" }, text: { type: "string" }, encoding: { type: "string" } }),
            headersSize: { type: "integer" },
            bodySize: { type: "integer" },
          }),
          response: strict(["status", "statusText", "httpVersion", "cookies", "headers", "content", "redirectURL", "headersSize", "bodySize"], {
            status: { type: "integer" },
            statusText: { type: "string" },
            httpVersion: { type: "string" },
            cookies,
            headers: pairs,
            content: strict(["size", "mimeType"], { size: { type: "integer" }, mimeType: { type: "string" }, text: { type: "string" } }),
            redirectURL: { type: "string" },
            headersSize: { type: "integer" },
            bodySize: { type: "integer" },
          }),
          cache: { type: "object" },
          timings: strict(["send", "wait", "receive"], { send: { type: "number" }, wait: { type: "number" }, receive: { type: "number" } }),
        }),
      },
    }),
  });
})();

describe("GET /_/har", () => {
  it("exports a HAR 1.2 log of the deliveries, faults as status 0", async () => {
    const receiver = await start({ rules: [{ path: "/reset", fault: "reset" }, { path: "/slow", delay_ms: 20, statuses: [503] }] });
    await deliver(receiver.url, "/hook?attempt=2");
    await request(`${receiver.url}/reset`, { method: "POST", body: "{}" }).catch(() => undefined);
    await deliver(receiver.url, "/slow");
    const har = await call(`${receiver.url}/_/har`);
    expect(har.status).toBe(200);
    const validate = new Ajv({ allErrors: true }).compile(harSchema);
    expect(validate(har.json), JSON.stringify(validate.errors)).toBe(true);

    const entries = (har.json as { log: { entries: Record<string, any>[] } }).log.entries;
    expect(entries).toHaveLength(3);
    const [hook, reset, slow] = entries;
    expect(hook?.["request"]).toMatchObject({
      method: "POST",
      url: `${receiver.url}/hook?attempt=2`,
      httpVersion: "HTTP/1.1",
      queryString: [{ name: "attempt", value: "2" }],
      postData: { mimeType: "application/json", text: '{"n":1}' },
      bodySize: 7,
    });
    expect(hook?.["response"]).toMatchObject({ status: 200, statusText: "OK", content: { text: '{"ok":true}', mimeType: "application/json" } });
    expect(reset?.["response"]).toMatchObject({ status: 0, bodySize: -1 });
    expect(reset?.["_fault"]).toBe("reset");
    expect(slow?.["response"]).toMatchObject({ status: 503, statusText: "Service Unavailable" });
    expect(slow?.["timings"]["wait"]).toBe(20);
    expect(hook?.["_verdicts"]).toEqual({ basic: null, signature: null, tls: null });
  });
});
