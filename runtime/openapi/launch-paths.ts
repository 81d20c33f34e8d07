import type { ApiConfig } from "../config/api-config.js";
import { launchTaskRequestSchema } from "../http/launch-routes.js";
import { launchStatusViewSchema, launchTaskCreatedSchema } from "../http/view-schemas.js";
import { ERROR_RESPONSES, errorResponse } from "./error-responses.js";
import type { PathItemObject } from "./openapi-types.js";
import { reportCallbacks } from "./report-callback.js";
import { idempotencyKeyHeader } from "./request-parameters.js";

/** Tag of the Launch-surface operations. */
export const LAUNCH_TAG = "launch";

/**
 * The Launch-surface paths (contract section 3): one submit operation for every AsyncAPI, chosen by the
 * `model_endpoint_name` query parameter, and one status operation. Empty when no AsyncAPI is configured.
 */
export function launchPaths(apis: readonly ApiConfig[]): Record<string, PathItemObject> {
  const asyncApis = apis.filter((api) => api.kind === "AsyncAPI");
  const [first] = asyncApis;
  if (first === undefined) return {};
  const callbacks = reportCallbacks({
    format: "launch",
    apis: asyncApis.filter((api) => api.webhook.callbackEnabled),
    operationId: "receive_launch_report",
  });
  const silent = asyncApis.filter((api) => !api.webhook.callbackEnabled).map((api) => api.name);
  return {
    "/v1/async-tasks": {
      post: {
        operationId: "launch_submit_task",
        summary: "Queue a task (Launch client wire form)",
        description:
          "What the Launch client sends: queues `args` as the payload of the endpoint named by `model_endpoint_name` and answers with the task id." +
          (callbacks ? " When predict() finishes, the report (see Callbacks) is POSTed to `callback_url`, else to the endpoint's default receiver." : "") +
          (silent.length > 0 ? ` Endpoints that send no report (post_inference_hooks does not list callback): ${silent.join(", ")}.` : ""),
        tags: [LAUNCH_TAG],
        parameters: [
          {
            name: "model_endpoint_name",
            in: "query",
            required: true,
            description: "The AsyncAPI to run.",
            schema: { type: "string", enum: asyncApis.map((api) => api.name) },
            example: first.name,
          },
          idempotencyKeyHeader,
        ],
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
            "model_endpoint_name is missing or names a RealtimeAPI, the body is empty, not JSON or has an invalid or unknown field, callback_url or callback_auth is invalid, or x-request-id is invalid.",
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
