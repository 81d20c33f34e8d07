import { Validator } from "@seriousme/openapi-schema-validator";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../runtime/config/load-config.js";
import { ComponentRefs } from "../../runtime/openapi/component-refs.js";
import { buildOpenApiDocument } from "../../runtime/openapi/openapi-document.js";
import { REPO_ROOT } from "../helpers/runtime-fixture.js";

const sum = join(REPO_ROOT, "predictors/sum.ts");
const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

function documentFor(yaml: string) {
  return buildOpenApiDocument(parseConfig(yaml, join(REPO_ROOT, "cortex.yaml"), { env: {} }).apis);
}

async function expectValid(document: unknown): Promise<void> {
  const validator = new Validator();
  const result = await validator.validate(structuredClone(document) as Record<string, unknown>);
  expect(result.errors).toBeUndefined();
  expect(validator.version).toBe("3.1");
}

describe("buildOpenApiDocument", () => {
  it("with only RealtimeAPIs: Launch's endpoint listing and sync tasks, no async-task paths (nothing to queue), and still a valid document", async () => {
    const document = documentFor(`- { name: now, kind: RealtimeAPI, predictor: { type: typescript, path: ${sum} } }\n`);
    await expectValid(document);
    expect(Object.keys(document.paths)).toEqual([
      "/now",
      "/v1/now/{version}",
      "/v1/model-endpoints",
      "/v1/model-endpoints/{model_endpoint_id}",
      "/v1/sync-tasks",
      "/healthz",
      "/readyz",
      "/metrics",
      "/openapi.json",
      "/docs",
    ]);
    expect(document.paths["/now"]!.post!.responses["504"]).toBeUndefined(); // no predict_timeout_s, so no 504
    expect(document.tags.map((tag) => tag.name)).toEqual(["now", "launch", "operations"]);
  });

  it("requires webhook-signature on the Launch callback when every endpoint signs, and describes each endpoint's delivery", async () => {
    const document = documentFor(`
- name: a-b
  kind: AsyncAPI
  predictor: { type: typescript, path: ${sum} }
  webhook: { post_inference_hooks: [callback], signing_secret: ${secret}, retry_schedule_s: [0, 60], timeout_s: 3, ignore_timeout: true }
- name: c
  kind: AsyncAPI
  predictor: { type: typescript, path: ${sum} }
  webhook: { post_inference_hooks: [callback], signing_secret: ${secret}, default_callback_url: "https://example.com/x" }
`);
    await expectValid(document);
    const callback = document.paths["/v1/async-tasks"]!.post!.callbacks!.report!["{$request.body#/callback_url}"]!.post!;
    expect(callback.parameters!.find((p) => p.name === "webhook-signature")!.required).toBe(true);
    expect(callback.description).toContain("`a-b`: no default receiver (a callback_url is needed); signed (`webhook-signature`); up to 2 attempts over about 60 s");
    expect(callback.description).toContain("3 s per attempt; a timed-out attempt counts as delivered (ignore_timeout)");
    expect(callback.description).toContain("`c`: a default receiver is configured");
    expect(callback.description).toContain("about 27.6 h");
    // Operation ids are unique across the document, callbacks included (OpenAPI requires it), and name the API.
    const ids = JSON.stringify(document).match(/"operationId":"[^"]+"/g) ?? [];
    expect(ids.length).toBeGreaterThan(10);
    expect(new Set(ids).size).toBe(ids.length);
    expect(document.paths["/a-b"]!.post!.operationId).toBe("submit_a_b");
    expect(document.paths["/a-b"]!.post!.callbacks!.report!["{$request.query.callback_url}"]!.post!.operationId).toBe("receive_a_b_report");
  });

  it("omits the Launch callback when no endpoint sends reports", async () => {
    const document = documentFor(`- { name: q, kind: AsyncAPI, predictor: { type: typescript, path: ${sum} } }\n`);
    await expectValid(document);
    expect(document.paths["/v1/async-tasks"]!.post!.callbacks).toBeUndefined();
    expect(document.paths["/q"]!.post!.callbacks).toBeUndefined();
  });
});

describe("ComponentRefs", () => {
  it("replaces named schemas by identity, inside other schemas and inside their own components", () => {
    const leaf = { type: "string" };
    const union = { oneOf: [leaf, { type: "number" }] };
    const refs = new ComponentRefs(new Map<object, string>([[leaf, "Leaf"], [union, "Union"]]));
    expect(refs.refer({ body: union, copy: { type: "string" } })).toEqual({ body: { $ref: "#/components/schemas/Union" }, copy: { type: "string" } });
    expect(refs.schemas()).toEqual({ Leaf: { type: "string" }, Union: { oneOf: [{ $ref: "#/components/schemas/Leaf" }, { type: "number" }] } });
  });

  it("refuses two schemas with one name", () => {
    expect(() => new ComponentRefs(new Map<object, string>([[{}, "A"], [{}, "A"]]))).toThrow("two schemas are both named A");
  });
});
