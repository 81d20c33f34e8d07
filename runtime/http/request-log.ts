import type { RequestHandler } from "express";
import type { Logger } from "pino";

/**
 * One log line per request when it ends: method, path (never the query, which may carry a callback URL's token),
 * status and duration. Health probes log at debug so they do not drown the rest.
 */
export function requestLog(log: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on("finish", () => {
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      const quiet = req.path === "/healthz" || req.path === "/readyz" || req.path === "/metrics";
      const line = { method: req.method, path: req.path, status: res.statusCode, durationMs: Math.round(durationMs * 100) / 100 };
      if (quiet) log.debug(line, "request");
      else log.info(line, "request");
    });
    next();
  };
}
