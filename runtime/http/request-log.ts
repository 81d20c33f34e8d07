import type { Request, RequestHandler, Response } from "express";
import type { Logger } from "pino";

/** What a route knows about its request that the log line should carry. */
export interface RequestLogFields {
  /** The API the request is for. */
  api?: string;
  /** The task the request created or asked about, so a task's requests and delivery attempts share one key. */
  taskId?: string;
}

/** Adds fields to this request's log line; routes call it as soon as they know them. */
export function addRequestLogFields(res: Response, fields: RequestLogFields): void {
  const logged = res.locals.requestLog as RequestLogFields | undefined;
  if (logged === undefined) res.locals.requestLog = { ...fields };
  else Object.assign(logged, fields);
}

/**
 * One log line per request when it ends: method, path (never the query, which may carry a callback URL's token),
 * status, duration, and the API and task id the route recorded. A request whose client went away before the answer
 * was sent still gets its line, marked aborted. Health probes and scrapes log at debug so they do not drown the rest.
 */
export function requestLog(log: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    // A response emits close once, whether it finished or its client went away first.
    res.once("close", () => {
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      const path = requestPath(req);
      const quiet = path === "/healthz" || path === "/readyz" || path === "/metrics";
      const line = {
        method: req.method,
        path,
        status: res.statusCode,
        durationMs: Math.round(durationMs * 100) / 100,
        ...(res.locals.requestLog as RequestLogFields | undefined),
        ...(res.writableFinished ? {} : { aborted: true }),
      };
      if (quiet) log.debug(line, "request");
      else log.info(line, "request");
    });
    next();
  };
}

/** The path the client asked for, without the query; `req.path` is relative to the router a handler is mounted in. */
export function requestPath(req: Request): string {
  const url = req.originalUrl;
  const query = url.indexOf("?");
  return query === -1 ? url : url.slice(0, query);
}
