import { Validator } from "@seriousme/openapi-schema-validator";
import request from "supertest";

/** A document as served, and the same with every internal `$ref` replaced by what it points to. */
export interface ServedOpenApi {
  document: Record<string, any>;
  resolved: Record<string, any>;
  /** The validator's verdict against the official OpenAPI schema of the document's version. */
  validation: { valid: boolean; errors?: unknown; version: string };
}

/** Fetches `/openapi.json` from a runtime and validates it with an OpenAPI validator (not by eye). */
export async function fetchOpenApi(baseUrl: string): Promise<ServedOpenApi> {
  const response = await request(baseUrl).get("/openapi.json").expect(200).expect("content-type", /^application\/json/);
  const document = JSON.parse(response.text) as Record<string, any>;
  const validator = new Validator();
  const { valid, errors } = await validator.validate(structuredClone(document));
  // resolveRefs() rewrites in place: give it its own copy so `document` stays as served.
  const resolved = valid ? (validator.resolveRefs({ specification: structuredClone(document) }) as Record<string, any>) : {};
  return { document, resolved, validation: { valid, errors, version: validator.version } };
}

/** The request body schema of the `report` callback of an operation, as the served document describes it. */
export function reportCallbackSchema(resolved: Record<string, any>, path: string, expression: string): Record<string, unknown> {
  const callback = resolved.paths?.[path]?.post?.callbacks?.report?.[expression]?.post;
  if (callback === undefined) throw new Error(`no report callback keyed ${expression} on POST ${path}`);
  return callback.requestBody.content["application/json"].schema as Record<string, unknown>;
}
