import type { ApiConfig } from "../config/api-config.js";
import {
  conflictBodySchema,
  cortexStatusViewSchema,
  cortexTaskCreatedSchema,
  redeliveredPageSchema,
  redeliveryScheduledSchema,
  taskCancelledSchema,
} from "../http/view-schemas.js";
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
    ? {
        [`/${api.name}`]: { post: submitOperation(api) },
        [`/${api.name}/{id}`]: { get: statusOperation(api), delete: cancelOperation(api) },
        [`/${api.name}/{id}/redeliver`]: { post: redeliverOperation(api) },
        [`/${api.name}/redeliver-failed`]: { post: redeliverFailedOperation(api) },
      }
    : { [`/${api.name}`]: { post: predictOperation(api) } };
}

const taskIdParameter = { name: "id", in: "path", required: true, description: "The id the submit answered with.", schema: { type: "string" } } as const;

function conflict(description: string): ResponseObject {
  return { description, content: { "application/json": { schema: conflictBodySchema } } };
}

function cancelOperation(api: ApiConfig): OperationObject {
  return {
    operationId: `cancel_${operationName(api.name)}_task`,
    summary: `Cancel a task of ${api.name}`,
    description:
      "A queued task never runs; a running one sees its predict() signal abort, and whatever it returns is dropped. The task ends `cancelled`" +
      (api.webhook.callbackEnabled ? ', and its report is `{"id", "status": "cancelled", "timestamp"}` (Launch: FAILURE with traceback "cancelled").' : "."),
    tags: [api.name],
    parameters: [taskIdParameter],
    responses: {
      "200": { description: "Cancelled.", content: { "application/json": { schema: taskCancelledSchema } } },
      "404": ERROR_RESPONSES.notFoundTask,
      "409": conflict("The task had already finished; `status` says how."),
    },
  };
}

function redeliverOperation(api: ApiConfig): OperationObject {
  return {
    operationId: `redeliver_${operationName(api.name)}_report`,
    summary: `Send a finished task's report of ${api.name} again`,
    description:
      "Sends the same body under the same `webhook-id` (receivers deduplicate on it), on a fresh attempt schedule starting now: after the receiver was fixed, or when it lost a report it had acknowledged.",
    tags: [api.name],
    parameters: [taskIdParameter],
    responses: {
      "202": { description: "Scheduled: the report is pending again.", content: { "application/json": { schema: redeliveryScheduledSchema } } },
      "404": ERROR_RESPONSES.notFoundTask,
      "409": conflict("A delivery of the report is still pending, the task has not finished, or it finished without a report (its API sends none)."),
    },
  };
}

function redeliverFailedOperation(api: ApiConfig): OperationObject {
  return {
    operationId: `redeliver_${operationName(api.name)}_failed_reports`,
    summary: `Send again every report of ${api.name} that finally failed`,
    description:
      "Redelivers (as `POST /" +
      `${api.name}` +
      "/{id}/redeliver`) the reports whose webhook is `failed`, of tasks finished since `since`, oldest first, up to `limit` per call; call again while `more` is true. `predictor-runtime redeliver --api NAME --since 2h` does the paging.",
    tags: [api.name],
    parameters: [
      {
        name: "since",
        in: "query",
        required: true,
        description: "Tasks finished since: a duration back from now (90s, 30m, 2h, 7d) or an ISO 8601 time.",
        schema: { anyOf: [{ type: "string", pattern: "^\\d+(\\.\\d+)?[smhd]$" }, { type: "string", format: "date-time" }] },
        example: "2h",
      },
      { name: "limit", in: "query", required: false, description: "Most reports per call.", schema: { type: "integer", minimum: 1, maximum: 1000, default: 100 } },
    ],
    responses: {
      "200": { description: "The reports scheduled again by this call.", content: { "application/json": { schema: redeliveredPageSchema } } },
      "400": errorResponse("since is missing or not a duration or ISO 8601 time, or limit is out of range."),
      "404": errorResponse("No such API."),
    },
  };
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
    parameters: [taskIdParameter],
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
