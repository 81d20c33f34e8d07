import type { Express, Request } from "express";
import { ErrorCode, RequestError } from "../errors.js";
import type { SubmitRequest, TaskService } from "../tasks/task-service.js";
import { requireApiKey } from "./api-keys.js";
import { bodyText, jsonBody } from "./json-body.js";
import { refuseUnknownQuery } from "./query-params.js";
import { addRequestLogFields } from "./request-log.js";
import { parseSince } from "../shared/since.js";
import { cortexStatusJson, webhookView } from "./views.js";

/**
 * The Cortex surface (contract section 3): `POST /NAME` queues a task (AsyncAPI) or answers with the result
 * (RealtimeAPI); `GET /NAME/ID` shows a task. A thin adapter: every decision is the TaskService's.
 *
 * Registered on the app itself rather than through a Router of its own: these are the hot paths, and a nested
 * router costs every request another pass of path matching and a chain of closures that lives until the answer.
 */
export function addCortexRoutes(app: Express, service: TaskService, bodyLimitBytes: number): void {
  app.post(
    "/:api",
    // The API is looked up before the body is read, so an unknown API is a 404 whatever was sent.
    jsonBody(bodyLimitBytes, (req, res) => {
      // And the key is checked before it is read: a caller without one costs no body read.
      requireApiKey(service.api(String(req.params.api)).config, req);
      refuseUnknownQuery(req, ["callback_url"]);
      addRequestLogFields(res, { api: String(req.params.api) });
    }),
    async (req, res) => {
      const apiName = String(req.params.api);
      const idempotencyKey = singleHeader(req, "x-request-id");
      if (service.api(apiName).config.kind === "RealtimeAPI") {
        const outcome = await service.predictNow(apiName, bodyText(req)!, idempotencyKey);
        if (outcome.status === "completed") res.status(200).type("application/json").send(outcome.resultJson);
        else if (outcome.status === "failed") res.status(outcome.timedOut ? 504 : 500).json({ error: outcome.error });
        else res.status(500).json({ error: "the prediction was cancelled" });
        return;
      }
      const callbackUrl = singleQuery(req, "callback_url");
      const submit: SubmitRequest = { payloadJson: bodyText(req)!, format: "cortex" };
      if (idempotencyKey !== undefined) submit.idempotencyKey = idempotencyKey;
      if (callbackUrl !== undefined) submit.callback = { url: callbackUrl };
      const { task } = await service.submit(apiName, submit);
      addRequestLogFields(res, { taskId: task.id });
      res.status(202).json({ id: task.id });
    },
  );

  app.get("/:api/:id", async (req, res) => {
    addRequestLogFields(res, { api: String(req.params.api), taskId: String(req.params.id) });
    requireApiKey(service.api(String(req.params.api)).config, req);
    refuseUnknownQuery(req, []);
    const task = await service.get(String(req.params.api), String(req.params.id));
    res.status(200).type("application/json").send(cortexStatusJson(task));
  });

  app.delete("/:api/:id", async (req, res) => {
    addRequestLogFields(res, { api: String(req.params.api), taskId: String(req.params.id) });
    requireApiKey(service.api(String(req.params.api)).config, req);
    refuseUnknownQuery(req, []);
    res.status(200).json(await service.cancel(String(req.params.api), String(req.params.id)));
  });

  app.post("/:api/:id/redeliver", async (req, res) => {
    addRequestLogFields(res, { api: String(req.params.api), taskId: String(req.params.id) });
    requireApiKey(service.api(String(req.params.api)).config, req);
    refuseUnknownQuery(req, []);
    const task = await service.redeliver(String(req.params.api), String(req.params.id));
    res.status(202).json({ id: task.id, status: task.status, ...(task.webhook ? { webhook: webhookView(task.webhook) } : {}) });
  });

  // Two segments like GET /NAME/ID, but a POST: no task id is ever asked for with POST /NAME/ID.
  app.post("/:api/redeliver-failed", async (req, res) => {
    const apiName = String(req.params.api);
    addRequestLogFields(res, { api: apiName });
    requireApiKey(service.api(apiName).config, req);
    refuseUnknownQuery(req, ["since", "limit"]);
    const sinceText = singleQuery(req, "since");
    if (sinceText === undefined) {
      throw new RequestError(ErrorCode.badRequest, 400, `the since query parameter is required, e.g. POST /${apiName}/redeliver-failed?since=2h`);
    }
    const since = parseSince(sinceText, Date.now());
    if ("problem" in since) throw new RequestError(ErrorCode.badRequest, 400, since.problem);
    const limitText = singleQuery(req, "limit") ?? String(DEFAULT_REDELIVER_PAGE);
    const limit = Number(limitText);
    if (!/^\d+$/.test(limitText) || limit < 1 || limit > MAX_REDELIVER_PAGE) {
      throw new RequestError(ErrorCode.badRequest, 400, `limit must be a whole number from 1 to ${MAX_REDELIVER_PAGE}`);
    }
    const { taskIds, more } = await service.redeliverFailed(apiName, since.at, limit);
    res.status(200).json({ redelivered: taskIds.length, task_ids: taskIds, more, since: new Date(since.at).toISOString() });
  });
}

/** Reports redelivered per `POST /NAME/redeliver-failed` call unless `limit` says otherwise. */
export const DEFAULT_REDELIVER_PAGE = 100;
/** Most reports one `POST /NAME/redeliver-failed` call redelivers; the caller pages on with `more`. */
export const MAX_REDELIVER_PAGE = 1000;

/** A query parameter given at most once. */
export function singleQuery(req: Request, name: string): string | undefined {
  const value = req.query[name];
  if (value === undefined) return undefined;
  if (typeof value !== "string") {
    throw new RequestError(ErrorCode.badRequest, 400, `give the ${name} query parameter once, as a plain string`);
  }
  return value;
}

/** A header given at most once. */
export function singleHeader(req: Request, name: string): string | undefined {
  const value = req.headers[name];
  if (Array.isArray(value)) {
    throw new RequestError(ErrorCode.badRequest, 400, `give the ${name} header once`);
  }
  return value;
}
