import type { Express, Request } from "express";
import { ErrorCode, RequestError } from "../errors.js";
import type { SubmitRequest, TaskService } from "../tasks/task-service.js";
import { bodyText, jsonBody } from "./json-body.js";
import { refuseUnknownQuery } from "./query-params.js";
import { addRequestLogFields } from "./request-log.js";
import { cortexStatusJson } from "./views.js";

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
      service.api(String(req.params.api));
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
    refuseUnknownQuery(req, []);
    const task = await service.get(String(req.params.api), String(req.params.id));
    res.status(200).type("application/json").send(cortexStatusJson(task));
  });
}

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
