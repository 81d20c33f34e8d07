import { Router } from "express";
import { ErrorCode, RequestError } from "../errors.js";
import { MODELBIT_BATCH_ID_HEADER, modelbitAnswerJson } from "../outbox/report.js";
import { batchItems, looksLikeBatch } from "../tasks/batch.js";
import type { SubmitRequest, TaskService } from "../tasks/task-service.js";
import { singleHeader, singleQuery } from "./cortex-routes.js";
import { requireApiKey } from "./api-keys.js";
import { jsonBody } from "./json-body.js";
import { refuseUnknownQuery } from "./query-params.js";
import { addRequestLogFields } from "./request-log.js";

/** The members a Modelbit request body may have. */
const BODY_MEMBERS = new Set(["data", "response_webhook", "response_webhook_ignore_timeout"]);

/** A Modelbit request, checked. */
interface ModelbitRequest {
  data: unknown;
  batch: boolean;
  responseWebhook?: string;
  ignoreTimeout?: boolean;
}

/**
 * The Modelbit surface (contract section 3), mounted at `/v1`: `POST /v1/NAME/VERSION` (any version is served by the
 * one configured predictor), single or batch, answered synchronously, or at once with a `batchId` when the body names
 * a `response_webhook`, which then gets the same answer under the full delivery engine. A thin adapter: the batch
 * runner, the queue, the waiting and the report are the core's.
 */
export function modelbitRoutes(service: TaskService, bodyLimitBytes: number): Router {
  const router = Router();

  router.post(
    "/:api/:version",
    jsonBody(bodyLimitBytes, (req, res) => {
      requireApiKey(service.api(String(req.params.api)).config, req);
      refuseUnknownQuery(req, ["batch"]);
      addRequestLogFields(res, { api: String(req.params.api) });
    }),
    async (req, res) => {
      const apiName = String(req.params.api);
      const api = service.api(apiName);
      const request = parseRequest(req.body as unknown, singleQuery(req, "batch"));
      const idempotencyKey = singleHeader(req, "x-request-id");
      const payloadJson = JSON.stringify(request.data);
      const items = request.batch ? batchItems(request.data) : undefined;
      if (items !== undefined && "problem" in items) throw new RequestError(ErrorCode.badRequest, 400, items.problem);

      const submit: SubmitRequest = { payloadJson, format: "modelbit", ...(request.batch ? { batch: true } : {}) };
      if (idempotencyKey !== undefined) submit.idempotencyKey = idempotencyKey;

      if (request.responseWebhook !== undefined) {
        submit.callback = {
          url: request.responseWebhook,
          requested: true,
          ...(request.ignoreTimeout === undefined ? {} : { ignoreTimeout: request.ignoreTimeout }),
        };
        const { task } = await service.submit(apiName, submit);
        addRequestLogFields(res, { taskId: task.id });
        res.status(200).set(MODELBIT_BATCH_ID_HEADER, task.id).json({ batchId: task.id });
        return;
      }

      if (api.config.kind === "RealtimeAPI") {
        const outcome =
          items === undefined ? await service.predictNow(apiName, payloadJson, idempotencyKey) : await service.predictBatchNow(apiName, items.items, idempotencyKey);
        res.status(200).type("application/json").send(modelbitAnswerJson(outcome));
        return;
      }
      // An AsyncAPI called synchronously: queued like any task, answered when it finishes. A client that hangs up
      // stops only the wait; the task runs and stays readable at GET /NAME/ID.
      const gone = new AbortController();
      res.on("close", () => gone.abort());
      const outcome = await service.submitAndWait(apiName, submit, gone.signal);
      if (outcome === undefined) return;
      res.status(200).type("application/json").send(modelbitAnswerJson(outcome));
    },
  );

  return router;
}

/** The body as a Modelbit request, or a 400 saying what is wrong. `batchQuery` is the caller's `?batch=`. */
function parseRequest(body: unknown, batchQuery: string | undefined): ModelbitRequest {
  if (body === null || typeof body !== "object" || Array.isArray(body) || !("data" in body)) {
    throw new RequestError(ErrorCode.badRequest, 400, 'the body must be {"data": <payload>} (a batch: {"data": [[1, <payload>], [2, <payload>]]})');
  }
  const members = body as Record<string, unknown>;
  const unknown = Object.keys(members).find((key) => !BODY_MEMBERS.has(key));
  if (unknown !== undefined) {
    throw new RequestError(ErrorCode.badRequest, 400, `unknown field "${unknown.slice(0, 64)}"; the body takes data, response_webhook and response_webhook_ignore_timeout`);
  }
  if (batchQuery !== undefined && batchQuery !== "true" && batchQuery !== "false") {
    throw new RequestError(ErrorCode.badRequest, 400, "batch must be true (data is a list of [ID, payload] pairs) or false (data is one payload)");
  }
  const request: ModelbitRequest = { data: members.data, batch: batchQuery === undefined ? looksLikeBatch(members.data) : batchQuery === "true" };
  const webhook = members.response_webhook;
  if (webhook !== undefined && webhook !== null) {
    if (typeof webhook !== "string") throw new RequestError(ErrorCode.callbackInvalid, 400, "response_webhook must be a URL string");
    request.responseWebhook = webhook;
  }
  const ignore = members.response_webhook_ignore_timeout;
  if (ignore !== undefined && ignore !== null) {
    if (typeof ignore !== "boolean") throw new RequestError(ErrorCode.badRequest, 400, "response_webhook_ignore_timeout must be true or false");
    // false is what happens anyway; true would promise something no webhook is there to do.
    if (ignore && request.responseWebhook === undefined) throw new RequestError(ErrorCode.badRequest, 400, "response_webhook_ignore_timeout: true needs a response_webhook");
    if (request.responseWebhook !== undefined) request.ignoreTimeout = ignore;
  }
  return request;
}
