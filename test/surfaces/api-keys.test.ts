import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../runtime/config/load-config.js";
import { ConfigError } from "../../runtime/errors.js";
import { LaunchClientWire } from "../helpers/launch-client.js";
import { FIXTURE_PREDICTORS, startTestRuntime, type TestRuntime } from "../helpers/runtime-fixture.js";
import { waitUntil } from "../helpers/wait-until.js";

const echo = join(FIXTURE_PREDICTORS, "echo.ts");
const KEY_A = `key-a-${randomBytes(16).toString("hex")}`;
const KEY_B = `key-b-${randomBytes(16).toString("hex")}`;
const WRONG = `key-x-${randomBytes(16).toString("hex")}`;
const basic = (user: string, password = ""): string => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

describe("API keys per API: networking.api_keys (issue 13)", () => {
  let t: TestRuntime;
  /** Every answer's status line, headers and body, for the secrets scan. */
  const seen: string[] = [];

  beforeAll(async () => {
    t = await startTestRuntime({
      env: { ...process.env, LOCKED_KEY_A: KEY_A, LOCKED_KEY_B: KEY_B },
      yaml: `
- name: locked
  kind: AsyncAPI
  predictor: { type: typescript, path: ${echo} }
  networking:
    api_keys: ["\${LOCKED_KEY_A}", "\${LOCKED_KEY_B}"]
- name: locked-now
  kind: RealtimeAPI
  predictor: { type: typescript, path: ${echo} }
  networking: { api_keys: ["\${LOCKED_KEY_A}"] }
- name: open
  kind: AsyncAPI
  predictor: { type: typescript, path: ${echo} }
`,
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  async function call(method: string, path: string, authorization?: string, body?: unknown): Promise<{ status: number; headers: Headers; json: any }> {
    const headers: Record<string, string> = {};
    if (authorization !== undefined) headers.authorization = authorization;
    if (body !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(`${t.url}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await response.text();
    seen.push(`${response.status} ${JSON.stringify([...response.headers])} ${text}`);
    return { status: response.status, headers: response.headers, json: text === "" ? undefined : JSON.parse(text) };
  }

  /** A task of `locked`, finished, submitted with a right key. */
  async function lockedTask(): Promise<string> {
    const { json } = await call("POST", "/locked", `Bearer ${KEY_A}`, { n: 1 });
    await waitUntil("it finished", async () => (await call("GET", `/locked/${json.id}`, `Bearer ${KEY_A}`)).json.status === "completed");
    return json.id as string;
  }

  it("refuses every route of a keyed API without a key: 401 {error} with www-authenticate", async () => {
    const id = await lockedTask();
    const routes: Array<[string, string, unknown?]> = [
      ["POST", "/locked", { n: 1 }],
      ["GET", `/locked/${id}`],
      ["DELETE", `/locked/${id}`],
      ["POST", `/locked/${id}/redeliver`],
      ["POST", "/locked/redeliver-failed?since=1h"],
      ["POST", "/locked-now", { n: 1 }],
      ["POST", "/v1/async-tasks?model_endpoint_id=locked", { args: {} }],
      ["POST", "/v1/async-tasks?model_endpoint_name=locked", { args: {} }],
      ["GET", `/v1/async-tasks/${id}`],
      ["POST", "/v1/sync-tasks?model_endpoint_id=locked-now", { args: {} }],
      ["GET", "/v1/model-endpoints/locked"],
      ["POST", "/v1/locked/latest", { data: 1 }],
      ["POST", "/v1/locked-now/3", { data: 1 }],
    ];
    for (const [method, path, body] of routes) {
      const answer = await call(method, path, undefined, body);
      expect(answer.status, `${method} ${path}`).toBe(401);
      expect(answer.json.error, `${method} ${path}`).toContain("needs an API key");
      expect(answer.headers.get("www-authenticate")).toBe('Bearer realm="predictor-runtime", Basic realm="predictor-runtime"');
    }
  });

  it("refuses each wrong form: a wrong key as Bearer, Basic or alone, a key with a password, a key of another API", async () => {
    for (const authorization of [`Bearer ${WRONG}`, basic(WRONG), WRONG, basic(KEY_A, "password"), `Bearer`, `Digest ${KEY_A}`, `Token ${KEY_A}`]) {
      const answer = await call("POST", "/locked", authorization, { n: 1 });
      expect(answer.status, authorization.slice(0, 12)).toBe(401);
      expect(answer.headers.get("www-authenticate")).toContain("Bearer");
    }
    // KEY_B opens "locked" but not "locked-now".
    expect((await call("POST", "/locked-now", `Bearer ${KEY_B}`, { n: 1 })).status).toBe(401);
  });

  it("accepts each right form, with either key: Bearer (any case), Basic KEY: (the Launch client), the key alone (Modelbit)", async () => {
    for (const authorization of [`Bearer ${KEY_A}`, `bearer ${KEY_B}`, basic(KEY_A), basic(KEY_B), KEY_A, KEY_B]) {
      expect((await call("POST", "/locked", authorization, { n: 2 })).status, authorization.slice(0, 12)).toBe(202);
    }
    expect((await call("POST", "/v1/locked-now/latest", KEY_A, { data: { q: 1 } })).json.data.payload).toEqual({ q: 1 });
    expect((await call("POST", "/locked-now", basic(KEY_A), { q: 2 })).status).toBe(200);
    const id = await lockedTask();
    expect((await call("GET", `/v1/async-tasks/${id}`, basic(KEY_B))).json.status).toBe("SUCCESS");
  });

  it("the official Launch client's Basic auth works end to end, and /v1/model-endpoints lists only what the key opens", async () => {
    const client = new LaunchClientWire(KEY_A, t.url);
    const taskId = await client.asyncPredict("locked", { args: { via: "launch" } });
    expect((await client.futureGet(taskId)).result).toMatchObject({ payload: { via: "launch" } });
    expect((await client.syncPredict("locked-now", { s: 1 })).result).toMatchObject({ payload: { s: 1 } });
    const names = async (authorization?: string): Promise<string[]> =>
      ((await call("GET", "/v1/model-endpoints", authorization)).json.model_endpoints as Array<{ name: string }>).map((e) => e.name);
    expect(await names()).toEqual(["open"]);
    expect(await names(`Bearer ${WRONG}`)).toEqual(["open"]);
    expect(await names(`Bearer ${KEY_A}`)).toEqual(["locked", "locked-now", "open"]);
    expect(await names(`Bearer ${KEY_B}`)).toEqual(["locked", "open"]);
    expect((await call("GET", "/v1/model-endpoints?name=locked")).json).toEqual({ model_endpoints: [] });
    expect(await new LaunchClientWire(WRONG, t.url).getModelEndpoint("locked")).toBeNull();
  });

  it("an API without keys and the operations routes need none", async () => {
    expect((await call("POST", "/open", undefined, { n: 3 })).status).toBe(202);
    for (const path of ["/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"]) {
      const answer = await fetch(`${t.url}${path}`);
      seen.push(await answer.text());
      expect(answer.status, path).toBe(200);
    }
  });

  it("/openapi.json declares the security schemes and marks the keyed operations, without any key", async () => {
    const document = (await call("GET", "/openapi.json")).json;
    expect(Object.keys(document.components.securitySchemes)).toEqual(["apiKeyBearer", "apiKeyBasic", "apiKeyRaw"]);
    expect(document.paths["/locked"].post.security).toEqual([{ apiKeyBearer: [] }, { apiKeyBasic: [] }, { apiKeyRaw: [] }]);
    expect(document.paths["/locked"].post.responses["401"]).toBeDefined();
    expect(document.paths["/v1/locked/{version}"].post.security).toHaveLength(3);
    expect(document.paths["/open"].post.security).toBeUndefined();
    expect(document.paths["/v1/async-tasks"].post.security).toEqual([{}, { apiKeyBearer: [] }, { apiKeyBasic: [] }, { apiKeyRaw: [] }]);
  });

  it("a key in a bad form is refused at start-up without quoting it", () => {
    const secret = "has space-0123456789abcdef";
    let error: unknown;
    try {
      parseConfig(`- name: x\n  kind: AsyncAPI\n  predictor: { type: typescript, path: ${echo} }\n  networking: { api_keys: ["\${K}"] }\n`, "cortex.yaml", {
        env: { K: secret },
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain("apis[0].networking.api_keys[0]: must be visible ASCII characters without spaces");
    expect((error as Error).message).not.toContain("space-0123");
  });

  it("secrets scan: no key, in any form, in any answer, header, metric, the OpenAPI document or a log line", async () => {
    seen.push(await (await fetch(`${t.url}/metrics`)).text());
    const forms = (key: string): string[] => [key, Buffer.from(`${key}:`).toString("base64"), Buffer.from(key).toString("base64"), key.slice(6)];
    const haystacks = [...seen, ...t.logLines];
    expect(seen.length).toBeGreaterThan(40);
    for (const key of [KEY_A, KEY_B, WRONG]) {
      for (const form of forms(key)) {
        for (const text of haystacks) expect(text.includes(form), `found a form of a key in: ${text.slice(0, 200)}`).toBe(false);
      }
    }
  });
});
