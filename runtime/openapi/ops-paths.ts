import type { PathItemObject } from "./openapi-types.js";

/** Tag of the runtime's own routes. */
export const OPERATIONS_TAG = "operations";

/** `GET /healthz` answer. */
export const healthSchema = {
  title: "Health",
  type: "object",
  additionalProperties: false,
  required: ["status"],
  properties: {
    status: { enum: ["ok", "failed"] },
    error: { type: "string", description: "With failed: why the runtime can no longer work." },
  },
} as const;

/** `GET /readyz` answer. */
export const readinessSchema = {
  title: "Readiness",
  type: "object",
  additionalProperties: false,
  required: ["ready"],
  properties: {
    ready: { type: "boolean" },
    waiting_for_setup: { type: "array", items: { type: "string" }, description: "APIs whose predictor's setup() has not finished." },
    error: { type: "string", description: "Why the runtime can no longer work (its task store stopped)." },
  },
} as const;

/** The operations routes (contract section 3): health, readiness, metrics, this document and its page. */
export function opsPaths(): Record<string, PathItemObject> {
  const tags = [OPERATIONS_TAG];
  return {
    "/healthz": {
      get: {
        operationId: "healthz",
        summary: "Liveness",
        description: "200 while the process serves; 503 once it can no longer work (its task store stopped), so a liveness probe restarts it.",
        tags,
        responses: {
          "200": { description: "Serving.", content: { "application/json": { schema: healthSchema } } },
          "503": { description: "The runtime can no longer store tasks and must be restarted.", content: { "application/json": { schema: healthSchema } } },
        },
      },
    },
    "/readyz": {
      get: {
        operationId: "readyz",
        summary: "Readiness",
        description: "200 once every predictor's setup() finished. AsyncAPI submits are accepted (queued) before that; RealtimeAPI requests get 503.",
        tags,
        responses: {
          "200": { description: "Every API is ready.", content: { "application/json": { schema: readinessSchema } } },
          "503": {
            description: "Some setup() has not finished (the body names those APIs), or the runtime can no longer work (the body says why).",
            content: { "application/json": { schema: readinessSchema } },
          },
        },
      },
    },
    "/metrics": {
      get: {
        operationId: "metrics",
        summary: "Prometheus metrics",
        description: "Tasks, queue depth, predict durations and webhook attempts per API, plus process metrics, in the Prometheus text format.",
        tags,
        responses: { "200": { description: "The metrics.", content: { "text/plain; version=0.0.4": { schema: { type: "string" } } } } },
      },
    },
    "/openapi.json": {
      get: {
        operationId: "openapi",
        summary: "This document",
        description: "OpenAPI 3.1, generated from the loaded config.",
        tags,
        responses: { "200": { description: "The document.", content: { "application/json": { schema: { type: "object" } } } } },
      },
    },
    "/docs": {
      get: {
        operationId: "docs",
        summary: "This document as a page",
        description: "Swagger UI, served from the runtime's own files (no CDN).",
        tags,
        responses: { "200": { description: "The page.", content: { "text/html": { schema: { type: "string" } } } } },
      },
    },
  };
}
