import type { RequestHandler, Response } from "express";
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
  res.locals.requestLog = { ...(res.locals.requestLog as RequestLogFields | undefined), ...fields };
}

/**
 * One log line per request when it ends: method, path (never the query, which may carry a callback URL's token),
 * status, duration, and the API and task id the route recorded. A request whose client went away before the answer
 * was sent still gets its line, marked aborted. Health probes and scrapes log at debug so they do not drown the rest.
 */
export function requestLog(log: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    let logged = false;
    const done = (): void => {
      if (logged) return;
      logged = true;
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      const quiet = req.path === "/healthz" || req.path === "/readyz" || req.path === "/metrics";
      const line = {
        method: req.method,
        path: req.path,
        status: res.statusCode,
        durationMs: Math.round(durationMs * 100) / 100,
        ...(res.locals.requestLog as RequestLogFields | undefined),
        ...(res.writableFinished ? {} : { aborted: true }),
      };
      if (quiet) log.debug(line, "request");
      else log.info(line, "request");
    };
    res.on("finish", done);
    res.on("close", done);
    next();
  };
}
