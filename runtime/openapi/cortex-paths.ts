import type { ApiConfig } from "../config/api-config.js";
import { cortexStatusViewSchema, cortexTaskCreatedSchema } from "../http/view-schemas.js";
import { ERROR_RESPONSES, errorResponse } from "./error-responses.js";
import type { OperationObject, PathItemObject, ResponseObject } from "./openapi-types.js";
import { reportCallbacks } from "./report-callback.js";
import { idempotencyKeyHeader, payloadBody } from "./request-parameters.js";

/** An operationId part for an API: names are `[a-z0-9-]`, so mapping `-` to `_` keeps them unique. */
export function operationName(apiName: string): string {
  return apiName.replaceAll("-", "_");
}

/** The Cortex-surface paths of one API (contract section 3): `POST /NAME`, and `GET /NAME/{id}` for an AsyncAPI. */
export function cortexPaths(api: ApiConfig): Record<string, PathItemObject> {
  return api.kind === "AsyncAPI"
    ? { [`/${api.name}`]: { post: submitOperation(api) }, [`/${api.name}/{id}`]: { get: statusOperation(api) } }
    : { [`/${api.name}`]: { post: predictOperation(api) } };
}

function submitOperation(api: ApiConfig): OperationObject {
  const name = operationName(api.name);
  const callbacks = reportCallbacks({ format: "cortex", apis: api.webhook.callbackEnabled ? [api] : [], operationId: `receive_${name}_report` });
  return {
    operationId: `submit_${name}`,
    summary: `Queue a task for ${api.name}`,
    description: callbacks
      ? "Queues the payload and answers at once with the task id. When predict() finishes, the report (see Callbacks) is POSTed to `callback_url`, else to the API's default receiver; `GET /" +
        `${api.name}/{id}` +
        "` shows the task meanwhile."
      : `Queues the payload and answers at once with the task id. This API sends no webhook report (its webhook.post_inference_hooks does not list callback): poll \`GET /${api.name}/{id}\`.`,
    tags: [api.name],
    parameters: [
      {
        name: "callback_url",
        in: "query",
        required: false,
        description: callbacks
          ? "Where to POST this task's report instead of the API's default_callback_url. http or https, absolute, without credentials or #fragment; addresses in private or loopback ranges are refused unless the API's allow_networks lists them."
          : "Accepted, but no report is sent for this API (the task's webhook shows skipped, saying why).",
        schema: { type: "string", format: "uri" },
        example: "https://example.com/hook",
      },
      idempotencyKeyHeader,
    ],
    requestBody: payloadBody,
    responses: {
      "202": { description: "Queued (or, for a repeated x-request-id, the first task).", content: { "application/json": { schema: cortexTaskCreatedSchema } } },
      "400": ERROR_RESPONSES.badJson,
      "413": ERROR_RESPONSES.tooLarge,
      "415": ERROR_RESPONSES.notJson,
      "503": ERROR_RESPONSES.queueFull,
    },
    ...(callbacks ? { callbacks } : {}),
  };
}

function statusOperation(api: ApiConfig): OperationObject {
  return {
    operationId: `get_${operationName(api.name)}_task`,
    summary: `Show a task of ${api.name}`,
    description: "Its status and, once finished, its result or error and where its webhook report stands.",
    tags: [api.name],
    parameters: [{ name: "id", in: "path", required: true, description: "The id the submit answered with.", schema: { type: "string" } }],
    responses: {
      "200": { description: "The task.", content: { "application/json": { schema: cortexStatusViewSchema } } },
      "400": ERROR_RESPONSES.badQuery,
      "404": ERROR_RESPONSES.notFoundTask,
      "503": ERROR_RESPONSES.storeUnavailable,
    },
  };
}

function predictOperation(api: ApiConfig): OperationObject {
  const responses: Record<string, ResponseObject> = {
    "200": { description: "What predict() returned, as the JSON body.", content: { "application/json": { schema: { description: "Any JSON value." } } } },
    "400": ERROR_RESPONSES.badJson,
    "413": ERROR_RESPONSES.tooLarge,
    "415": ERROR_RESPONSES.notJson,
    "500": errorResponse("predict() threw; the error is its message."),
    "503": errorResponse("The predictor's setup() has not finished (see /readyz), the API is at max_replica_concurrency, or the runtime is shutting down."),
  };
  if (api.predictor.predictTimeoutMs !== undefined) {
    responses["504"] = errorResponse(`predict() did not finish within predict_timeout_s (${api.predictor.predictTimeoutMs / 1000} s).`);
  }
  return {
    operationId: `predict_${operationName(api.name)}`,
    summary: `Run ${api.name} now`,
    description: "Runs predict() on the payload and answers with its result. No task is stored and no webhook is sent.",
    tags: [api.name],
    parameters: [
      {
        name: "x-request-id",
        in: "header",
        required: false,
        description: "Passed to predict() as its requestId (a random id otherwise). No idempotency: a RealtimeAPI stores nothing.",
        schema: { type: "string" },
      },
    ],
    requestBody: payloadBody,
    responses,
  };
}
