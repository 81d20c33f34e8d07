/**
 * Requests generated from the served /openapi.json (issue 12's fuzz acceptance). For every operation, fast-check
 * builds requests from the document itself: valid ones (parameters and bodies sampled from their schemas) and
 * invalid ones (unknown parameters, garbage and deep bodies, wrong content types, odd ids). Every answer must be
 * a status the operation documents, never a 5xx, with a body matching the schema documented for that status; and
 * no schema-valid request may be refused.
 *
 * Values whose validity a schema cannot state are left out of the "valid" requests: callback_url and Modelbit's
 * response_webhook (the network policy decides; with it response_webhook_ignore_timeout), Modelbit's ?batch= (it
 * constrains the body's shape) and an mTLS callback_auth (the PEM must parse); a basic callback_auth is sampled from its schema
 * and goes with the report to the API's default_callback_url. All are still sent in the invalid ones.
 * FUZZ_RUNS sets the number of runs per property (default 300: a few thousand requests in all, about 10 s).
 */
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import fc from "fast-check";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchOpenApi } from "../helpers/openapi.js";
import { api, FIXTURE_PREDICTORS, startTestRuntime, type TestRuntime } from "../helpers/runtime-fixture.js";

const addFormats = addFormatsModule.default;
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const identity = join(FIXTURE_PREDICTORS, "identity.ts");

type Schema = Record<string, any>;
interface Operation {
  method: string;
  path: string;
  operation: Schema;
}
interface GeneratedRequest {
  method: string;
  /** Path with its parameters filled in, and the query string. */
  url: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  /** Built from the schemas alone: the runtime must accept it. */
  valid: boolean;
}

let t: TestRuntime;
let receiver: Server;
let operations: Operation[];
const knownIds: string[] = [];
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
const validators = new Map<Schema, ValidateFunction>();
let requestsSent = 0;
/** `POST /v1/async-tasks valid 200` -> count: shows what the run covered. */
const tally = new Map<string, number>();

beforeAll(async () => {
  receiver = createServer((req, res) => {
    req.resume();
    req.on("end", () => res.writeHead(200).end());
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  t = await startTestRuntime({
    yaml:
      api(
        `name: queue\nkind: AsyncAPI\npredictor: { type: typescript, path: ${identity} }\nautoscaling: { max_replica_concurrency: 100000 }\n` +
          `webhook: { post_inference_hooks: [callback], default_callback_url: "${hook}", allow_networks: [127.0.0.0/8] }`,
      ) +
      api(`name: now\nkind: RealtimeAPI\npredictor: { type: typescript, path: ${identity}, threads_per_process: 4 }\nautoscaling: { max_replica_concurrency: 100000 }`),
  });
  const { resolved, validation } = await fetchOpenApi(t.url);
  expect(validation.valid).toBe(true);
  operations = Object.entries(resolved.paths as Record<string, Schema>).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([, operation]) => typeof operation === "object" && operation !== null && "responses" in operation)
      .map(([method, operation]) => ({ method: method.toUpperCase(), path, operation: operation as Schema })),
  );
  // Ids of tasks that exist, so status reads hit the 200 path too.
  for (let index = 0; index < 5; index++) {
    const answer = await request(`${t.url}/queue`, { method: "POST", headers: { "content-type": "application/json" }, body: `{"n":${index}}` });
    knownIds.push(((await answer.body.json()) as { id: string }).id);
  }
}, 60_000);

afterAll(async () => {
  await t?.close(0);
  await new Promise((resolve) => receiver?.close(resolve));
});

/** A fast-check arbitrary of values valid against a (resolved) JSON Schema, for the keywords the document uses. */
function valueOf(schema: Schema, depth = 0): fc.Arbitrary<unknown> {
  if ("const" in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  const choices = (schema.oneOf ?? schema.anyOf) as Schema[] | undefined;
  if (choices !== undefined) return fc.oneof(...choices.map((choice) => valueOf(choice, depth)));
  const type = schema.type as string | string[] | undefined;
  if (Array.isArray(type)) return fc.oneof(...type.map((one) => valueOf({ ...schema, type: one }, depth)));
  switch (type) {
    case undefined:
      // "Any JSON value": bounded, so generated payloads stay within the 256-level limit the runtime documents.
      return fc.jsonValue({ maxDepth: depth > 2 ? 1 : 4 });
    case "null":
      return fc.constant(null);
    case "boolean":
      return fc.boolean();
    case "integer":
      return fc.integer({ min: schema.minimum ?? -1e9, max: schema.maximum ?? 1e9 });
    case "number":
      return fc.double({ min: schema.minimum ?? -1e9, max: schema.maximum ?? 1e9, noNaN: true, noDefaultInfinity: true });
    case "string": {
      const length = { minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 40, 40) };
      if (schema.format === "date-time") {
        return fc.date({ min: new Date("1970-01-01T00:00:00Z"), max: new Date("9999-12-31T23:59:59Z"), noInvalidDate: true }).map((date) => date.toISOString());
      }
      if (typeof schema.pattern === "string") {
        return fc.stringMatching(new RegExp(schema.pattern)).filter((text) => text.length >= length.minLength && text.length <= (schema.maxLength ?? Infinity));
      }
      return fc.string(length);
    }
    case "array":
      return fc.array(valueOf(schema.items ?? {}, depth + 1), { maxLength: 4 });
    case "object": {
      const properties = (schema.properties ?? {}) as Record<string, Schema>;
      const required = new Set((schema.required ?? []) as string[]);
      const record = fc.record(
        Object.fromEntries(Object.entries(properties).map(([name, property]) => [name, valueOf(property, depth + 1)])),
        { requiredKeys: [...required] },
      );
      return record as fc.Arbitrary<unknown>;
    }
    default:
      throw new Error(`the fuzzer does not know JSON Schema type ${String(type)}`);
  }
}

/** Values a client might send by mistake, or on purpose. */
const junkText = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.constantFrom("", "%", "%E0%A4%A", "..", "../../etc/passwd", "null", "0", "-1", "a b", "[]", "{}", "\u0000", "x".repeat(300), "é"),
);
const deepJson = fc.integer({ min: 257, max: 3000 }).map((levels) => "[".repeat(levels) + "]".repeat(levels));
const junkBody = fc.oneof(
  junkText,
  deepJson,
  fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)),
  fc.constantFrom('{"args":', '{"args": 1, "args": 2}', '{"args": 1, "callback_auth": {"kind": "basic"}}', '{"args": 1, "url": "http://x"}', "\uFEFF{}"),
);

/** A generated request for `operation`, valid or not. */
function requestOf({ method, path, operation }: Operation): fc.Arbitrary<GeneratedRequest> {
  const parameters = (operation.parameters ?? []) as Schema[];
  const bodySchema = operation.requestBody?.content?.["application/json"]?.schema as Schema | undefined;
  // Webhook URLs are the network policy's to accept; ignore_timeout: true depends on one (the schema's if/then).
  // Modelbit's ?batch=true requires data to be [[ID, payload], ...], which the body's schema cannot see.
  // Launch's task routes need model_endpoint_id or model_endpoint_name (agreeing, if both), which OpenAPI
  // parameters cannot say: valid requests give the id, as the official client does.
  const semanticOnly = new Set(["callback_url", "response_webhook", "response_webhook_ignore_timeout", "batch", "model_endpoint_name"]);
  const requiredQuery = (p: Schema): boolean => p.required === true || (p.name === "model_endpoint_id" && p.in === "query");

  const valid = fc
    .record({
      pathValues: fc.array(fc.oneof(fc.constantFrom(...knownIds), fc.stringMatching(/^[\w-]{1,40}$/)), { minLength: 4, maxLength: 4 }),
      query: fc.record(
        Object.fromEntries(
          parameters.filter((p) => p.in === "query" && !semanticOnly.has(p.name)).map((p) => [p.name, valueOf(p.schema ?? {})]),
        ),
        { requiredKeys: parameters.filter((p) => p.in === "query" && requiredQuery(p) && !semanticOnly.has(p.name)).map((p) => p.name as string) as never[] },
      ),
      headers: fc.record(
        Object.fromEntries(parameters.filter((p) => p.in === "header").map((p) => [p.name, valueOf(p.schema ?? {})])),
        { requiredKeys: [] },
      ),
      body: bodySchema === undefined ? fc.constant(undefined) : valueOf(withoutSemanticOnly(bodySchema, semanticOnly)),
    })
    .map(({ pathValues, query, headers, body }): GeneratedRequest => {
      let index = 0;
      const filled = path.replace(/\{[^}]+\}/g, () => encodeURIComponent(pathValues[index++]!));
      const search = new URLSearchParams(Object.entries(query).map(([name, value]): [string, string] => [name, String(value)])).toString();
      const headerValues = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, String(value)]));
      // A repeated x-request-id returns the first task, which is right, but would make the generated ids collide.
      if (headerValues["x-request-id"] !== undefined) headerValues["x-request-id"] = `${headerValues["x-request-id"]}-${requestsSent}-${Math.random()}`.slice(-256);
      return {
        method,
        url: filled + (search === "" ? "" : `?${search}`),
        headers: bodySchema === undefined ? headerValues : { ...headerValues, "content-type": "application/json" },
        ...(bodySchema === undefined ? {} : { body: JSON.stringify(body) }),
        valid: true,
      };
    });

  const invalid = fc
    .record({
      // Not empty, "." or "..": those address another path (the URL parser folds them), not this operation.
      pathValue: junkText.filter((text) => text !== "" && text !== "." && text !== ".."),
      extraQuery: fc.option(fc.tuple(fc.oneof(fc.constantFrom("callback_url", "callback_url[]", "model_endpoint_name", "x"), fc.string({ maxLength: 8 })), junkText)),
      contentType: fc.constantFrom("application/json", "application/json; charset=latin1", "text/plain", "application/vnd.x+json", undefined),
      requestId: fc.option(junkText.filter((text) => /^[\x20-\x7e]*$/.test(text))),
      body: junkBody,
    })
    .map(({ pathValue, extraQuery, contentType, requestId, body }): GeneratedRequest => {
      const filled = path.replace(/\{[^}]+\}/g, () => (pathValue === "%E0%A4%A" ? pathValue : encodeURIComponent(pathValue)));
      const required = parameters.filter((p) => p.in === "query" && requiredQuery(p)).map((p) => `${p.name}=${String(p.schema?.enum?.[0] ?? "x")}`);
      const query = [...required, ...(extraQuery === null ? [] : [`${encodeURIComponent(extraQuery[0])}=${encodeURIComponent(extraQuery[1])}`])];
      const headers: Record<string, string> = {};
      if (contentType !== undefined && bodySchema !== undefined) headers["content-type"] = contentType;
      if (requestId !== null) headers["x-request-id"] = requestId;
      return { method, url: filled + (query.length === 0 ? "" : `?${query.join("&")}`), headers, ...(bodySchema === undefined ? {} : { body }), valid: false };
    });

  return fc.oneof(valid, invalid);
}

/** The schema without what its keywords cannot say is valid (see the file's comment): callback_url, mTLS auth. */
function withoutSemanticOnly(schema: Schema, names: ReadonlySet<string>): Schema {
  if (schema.type !== "object" || schema.properties === undefined) return schema;
  const properties = Object.fromEntries(Object.entries(schema.properties as Schema).filter(([name]) => !names.has(name)));
  const auth = properties.callback_auth as Schema | undefined;
  if (auth?.oneOf !== undefined) {
    properties.callback_auth = { oneOf: (auth.oneOf as Schema[]).filter((branch) => branch.properties?.kind?.const !== "mtls") };
  }
  return { ...schema, properties };
}

function validatorOf(schema: Schema): ValidateFunction {
  let validate = validators.get(schema);
  if (validate === undefined) validators.set(schema, (validate = ajv.compile(schema)));
  return validate;
}

/** Sends the request and checks its answer against the document; returns a description of what is wrong, if anything. */
async function problemWith(generated: GeneratedRequest, path: string, operation: Schema): Promise<string | undefined> {
  requestsSent++;
  const answer = await request(t.url + generated.url, {
    method: generated.method as "GET",
    headers: generated.headers,
    ...(generated.body === undefined ? {} : { body: generated.body }),
  });
  const text = await answer.body.text();
  const key = `${generated.method} ${path} ${generated.valid ? "valid" : "invalid"} ${answer.statusCode}`;
  tally.set(key, (tally.get(key) ?? 0) + 1);
  const where = `${generated.method} ${generated.url.slice(0, 120)} (${generated.valid ? "valid" : "invalid"}) -> ${answer.statusCode} ${text.slice(0, 200)}`;
  if (answer.statusCode >= 500) return `a 5xx: ${where}`;
  const documented = operation.responses[String(answer.statusCode)] as Schema | undefined;
  if (documented === undefined) return `an undocumented status (documented: ${Object.keys(operation.responses).join(", ")}): ${where}`;
  // A refusal is a complaint about the request itself; a 404 for a task id that does not exist is an answer.
  if (generated.valid && [400, 405, 413, 415, 422].includes(answer.statusCode)) return `a schema-valid request refused: ${where}`;
  const schema = documented.content?.["application/json"]?.schema as Schema | undefined;
  if (schema !== undefined) {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return `an answer that is not JSON: ${where}`;
    }
    const validate = validatorOf(schema);
    if (!validate(body)) return `an answer not matching its schema (${ajv.errorsText(validate.errors)}): ${where}`;
  }
  return undefined;
}

describe("requests generated from /openapi.json", () => {
  it("get only documented statuses, never a 5xx, with bodies matching their schemas; valid ones are accepted", async () => {
    const json = (operations.filter((op) => op.path !== "/docs" && op.path !== "/metrics")).length;
    expect(json).toBeGreaterThanOrEqual(6);
    for (const operation of operations) {
      await fc.assert(
        fc.asyncProperty(requestOf(operation), async (generated) => {
          const problem = await problemWith(generated, operation.path, operation.operation);
          if (problem !== undefined) throw new Error(problem);
        }),
        { numRuns: RUNS },
      );
    }
    expect(requestsSent).toBeGreaterThanOrEqual(RUNS * operations.length);
    console.log(`openapi fuzz: ${requestsSent} requests over ${operations.length} operations\n${[...tally].sort().map(([key, count]) => `  ${key}: ${count}`).join("\n")}`);
    // Both kinds reached the success path and the refusal path of the submit routes.
    expect([...tally.keys()].some((key) => key.startsWith("POST /v1/async-tasks valid 200"))).toBe(true);
    expect([...tally.keys()].some((key) => key.startsWith("POST /queue valid 202"))).toBe(true);
    expect([...tally.keys()].some((key) => key.startsWith("GET /queue/{id} valid 200"))).toBe(true);
    expect([...tally.keys()].some((key) => key.startsWith("POST /now invalid 400"))).toBe(true);
  }, 180_000);
});
