import type { ApiConfig } from "../config/api-config.js";
import { MODELBIT_BATCH_ID_HEADER } from "../outbox/report.js";
import { modelbitDataSchema, modelbitErrorSchema } from "../outbox/report-schema.js";
import { operationName } from "./cortex-paths.js";
import { ERROR_RESPONSES, errorResponse } from "./error-responses.js";
import type { PathItemObject } from "./openapi-types.js";
import { reportCallbacks } from "./report-callback.js";
import { idempotencyKeyHeader } from "./request-parameters.js";

/** The body of a Modelbit request. */
export const modelbitRequestSchema = {
  title: "ModelbitRequest",
  type: "object",
  additionalProperties: false,
  required: ["data"],
  properties: {
    data: {
      description:
        "The payload; or a batch, [[ID, payload], ...], when it is a non-empty list of two-element lists starting with an integer ID (force either with ?batch=).",
    },
    response_webhook: {
      type: ["string", "null"],
      format: "uri",
      description: "Answer at once with {batchId}, and POST the answer here when the inference finishes (signed and retried as every report).",
    },
    response_webhook_ignore_timeout: { type: ["boolean", "null"], description: "A timed-out webhook attempt counts as delivered (true needs response_webhook)." },
  },
  if: { required: ["response_webhook_ignore_timeout"], properties: { response_webhook_ignore_timeout: { const: true } } },
  then: { required: ["response_webhook"], properties: { response_webhook: { type: "string" } } },
} as const;

/** `{"batchId"}`: the immediate answer of a request with response_webhook. */
export const modelbitBatchIdSchema = {
  title: "ModelbitBatchId",
  type: "object",
  additionalProperties: false,
  required: ["batchId"],
  properties: { batchId: { type: "string", minLength: 1, description: "Also the task id: GET /NAME/{batchId} shows it." } },
} as const;

/** The Modelbit-surface path of one API (contract section 3): `POST /v1/NAME/{version}`. */
export function modelbitPaths(api: ApiConfig): Record<string, PathItemObject> {
  const name = operationName(api.name);
  const callbacks = reportCallbacks({ format: "modelbit", apis: [api], operationId: `receive_${name}_modelbit_answer` });
  return {
    [`/v1/${api.name}/{version}`]: {
      post: {
        operationId: `modelbit_${name}`,
        summary: `Run ${api.name} (Modelbit wire form)`,
        description:
          (api.kind === "RealtimeAPI"
            ? "Runs predict() and answers with the result"
            : "Queues the payload as a task and answers with its result once it finished") +
          " (`{\"data\"}`, or `{\"error\"}` with 200 when predict() failed); a batch runs one predict() per item. With `response_webhook`, answers at once with `{\"batchId\"}` and POSTs the answer there (see Callbacks).",
        tags: [api.name],
        parameters: [
          { name: "version", in: "path", required: true, description: "Any version (`latest`, a number): the one configured predictor serves it.", schema: { type: "string" }, example: "latest" },
          {
            name: "batch",
            in: "query",
            required: false,
            description: "true: data is a batch of [ID, payload] pairs (string IDs too); false: data is one payload, whatever its shape. Default: told from data's shape.",
            schema: { enum: ["true", "false"] },
          },
          { ...idempotencyKeyHeader, description: "Idempotency key of a queued request (AsyncAPI, or any request with response_webhook), scoped to the API." },
        ],
        requestBody: {
          required: true,
          content: { "application/json": { schema: modelbitRequestSchema, example: { data: { x: 2, y: "hello" } } } },
        },
        responses: {
          "200": {
            description: "The answer, or (with response_webhook) the batch id.",
            headers: { [MODELBIT_BATCH_ID_HEADER]: { description: "With response_webhook: the batch id.", schema: { type: "string" } } },
            content: { "application/json": { schema: { oneOf: [modelbitDataSchema, modelbitErrorSchema, modelbitBatchIdSchema] } } },
          },
          "400": errorResponse("The body is not {data, response_webhook?, response_webhook_ignore_timeout?}, a forced batch is malformed, or response_webhook is invalid or refused."),
          "404": errorResponse("No API by that name, or no version segment (/v1/NAME/latest)."),
          "413": ERROR_RESPONSES.tooLarge,
          "415": ERROR_RESPONSES.notJson,
          "503": errorResponse("The API is at max_replica_concurrency, its setup() has not finished (sync, RealtimeAPI), or the runtime is shutting down."),
        },
        ...(callbacks ? { callbacks } : {}),
      },
    },
  };
}
