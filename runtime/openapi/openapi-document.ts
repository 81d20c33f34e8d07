import type { ApiConfig } from "../config/api-config.js";
import { launchSyncRequestSchema, launchTaskRequestSchema } from "../http/launch-routes.js";
import {
  cortexStatusViewSchema,
  conflictBodySchema,
  cortexTaskCreatedSchema,
  errorBodySchema,
  launchModelEndpointSchema,
  launchModelEndpointsSchema,
  launchStatusViewSchema,
  launchSyncAnswerSchema,
  launchTaskCreatedSchema,
  redeliveredPageSchema,
  redeliveryScheduledSchema,
  taskCancelledSchema,
  webhookViewSchema,
} from "../http/view-schemas.js";
import {
  cortexCompletedReportSchema,
  cortexFailedReportSchema,
  cortexCancelledReportSchema,
  cortexReportSchema,
  launchFailureReportSchema,
  launchReportSchema,
  launchSuccessReportSchema,
  modelbitDataSchema,
  modelbitErrorSchema,
  modelbitReportSchema,
} from "../outbox/report-schema.js";
import { VERSION } from "../version.js";
import { ComponentRefs } from "./component-refs.js";
import { cortexPaths } from "./cortex-paths.js";
import { ERROR_RESPONSES, errorResponse } from "./error-responses.js";
import { modelbitBatchIdSchema, modelbitPaths, modelbitRequestSchema } from "./modelbit-paths.js";
import { LAUNCH_TAG, launchPaths } from "./launch-paths.js";
import type { OpenApiDocument, OperationObject, PathItemObject, SecuritySchemeObject, TagObject } from "./openapi-types.js";
import { healthSchema, OPERATIONS_TAG, opsPaths, readinessSchema } from "./ops-paths.js";

/** The schemas the document names under `components.schemas`; each is written once, in the module listed. */
const NAMED_SCHEMAS = new Map<object, string>([
  // runtime/outbox/report-schema.ts: the webhook report bodies.
  [cortexReportSchema, "CortexReport"],
  [cortexCompletedReportSchema, "CortexCompletedReport"],
  [cortexFailedReportSchema, "CortexFailedReport"],
  [cortexCancelledReportSchema, "CortexCancelledReport"],
  [launchReportSchema, "LaunchReport"],
  [launchSuccessReportSchema, "LaunchSuccessReport"],
  [launchFailureReportSchema, "LaunchFailureReport"],
  [modelbitReportSchema, "ModelbitAnswer"],
  [modelbitDataSchema, "ModelbitData"],
  [modelbitErrorSchema, "ModelbitError"],
  [modelbitRequestSchema, "ModelbitRequest"],
  [modelbitBatchIdSchema, "ModelbitBatchId"],
  // runtime/http/view-schemas.ts and launch-routes.ts: what the HTTP surfaces take and answer.
  [launchTaskRequestSchema, "LaunchTaskRequest"],
  [launchSyncRequestSchema, "LaunchSyncTaskRequest"],
  [cortexTaskCreatedSchema, "CortexTaskCreated"],
  [launchTaskCreatedSchema, "LaunchTaskCreated"],
  [cortexStatusViewSchema, "CortexTaskStatus"],
  [launchStatusViewSchema, "LaunchTaskStatus"],
  [launchSyncAnswerSchema, "LaunchSyncTaskAnswer"],
  [launchModelEndpointSchema, "LaunchModelEndpoint"],
  [launchModelEndpointsSchema, "LaunchModelEndpoints"],
  [webhookViewSchema, "WebhookState"],
  [errorBodySchema, "Error"],
  [taskCancelledSchema, "TaskCancelled"],
  [redeliveryScheduledSchema, "RedeliveryScheduled"],
  [redeliveredPageSchema, "RedeliveredPage"],
  [conflictBodySchema, "Conflict"],
  // runtime/openapi/ops-paths.ts
  [healthSchema, "Health"],
  [readinessSchema, "Readiness"],
]);

const DESCRIPTION = `Serves the predictor classes listed in the runtime's config, on two surfaces:

- **Cortex**: \`POST /NAME\` queues a task (AsyncAPI, answers 202 with its id) or answers with the result (RealtimeAPI); \`GET /NAME/{id}\` shows a task, \`DELETE /NAME/{id}\` cancels it, \`POST /NAME/{id}/redeliver\` sends its report again.
- **Launch**: \`GET /v1/model-endpoints\`, \`POST /v1/async-tasks?model_endpoint_id=NAME\`, \`GET /v1/async-tasks/{task_id}\` and \`POST /v1/sync-tasks\`, the wire form of the official Launch client.

When an async task finishes, its report is POSTed to a webhook: each submit operation documents it under **Callbacks**, with the exact JSON Schema of the body and its headers (Standard Webhooks \`webhook-id\`, \`webhook-timestamp\`, \`webhook-signature\`). A task submitted on the Launch surface gets the Launch report body.

Every error is \`{"error": "..."}\` saying what is wrong and how to fix it.`;

/** Options of {@link buildOpenApiDocument}. */
export interface OpenApiDocumentOptions {
  /** @defaultValue the package version */
  version?: string;
}

/**
 * The OpenAPI 3.1 description of a runtime serving `apis`: both surfaces, every request and answer schema, the
 * error answers, the ops routes, and on each async operation a callback with the report's schema.
 */
/**
 * Every operation of an API surface (Cortex, Launch, Modelbit) refuses a query parameter it does not take, and one
 * with a path parameter a path that is not valid percent-encoding, with 400: said once here, so no operation
 * added later forgets it. The operations routes take no parameters and ignore a query.
 */
function documentRequestTargetRefusals(surfacePaths: Record<string, PathItemObject>): void {
  for (const item of Object.values(surfacePaths)) {
    for (const operation of [item.get, item.post, item.delete]) {
      if (operation !== undefined && operation.responses["400"] === undefined) {
        operation.responses = { ...operation.responses, "400": ERROR_RESPONSES.badQuery };
      }
    }
  }
}

export function buildOpenApiDocument(apis: readonly ApiConfig[], options: OpenApiDocumentOptions = {}): OpenApiDocument {
  const refs = new ComponentRefs(NAMED_SCHEMAS);
  const paths: Record<string, PathItemObject> = {};
  const tags: TagObject[] = [];
  for (const api of apis) {
    Object.assign(paths, cortexPaths(api));
    tags.push({ name: api.name, description: describeApi(api) });
  }
  for (const api of apis) Object.assign(paths, modelbitPaths(api));
  const launch = launchPaths(apis);
  if (Object.keys(launch).length > 0) {
    Object.assign(paths, launch);
    tags.push({ name: LAUNCH_TAG, description: "The Launch surface: the same APIs as model endpoints, in the wire form the official Launch client sends." });
  }
  secure(paths, apis);
  documentRequestTargetRefusals(paths);
  Object.assign(paths, opsPaths());
  tags.push({ name: OPERATIONS_TAG, description: "Health, readiness, metrics and this description." });
  return {
    openapi: "3.1.0",
    info: { title: "predictor-runtime", version: options.version ?? VERSION, description: DESCRIPTION, license: { name: "Apache-2.0", identifier: "Apache-2.0" } },
    tags,
    paths: refs.refer(paths),
    components: { schemas: refs.schemas(), securitySchemes: SECURITY_SCHEMES },
  };
}

/**
 * The three forms an API key is accepted in (contract section 3). Declared always; an operation names them in
 * `security` only when its API has networking.api_keys. The keys themselves never appear in this document.
 */
const SECURITY_SCHEMES: Record<string, SecuritySchemeObject> = {
  apiKeyBearer: { type: "http", scheme: "bearer", description: "`Authorization: Bearer KEY`, KEY one of the API's networking.api_keys." },
  apiKeyBasic: { type: "http", scheme: "basic", description: "`Authorization: Basic base64(KEY:)`: the key as the username and an empty password (the Launch client's form)." },
  apiKeyRaw: { type: "apiKey", in: "header", name: "Authorization", description: "`Authorization: KEY`, the key alone (Modelbit's form)." },
};
const KEY_ALTERNATIVES: Array<Record<string, string[]>> = [{ apiKeyBearer: [] }, { apiKeyBasic: [] }, { apiKeyRaw: [] }];
const UNAUTHORIZED = errorResponse("The API has networking.api_keys and the request carries none of them (see www-authenticate).");

/**
 * Marks the operations of APIs with keys: `security` lists the key forms and a 401 is documented. An operation is an
 * API's when it carries the API's tag; the shared Launch operations need a key only for some endpoints, so for them
 * a key is one alternative and none (`{}`) another.
 */
function secure(paths: Record<string, PathItemObject>, apis: readonly ApiConfig[]): void {
  const keyed = new Set(apis.filter((api) => (api.apiKeySha256 ?? []).length > 0).map((api) => api.name));
  if (keyed.size === 0) return;
  for (const item of Object.values(paths)) {
    for (const operation of [item.get, item.post, item.delete]) {
      if (operation === undefined) continue;
      const tag = operation.tags?.[0];
      if (tag === LAUNCH_TAG) {
        operation.security = [{}, ...KEY_ALTERNATIVES];
        if (operation.operationId !== "launch_list_model_endpoints") addUnauthorized(operation);
      } else if (tag !== undefined && keyed.has(tag)) {
        operation.security = KEY_ALTERNATIVES;
        addUnauthorized(operation);
      }
    }
  }
}

function addUnauthorized(operation: OperationObject): void {
  operation.responses = { ...operation.responses, "401": UNAUTHORIZED };
}

function describeApi(api: ApiConfig): string {
  if (api.kind === "RealtimeAPI") return "RealtimeAPI: answers with the result of predict() directly.";
  return api.webhook.callbackEnabled
    ? "AsyncAPI: queues tasks; each finished task's report is sent to a webhook (see the submit operation's Callbacks)."
    : "AsyncAPI: queues tasks; sends no webhook report (post_inference_hooks does not list callback), so poll the task.";
}
