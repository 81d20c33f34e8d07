import { Ajv, type ErrorObject } from "ajv";
import { Router, type Request } from "express";
import { ErrorCode, RequestError } from "../errors.js";
import type { CallbackTarget } from "../tasks/task.js";
import type { TaskService } from "../tasks/task-service.js";
import { singleHeader, singleQuery } from "./cortex-routes.js";
import { keyOpens, requireApiKey } from "./api-keys.js";
import { jsonBody } from "./json-body.js";
import { refuseUnknownQuery } from "./query-params.js";
import { parseLaunchCallbackAuth } from "./launch-callback-auth.js";
import { addRequestLogFields } from "./request-log.js";
import { launchEndpointView, launchStatusJson, launchSyncAnswerJson } from "./views.js";

/** The body the Launch client sends (`EndpointPredictV1Request`); absent fields arrive as null. */
interface LaunchTaskRequest {
  args?: unknown;
  callback_url?: string | null;
  callback_auth?: unknown;
  url?: string | null;
  cloudpickle?: string | null;
  return_pickled?: boolean;
}

const PEM_TEXT = { type: "string", pattern: "-----BEGIN ", description: "PEM text, not a file path." } as const;

/**
 * JSON Schema of `callback_auth`, as the OpenAPI document shows it. The PEM contents (a parseable certificate and
 * key that match, not expired) are checked beyond what a schema can say.
 */
export const launchCallbackAuthSchema = {
  oneOf: [
    { type: "null" },
    {
      type: "object",
      additionalProperties: false,
      required: ["kind", "username", "password"],
      properties: {
        kind: { const: "basic" },
        username: { type: "string", minLength: 1, pattern: "^[^:]*$", description: "May not contain a colon (RFC 7617)." },
        password: { type: "string", minLength: 1 },
      },
    },
    {
      type: "object",
      additionalProperties: false,
      required: ["kind", "cert", "key"],
      properties: { kind: { const: "mtls" }, cert: PEM_TEXT, key: PEM_TEXT, ca: PEM_TEXT },
    },
  ],
} as const;

/** JSON Schema of the Launch request body; the OpenAPI document embeds it. */
export const launchTaskRequestSchema = {
  type: "object",
  additionalProperties: false,
  required: ["args"],
  properties: {
    args: {},
    callback_url: { type: ["string", "null"] },
    callback_auth: launchCallbackAuthSchema,
    url: { type: "null" },
    cloudpickle: { type: "null" },
    return_pickled: { const: false },
  },
} as const;

/** JSON Schema of a Launch sync-task body: a task request without a report, so no callback_url or callback_auth. */
export const launchSyncRequestSchema = {
  ...launchTaskRequestSchema,
  properties: {
    ...launchTaskRequestSchema.properties,
    callback_url: { type: "null", description: "A sync task answers with its result and sends no report." },
    callback_auth: { type: "null", description: "A sync task answers with its result and sends no report." },
  },
} as const;

const ajv = new Ajv({ allErrors: true, strict: true });
// callback_auth is checked by parseLaunchCallbackAuth instead, which says precisely what is wrong without quoting a
// secret; the rest of the body by the documented schema.
const validateLaunchTaskRequest = ajv.compile<LaunchTaskRequest>({
  ...launchTaskRequestSchema,
  properties: { ...launchTaskRequestSchema.properties, callback_auth: {} },
});

/** Query parameters of `POST /v1/async-tasks`: the endpoint, by name or by id (the official client sends the id). */
const LAUNCH_TASK_QUERY = ["model_endpoint_name", "model_endpoint_id"];

/**
 * The endpoint a Launch task route names: `model_endpoint_id` (what the official client sends: the id from
 * `GET /v1/model-endpoints`, which is the API's name) or `model_endpoint_name`.
 */
function endpointOf(req: Request, route: string): string {
  const id = singleQuery(req, "model_endpoint_id");
  const name = singleQuery(req, "model_endpoint_name");
  if (id !== undefined && name !== undefined && id !== name) {
    throw new RequestError(ErrorCode.badRequest, 400, `model_endpoint_id "${id}" and model_endpoint_name "${name}" name different endpoints; give one of them`);
  }
  const apiName = id ?? name;
  if (apiName === undefined) {
    throw new RequestError(ErrorCode.badRequest, 400, `the model_endpoint_id (or model_endpoint_name) query parameter is required; POST /v1/${route}?model_endpoint_id=NAME`);
  }
  return apiName;
}

/** Before a task request's body is read: only known query parameters, a known endpoint, and a key that opens it. */
function checkTaskRequest(service: TaskService, req: Request): void {
  refuseUnknownQuery(req, LAUNCH_TASK_QUERY);
  const apiName = singleQuery(req, "model_endpoint_id") ?? singleQuery(req, "model_endpoint_name");
  if (apiName !== undefined) requireApiKey(service.api(apiName).config, req);
}

/** The body of a Launch task request, validated; a 400 saying what is wrong otherwise. */
function launchBody(req: Request): LaunchTaskRequest {
  const body = req.body as unknown;
  if (!validateLaunchTaskRequest(body)) {
    throw new RequestError(ErrorCode.badRequest, 400, describeLaunchBodyError(validateLaunchTaskRequest.errors ?? []));
  }
  return body;
}

/**
 * The Launch surface (contract section 3), mounted at `/v1`: the model-endpoint listing the official client looks
 * up first, `POST /v1/async-tasks`, `GET /v1/async-tasks/ID` and `POST /v1/sync-tasks`. A thin adapter over the same
 * TaskService as the Cortex surface.
 */
export function launchRoutes(service: TaskService, bodyLimitBytes: number): Router {
  const router = Router();

  router.get("/model-endpoints", (req, res) => {
    // Express matches a trailing slash here too; that is GET /v1/model-endpoints/{id} with an empty id.
    if (req.path.endsWith("/")) throw new RequestError(ErrorCode.unknownApi, 404, "no endpoint id after /v1/model-endpoints/; GET /v1/model-endpoints lists them all");
    refuseUnknownQuery(req, ["name"]);
    const name = singleQuery(req, "name");
    // Only the APIs without keys and those the request's key opens: a key shows what it opens, nothing more.
    const names = service.apiNames.filter((apiName) => (name === undefined || apiName === name) && keyOpens(service.api(apiName).config, req.headers.authorization));
    res.status(200).json({ model_endpoints: names.map((apiName) => launchEndpointView(service.api(apiName))) });
  });

  router.get("/model-endpoints/:id", (req, res) => {
    refuseUnknownQuery(req, []);
    const api = service.api(String(req.params.id));
    requireApiKey(api.config, req);
    res.status(200).json(launchEndpointView(api));
  });

  router.post("/sync-tasks", jsonBody(bodyLimitBytes, (req) => checkTaskRequest(service, req)), async (req, res) => {
    const apiName = endpointOf(req, "sync-tasks");
    const api = service.api(apiName);
    addRequestLogFields(res, { api: apiName });
    if (api.config.kind !== "RealtimeAPI") {
      throw new RequestError(ErrorCode.badRequest, 400, `endpoint "${apiName}" is async (an AsyncAPI); queue a task with POST /v1/async-tasks?model_endpoint_id=${apiName}`);
    }
    const body = launchBody(req);
    if ((body.callback_url ?? null) !== null || (body.callback_auth ?? null) !== null) {
      throw new RequestError(ErrorCode.badRequest, 400, "a sync task answers with its result and sends no report; leave out callback_url and callback_auth");
    }
    const outcome = await service.predictNow(apiName, JSON.stringify(body.args), singleHeader(req, "x-request-id"));
    // Launch answers 200 either way and says FAILURE in the body: the client raises on any other status.
    res.status(200).type("application/json").send(launchSyncAnswerJson(outcome));
  });

  router.post("/async-tasks", jsonBody(bodyLimitBytes, (req) => checkTaskRequest(service, req)), async (req, res) => {
    const apiName = endpointOf(req, "async-tasks");
    service.api(apiName);
    const body = launchBody(req);
    const parsedAuth = parseLaunchCallbackAuth(body.callback_auth);
    if ("problem" in parsedAuth) throw new RequestError(ErrorCode.callbackInvalid, 400, parsedAuth.problem);
    const idempotencyKey = singleHeader(req, "x-request-id");
    // As in Launch, callback_url and callback_auth each override the API's default on their own: credentials given
    // without a URL go with the report to default_callback_url.
    const callback: CallbackTarget = {};
    if (typeof body.callback_url === "string") callback.url = body.callback_url;
    if (parsedAuth.auth !== undefined) callback.auth = parsedAuth.auth;
    const { task } = await service.submit(apiName, {
      payloadJson: JSON.stringify(body.args),
      format: "launch",
      ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
      ...(callback.url === undefined && callback.auth === undefined ? {} : { callback }),
    });
    addRequestLogFields(res, { api: apiName, taskId: task.id });
    res.status(200).json({ task_id: task.id });
  });

  router.get("/async-tasks/:id", async (req, res) => {
    addRequestLogFields(res, { taskId: String(req.params.id) });
    refuseUnknownQuery(req, []);
    const task = await service.get(undefined, String(req.params.id));
    // Known only once the task is read: its API decides which key opens it.
    requireApiKey(service.api(task.api).config, req);
    addRequestLogFields(res, { api: task.api });
    res.status(200).type("application/json").send(launchStatusJson(task));
  });

  return router;
}

/** One message for the first thing wrong with a Launch body; never echoes values (they may be credentials). */
function describeLaunchBodyError(errors: ErrorObject[]): string {
  const extra = errors.find((error) => error.keyword === "additionalProperties" && error.instancePath === "");
  if (extra) {
    return `unknown field "${String(extra.params.additionalProperty)}"; the body takes args, callback_url, callback_auth (and Launch's url, cloudpickle, return_pickled, which must be null/false)`;
  }
  const first = errors.find((error) => error.keyword !== "oneOf") ?? errors[0];
  const path = first?.instancePath ?? "";
  if (path === "" && first?.keyword === "required") return 'the body must be {"args": <payload>, "callback_url"?: "...", "callback_auth"?: {...}}; args is missing';
  if (path === "" && first?.keyword === "type") return 'the body must be a JSON object: {"args": <payload>, ...}';
  if (path === "/url") return "input by url is not supported; send the payload inline as args";
  if (path === "/cloudpickle") return "cloudpickle payloads are not supported; send the payload as JSON in args";
  if (path === "/return_pickled") return "return_pickled is not supported; results are always JSON";
  if (path === "/callback_url") return "callback_url must be a string URL";
  return `the body is invalid at ${path || "its top level"}: ${first?.message ?? "unknown problem"}`;
}
