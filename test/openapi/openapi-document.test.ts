import { randomBytes } from "node:crypto";
import { join } from "node:path";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAjv2020 } from "../helpers/json-schema.js";
import { fetchOpenApi, reportCallbackSchema, type ServedOpenApi } from "../helpers/openapi.js";
import { startRecorder, type Recorder } from "../helpers/recorder.js";
import { FIXTURE_PREDICTORS, REPO_ROOT, startTestRuntime, type TestRuntime } from "../helpers/runtime-fixture.js";
import { waitUntil } from "../helpers/wait-until.js";

const echo = join(FIXTURE_PREDICTORS, "echo.ts");
const sum = join(REPO_ROOT, "predictors/sum.ts");
const signingSecret = `whsec_${randomBytes(32).toString("base64")}`;
const password = `pw-${randomBytes(8).toString("hex")}`;
const hookToken = `tok${randomBytes(8).toString("hex")}`;

const CORTEX_EXPRESSION = "{$request.query.callback_url}";
const LAUNCH_EXPRESSION = "{$request.body#/callback_url}";

describe("GET /openapi.json", () => {
  let receiver: Recorder;
  let t: TestRuntime;
  let served: ServedOpenApi;

  beforeAll(async () => {
    receiver = await startRecorder();
    t = await startTestRuntime({
      env: { ...process.env, TEST_SIGNING_SECRET: signingSecret, TEST_PASSWORD: password },
      yaml: `
- name: sum
  kind: AsyncAPI
  predictor: { type: typescript, path: ${sum} }
  webhook:
    post_inference_hooks: [callback]
    default_callback_url: ${receiver.url}/hooks/${hookToken}?token=${hookToken}
    default_callback_auth: { kind: basic, username: runtime, password: "\${TEST_PASSWORD}" }
    signing_secret: \${TEST_SIGNING_SECRET}
    allow_networks: [127.0.0.0/8]
- name: echo-unsigned
  kind: AsyncAPI
  predictor: { type: typescript, path: ${echo} }
  webhook:
    post_inference_hooks: [callback]
    default_callback_url: ${receiver.url}/unsigned
    retry_schedule_s: [0, 0.2, 0.5, 1, 2]
    allow_networks: [127.0.0.0/8]
- name: quiet
  kind: AsyncAPI
  predictor: { type: typescript, path: ${echo} }
- name: sum-now
  kind: RealtimeAPI
  predictor: { type: typescript, path: ${sum}, predict_timeout_s: 5 }
`,
    });
    served = await fetchOpenApi(t.url);
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  it("is a valid OpenAPI 3.1 document (checked by @seriousme/openapi-schema-validator)", () => {
    expect(served.validation.errors).toBeUndefined();
    expect(served.validation.valid).toBe(true);
    expect(served.validation.version).toBe("3.1");
    expect(served.document.openapi).toMatch(/^3\.1\./);
  });

  it("describes every API on the Cortex surface: POST, GET, DELETE and redelivery for an AsyncAPI, POST for a RealtimeAPI", () => {
    const paths = served.document.paths as Record<string, Record<string, any>>;
    for (const name of ["sum", "echo-unsigned", "quiet"]) {
      expect(Object.keys(paths[`/${name}`] ?? {}), name).toEqual(["post"]);
      expect(Object.keys(paths[`/${name}/{id}`] ?? {}), name).toEqual(["get", "delete"]);
      expect(Object.keys(paths[`/${name}/{id}/redeliver`] ?? {}), name).toEqual(["post"]);
      expect(Object.keys(paths[`/${name}/redeliver-failed`] ?? {}), name).toEqual(["post"]);
    }
    expect(paths["/sum/{id}"]!.delete.responses["409"].content["application/json"].schema).toEqual({ $ref: "#/components/schemas/Conflict" });
    expect(Object.keys(paths["/sum-now"] ?? {})).toEqual(["post"]);
    expect(paths["/sum-now/{id}"]).toBeUndefined();
    expect(Object.keys(paths["/sum"]!.post.responses)).toEqual(expect.arrayContaining(["202", "400", "413", "415", "503"]));
    expect(paths["/sum"]!.post.responses["202"].content["application/json"].schema).toEqual({ $ref: "#/components/schemas/CortexTaskCreated" });
    expect(paths["/sum/{id}"]!.get.responses["200"].content["application/json"].schema).toEqual({ $ref: "#/components/schemas/CortexTaskStatus" });
    expect(Object.keys(paths["/sum-now"]!.post.responses)).toEqual(expect.arrayContaining(["200", "400", "413", "415", "500", "503", "504"]));
  });

  it("describes the Launch surface with model_endpoint_id and model_endpoint_name as the enum of the AsyncAPIs", () => {
    const submit = served.document.paths["/v1/async-tasks"].post;
    for (const name of ["model_endpoint_id", "model_endpoint_name"]) {
      const endpoint = submit.parameters.find((p: any) => p.name === name);
      expect(endpoint).toMatchObject({ in: "query", required: false });
      expect(endpoint.schema.enum).toEqual(["sum", "echo-unsigned", "quiet"]);
    }
    expect(served.document.paths["/v1/model-endpoints"].get.responses["200"].content["application/json"].schema).toEqual({
      $ref: "#/components/schemas/LaunchModelEndpoints",
    });
    expect(served.document.paths["/v1/sync-tasks"].post.parameters[0].schema.enum).toEqual(["sum-now"]);
    expect(submit.requestBody.content["application/json"].schema).toEqual({ $ref: "#/components/schemas/LaunchTaskRequest" });
    expect(Object.keys(submit.responses)).toEqual(expect.arrayContaining(["200", "400", "404", "413", "415", "503"]));
    expect(served.document.paths["/v1/async-tasks/{task_id}"].get.responses["200"].content["application/json"].schema).toEqual({
      $ref: "#/components/schemas/LaunchTaskStatus",
    });
  });

  it("answers every error with the {error: string} schema (a 409 adds the task's id and status)", () => {
    let errors = 0;
    for (const [path, item] of Object.entries(served.document.paths as Record<string, Record<string, any>>)) {
      for (const [method, operation] of Object.entries(item)) {
        for (const [status, response] of Object.entries(operation.responses as Record<string, any>)) {
          // The probes answer 503 in their own shape (which carries an error string too).
          if (Number(status) < 400 || path === "/readyz" || path === "/healthz") continue;
          errors++;
          const schema = status === "409" ? "Conflict" : "Error";
          expect(response.content?.["application/json"]?.schema, `${method} ${path} ${status}`).toEqual({ $ref: `#/components/schemas/${schema}` });
        }
      }
    }
    expect(errors).toBeGreaterThan(20);
    expect(served.resolved.components.schemas.Error).toMatchObject({ required: ["error"], properties: { error: { type: "string" } } });
    expect(served.resolved.components.schemas.Conflict).toMatchObject({ required: ["error", "id", "status"], properties: { error: { type: "string" } } });
  });

  it("describes the ops routes", () => {
    for (const path of ["/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"]) {
      expect(served.document.paths[path]?.get, path).toBeDefined();
    }
  });

  it("puts a report callback keyed by the callback_url runtime expression on each async operation that sends reports", () => {
    const paths = served.document.paths;
    expect(Object.keys(paths["/sum"].post.callbacks.report)).toEqual([CORTEX_EXPRESSION]);
    expect(Object.keys(paths["/echo-unsigned"].post.callbacks.report)).toEqual([CORTEX_EXPRESSION]);
    expect(Object.keys(paths["/v1/async-tasks"].post.callbacks.report)).toEqual([LAUNCH_EXPRESSION]);
    expect(paths["/sum"].post.callbacks.report[CORTEX_EXPRESSION].post.requestBody.content["application/json"].schema).toEqual({
      $ref: "#/components/schemas/CortexReport",
    });
    expect(paths["/v1/async-tasks"].post.callbacks.report[LAUNCH_EXPRESSION].post.requestBody.content["application/json"].schema).toEqual({
      $ref: "#/components/schemas/LaunchReport",
    });
    // No report is ever sent without `callback` in post_inference_hooks, so no callback is described; the operation says so.
    expect(paths["/quiet"].post.callbacks).toBeUndefined();
    expect(paths["/quiet"].post.description).toContain("sends no webhook report");
    expect(paths["/v1/async-tasks"].post.description).toContain("quiet");
    // A RealtimeAPI answers with the result and sends nothing.
    expect(paths["/sum-now"].post.callbacks).toBeUndefined();
  });

  it("documents the report headers, with webhook-signature exactly where a signing secret is configured", () => {
    const headersOf = (path: string, expression: string) =>
      Object.fromEntries(
        (served.document.paths[path].post.callbacks.report[expression].post.parameters as any[]).map((p) => {
          expect(p.in).toBe("header");
          return [p.name, p.required];
        }),
      );
    expect(headersOf("/sum", CORTEX_EXPRESSION)).toEqual({
      "webhook-id": true,
      "webhook-timestamp": true,
      "webhook-signature": true,
      "x-request-id": true,
      "user-agent": true,
    });
    expect(headersOf("/echo-unsigned", CORTEX_EXPRESSION)).not.toHaveProperty("webhook-signature");
    // One Launch operation serves both APIs: the header is optional there, and the description names the one that signs.
    expect(headersOf("/v1/async-tasks", LAUNCH_EXPRESSION)["webhook-signature"]).toBe(false);
    const launchSignature = served.document.paths["/v1/async-tasks"].post.callbacks.report[LAUNCH_EXPRESSION].post.parameters.find(
      (p: any) => p.name === "webhook-signature",
    );
    expect(launchSignature.description).toContain("sum");
    expect(launchSignature.description).not.toContain("echo-unsigned");
  });

  it("says that a report without callback_url goes to the default receiver, without publishing its URL or any secret", () => {
    const text = JSON.stringify(served.document);
    expect(served.document.paths["/sum"].post.callbacks.report[CORTEX_EXPRESSION].post.description).toContain("default_callback_url");
    for (const secret of [hookToken, password, signingSecret, signingSecret.slice("whsec_".length), receiver.url]) {
      expect(text).not.toContain(secret);
    }
  });

  it("has examples in the callbacks that validate against the report schema (they are built by buildReport)", () => {
    const ajv = createAjv2020();
    for (const [path, expression] of [
      ["/sum", CORTEX_EXPRESSION],
      ["/v1/async-tasks", LAUNCH_EXPRESSION],
    ] as const) {
      const validate = ajv.compile(reportCallbackSchema(served.resolved, path, expression));
      const examples = served.document.paths[path].post.callbacks.report[expression].post.requestBody.content["application/json"].examples;
      expect(Object.keys(examples)).toEqual(["completed", "failed"]);
      for (const example of Object.values(examples) as any[]) expect(validate(example.value), JSON.stringify(validate.errors)).toBe(true);
    }
  });

  describe("reports the runtime actually sent validate against the callback schema taken from the served document", () => {
    const ajv = createAjv2020();

    it("Cortex surface: completed and failed reports", async () => {
      const validate = ajv.compile(reportCallbackSchema(served.resolved, "/sum", CORTEX_EXPRESSION));
      const completed = await request(t.url).post("/sum").set("content-type", "application/json").send('{"x": 2, "y": "hello"}').expect(202);
      const failed = await request(t.url).post("/sum").set("content-type", "application/json").send('{"x": "not a number"}').expect(202);
      const ids = [completed.body.id as string, failed.body.id as string];
      const reports = await waitUntil("both Cortex reports arrived", () => {
        const found = ids.map((id) => receiver.requests.find((r) => (r.json as any)?.id === id));
        return found.every(Boolean) && found.map((r) => r!);
      });
      expect(reports.map((r) => (r.json as any).status)).toEqual(["completed", "failed"]);
      for (const report of reports) {
        expect(validate(report.json), JSON.stringify(validate.errors)).toBe(true);
        // And the documented headers are there, in the documented form.
        expect(report.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+={0,2}$/);
        expect(report.headers["webhook-id"]).toMatch(/^msg_./);
        expect(report.headers["user-agent"]).toMatch(/^predictor-runtime\//);
      }
    });

    it("Launch surface: SUCCESS and FAILURE reports, to the body's callback_url", async () => {
      const validate = ajv.compile(reportCallbackSchema(served.resolved, "/v1/async-tasks", LAUNCH_EXPRESSION));
      const submit = (args: unknown) =>
        request(t.url)
          .post("/v1/async-tasks")
          .query({ model_endpoint_name: "echo-unsigned" })
          .set("content-type", "application/json")
          .send(JSON.stringify({ args, callback_url: `${receiver.url}/launch` }))
          .expect(200);
      const ids = [(await submit({ a: 1 })).body.task_id as string, (await submit({ fail: "boom" })).body.task_id as string];
      const reports = await waitUntil("both Launch reports arrived", () => {
        const found = ids.map((id) => receiver.requests.find((r) => (r.json as any)?.task_id === id));
        return found.every(Boolean) && found.map((r) => r!);
      });
      expect(reports.map((r) => (r.json as any).status)).toEqual(["SUCCESS", "FAILURE"]);
      for (const report of reports) {
        expect(report.path).toBe("/launch");
        expect(validate(report.json), JSON.stringify(validate.errors)).toBe(true);
      }
      // The schema is not vacuous: a Cortex body does not pass as a Launch one.
      expect(validate({ id: ids[0], status: "completed", result: 1, timestamp: new Date().toISOString() })).toBe(false);
    });

    it("status and error answers validate against their response schemas too", async () => {
      const schemaOf = (path: string, method: string, status: string) =>
        ajv.compile(served.resolved.paths[path][method].responses[status].content["application/json"].schema);
      const { id } = (await request(t.url).post("/echo-unsigned").set("content-type", "application/json").send('{"a": 1}').expect(202)).body;
      const cortexStatus = await waitUntil("the task's webhook settled", async () => {
        const body = (await request(t.url).get(`/echo-unsigned/${id}`)).body;
        return body.webhook?.status === "delivered" && body;
      });
      const launchStatus = (await request(t.url).get(`/v1/async-tasks/${id}`).expect(200)).body;
      const notFound = (await request(t.url).get("/sum/no-such-task").expect(404)).body;
      const notJson = (await request(t.url).post("/sum").set("content-type", "text/plain").send("x").expect(415)).body;
      const cases: Array<[ReturnType<typeof schemaOf>, unknown]> = [
        [schemaOf("/echo-unsigned/{id}", "get", "200"), cortexStatus],
        [schemaOf("/v1/async-tasks/{task_id}", "get", "200"), launchStatus],
        [schemaOf("/sum/{id}", "get", "404"), notFound],
        [schemaOf("/sum", "post", "415"), notJson],
        [schemaOf("/healthz", "get", "200"), (await request(t.url).get("/healthz")).body],
        [schemaOf("/readyz", "get", "200"), (await request(t.url).get("/readyz")).body],
        [schemaOf("/sum-now", "post", "200"), (await request(t.url).post("/sum-now").set("content-type", "application/json").send('{"x": 1, "y": "ab"}')).body],
      ];
      for (const [validate, body] of cases) expect(validate(body), `${JSON.stringify(body)}: ${JSON.stringify(validate.errors)}`).toBe(true);
    });

    it("the answers of cancel, redelivery, the Launch endpoint listing, sync tasks and the Modelbit surface validate too", async () => {
      const schemaOf = (path: string, method: string, status: string) =>
        ajv.compile(served.resolved.paths[path][method].responses[status].content["application/json"].schema);
      const post = (path: string, body: string) => request(t.url).post(path).set("content-type", "application/json").send(body);
      const { id } = (await post("/echo-unsigned", '{"wait": 1}').expect(202)).body;
      await waitUntil("the task's webhook settled", async () => (await request(t.url).get(`/echo-unsigned/${id}`)).body.webhook?.status === "delivered");
      const cases: Array<[ReturnType<typeof schemaOf>, unknown]> = [
        [schemaOf("/echo-unsigned/{id}", "delete", "409"), (await request(t.url).delete(`/echo-unsigned/${id}`).expect(409)).body],
        [schemaOf("/echo-unsigned/{id}/redeliver", "post", "202"), (await request(t.url).post(`/echo-unsigned/${id}/redeliver`).expect(202)).body],
        [schemaOf("/echo-unsigned/redeliver-failed", "post", "200"), (await request(t.url).post("/echo-unsigned/redeliver-failed?since=1h").expect(200)).body],
        [schemaOf("/v1/model-endpoints", "get", "200"), (await request(t.url).get("/v1/model-endpoints").expect(200)).body],
        [schemaOf("/v1/model-endpoints/{model_endpoint_id}", "get", "200"), (await request(t.url).get("/v1/model-endpoints/sum").expect(200)).body],
        [schemaOf("/v1/sync-tasks", "post", "200"), (await post("/v1/sync-tasks?model_endpoint_id=sum-now", '{"args": {"x": 1, "y": "ab"}}').expect(200)).body],
        [schemaOf("/v1/sync-tasks", "post", "200"), (await post("/v1/sync-tasks?model_endpoint_id=sum-now", '{"args": {}}').expect(200)).body],
        [schemaOf("/v1/sum-now/{version}", "post", "200"), (await post("/v1/sum-now/latest", '{"data": {"x": 1, "y": "ab"}}').expect(200)).body],
        [schemaOf("/v1/sum-now/{version}", "post", "200"), (await post("/v1/sum-now/latest", '{"data": [[1, {"x": 1, "y": ""}]]}').expect(200)).body],
        [schemaOf("/v1/sum-now/{version}", "post", "200"), (await post("/v1/sum-now/latest", '{"data": {}}').expect(200)).body],
      ];
      const running = (await post("/echo-unsigned", '{"delay_ms": 2000}').expect(202)).body.id as string;
      cases.push([schemaOf("/echo-unsigned/{id}", "delete", "200"), (await request(t.url).delete(`/echo-unsigned/${running}`).expect(200)).body]);
      for (const [validate, body] of cases) expect(validate(body), `${JSON.stringify(body)}: ${JSON.stringify(validate.errors)}`).toBe(true);
    });
  });
});
