import type { ApiConfig } from "../config/api-config.js";
import { launchSyncRequestSchema, launchTaskRequestSchema } from "../http/launch-routes.js";
import {
  launchModelEndpointSchema,
  launchModelEndpointsSchema,
  launchStatusViewSchema,
  launchSyncAnswerSchema,
  launchTaskCreatedSchema,
} from "../http/view-schemas.js";
import { ERROR_RESPONSES, errorResponse } from "./error-responses.js";
import type { ParameterObject, PathItemObject } from "./openapi-types.js";
import { reportCallbacks } from "./report-callback.js";
import { idempotencyKeyHeader } from "./request-parameters.js";

/** Tag of the Launch-surface operations. */
export const LAUNCH_TAG = "launch";

/** `model_endpoint_id` and `model_endpoint_name`: either names the endpoint (its id is its name). */
function endpointParameters(names: string[]): ParameterObject[] {
  return [
    {
      name: "model_endpoint_id",
      in: "query",
      required: false,
      description: "The endpoint, as the official Launch client names it (the id from GET /v1/model-endpoints, which is the API's name). Give this or model_endpoint_name.",
      schema: { type: "string", enum: names },
      example: names[0],
    },
    {
      name: "model_endpoint_name",
      in: "query",
      required: false,
      description: "The endpoint by name. Give this or model_endpoint_id (both: they must agree).",
      schema: { type: "string", enum: names },
    },
  ];
}

/** The model-endpoint listing the Launch client reads before every request, and sync tasks for RealtimeAPIs. */
function endpointPaths(apis: readonly ApiConfig[]): Record<string, PathItemObject> {
  const paths: Record<string, PathItemObject> = {
    "/v1/model-endpoints": {
      get: {
        operationId: "launch_list_model_endpoints",
        summary: "List the model endpoints (Launch wire form)",
        description:
          "Every API as a Launch model endpoint (AsyncAPI: async, RealtimeAPI: sync), or only the one called `name`: the Launch client looks an endpoint up here before each request. An API with networking.api_keys is listed only to a request carrying one of its keys.",
        tags: [LAUNCH_TAG],
        parameters: [{ name: "name", in: "query", required: false, description: "Only the endpoint with this name (an empty list when none).", schema: { type: "string" } }],
        responses: {
          "200": { description: "The endpoints.", content: { "application/json": { schema: launchModelEndpointsSchema } } },
          "400": ERROR_RESPONSES.badQuery,
        },
      },
    },
    "/v1/model-endpoints/{model_endpoint_id}": {
      get: {
        operationId: "launch_get_model_endpoint",
        summary: "Show one model endpoint (Launch wire form)",
        tags: [LAUNCH_TAG],
        parameters: [{ name: "model_endpoint_id", in: "path", required: true, description: "The endpoint's id (its name).", schema: { type: "string" } }],
        responses: {
          "200": { description: "The endpoint.", content: { "application/json": { schema: launchModelEndpointSchema } } },
          "400": ERROR_RESPONSES.badQuery,
          "404": errorResponse("No such endpoint."),
        },
      },
    },
  };
  const syncNames = apis.filter((api) => api.kind === "RealtimeAPI").map((api) => api.name);
  if (syncNames.length > 0) {
    paths["/v1/sync-tasks"] = {
      post: {
        operationId: "launch_sync_task",
        summary: "Run a sync endpoint now (Launch wire form)",
        description:
          "Runs predict() on `args` for a RealtimeAPI and answers with its result, wrapped as the Launch client reads it. A failed predict() is `200` with `status: FAILURE` and its traceback, as Launch answers.",
        tags: [LAUNCH_TAG],
        parameters: [...endpointParameters(syncNames), { ...idempotencyKeyHeader, description: "Passed to predict() as its requestId." }],
        requestBody: {
          required: true,
          content: { "application/json": { schema: launchSyncRequestSchema, example: { return_pickled: false, args: { x: 2, y: "hello" } } } },
        },
        responses: {
          "200": { description: "SUCCESS with the result, or FAILURE with the traceback.", content: { "application/json": { schema: launchSyncAnswerSchema } } },
          "400": errorResponse("No endpoint named, the endpoint is async, the body is invalid, or it carries callback_url/callback_auth (a sync task sends no report)."),
          "404": errorResponse("No such endpoint."),
          "413": ERROR_RESPONSES.tooLarge,
          "415": ERROR_RESPONSES.notJson,
          "503": errorResponse("The predictor's setup() has not finished, the API is at max_replica_concurrency, or the runtime is shutting down."),
        },
      },
    };
  }
  return paths;
}

/**
 * The Launch-surface paths (contract section 3): the model-endpoint listing, sync tasks for RealtimeAPIs, one submit
 * operation for every AsyncAPI, chosen by `model_endpoint_id` or `model_endpoint_name`, and one status operation.
 */
export function launchPaths(apis: readonly ApiConfig[]): Record<string, PathItemObject> {
  const asyncApis = apis.filter((api) => api.kind === "AsyncAPI");
  const [first] = asyncApis;
  if (first === undefined) return endpointPaths(apis);
  const callbacks = reportCallbacks({
    format: "launch",
    apis: asyncApis.filter((api) => api.webhook.callbackEnabled),
    operationId: "receive_launch_report",
  });
  const silent = asyncApis.filter((api) => !api.webhook.callbackEnabled).map((api) => api.name);
  return {
    ...endpointPaths(apis),
    "/v1/async-tasks": {
      post: {
        operationId: "launch_submit_task",
        summary: "Queue a task (Launch client wire form)",
        description:
          "What the Launch client sends: queues `args` as the payload of the endpoint named by `model_endpoint_id` (or `model_endpoint_name`) and answers with the task id." +
          (callbacks ? " When predict() finishes, the report (see Callbacks) is POSTed to `callback_url`, else to the endpoint's default receiver." : "") +
          (silent.length > 0 ? ` Endpoints that send no report (post_inference_hooks does not list callback): ${silent.join(", ")}.` : ""),
        tags: [LAUNCH_TAG],
        parameters: [...endpointParameters(asyncApis.map((api) => api.name)), idempotencyKeyHeader],
        requestBody: {
          required: true,
          description:
            "`args` is the payload passed to predict(). `callback_url` overrides the endpoint's default receiver; `callback_auth` (only with `callback_url`) authenticates to it: " +
            "`basic` sends `Authorization: Basic`, `mtls` presents the client certificate (PEM text) and trusts `ca` if given. " +
            "Launch's `url`, `cloudpickle` and `return_pickled` are accepted only as null/false; any other field is refused.",
          content: { "application/json": { schema: launchTaskRequestSchema, example: { args: { x: 2, y: "hello" }, callback_url: "https://example.com/hook" } } },
        },
        responses: {
          "200": { description: "Queued (or, for a repeated x-request-id, the first task).", content: { "application/json": { schema: launchTaskCreatedSchema } } },
          "400": errorResponse(
            "model_endpoint_id/model_endpoint_name is missing, disagrees or names a RealtimeAPI, the body is empty, not JSON or has an invalid or unknown field, callback_url or callback_auth is invalid, or x-request-id is invalid.",
          ),
          "404": errorResponse("No API is named model_endpoint_name."),
          "413": ERROR_RESPONSES.tooLarge,
          "415": ERROR_RESPONSES.notJson,
          "503": ERROR_RESPONSES.queueFull,
        },
        ...(callbacks ? { callbacks } : {}),
      },
    },
    "/v1/async-tasks/{task_id}": {
      get: {
        operationId: "launch_get_task",
        summary: "Show a task (Launch wire form)",
        description: "Any task of any API, whichever surface it was submitted through.",
        tags: [LAUNCH_TAG],
        parameters: [{ name: "task_id", in: "path", required: true, schema: { type: "string" } }],
        responses: {
          "200": { description: "The task.", content: { "application/json": { schema: launchStatusViewSchema } } },
          "400": ERROR_RESPONSES.badQuery,
          "404": ERROR_RESPONSES.notFoundTask,
          "503": ERROR_RESPONSES.storeUnavailable,
        },
      },
    },
  };
}
