import type { ErrorRequestHandler, RequestHandler } from "express";
import type { Logger } from "pino";
import { ErrorCode, RequestError, RuntimeError } from "../errors.js";
import { requestPath } from "./request-log.js";

/** The methods some route answers; any other is refused with 405 whatever the path. */
const ANSWERED_METHODS = ["GET", "HEAD", "POST", "DELETE"];

/** Answers any route nobody claimed with a JSON 404 that says what exists (405 for a method no route answers). */
export function notFound(apiNames: () => string[]): RequestHandler {
  return (req, res) => {
    if (!ANSWERED_METHODS.includes(req.method)) {
      res
        .status(405)
        .set("allow", ANSWERED_METHODS.join(", "))
        .json({ error: `method ${req.method} is not allowed; the runtime answers ${ANSWERED_METHODS.join(", ")} (see /docs)` });
      return;
    }
    res.status(404).json({
      error: `no route ${req.method} ${requestPath(req)}; APIs are served at /NAME (${apiNames().join(", ") || "none"}), plus /healthz, /readyz, /metrics and /v1/async-tasks; /docs describes them all, /console shows tasks and reports`,
    });
  };
}

interface BodyParserError extends Error {
  type?: string;
  status?: number;
  limit?: number;
  length?: number;
}

/**
 * Turns every error into `{"error": "..."}` with a 4xx the client can act on, or a 500 that says only that the
 * server failed: stack traces and internal details go to the log, never to the client.
 */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (error instanceof RequestError) {
      if (error.headers !== undefined) res.set(error.headers);
      res.status(error.status).json({ error: error.message, ...error.details });
      return;
    }
    if (error instanceof RuntimeError && error.code === ErrorCode.storage) {
      // The task store failed or did not answer in time (Redis restarting, a disk failing): a retry may succeed.
      log.error({ err: error, method: req.method, path: requestPath(req) }, "request failed: the task store failed or did not answer in time");
      res.status(503).set("retry-after", "1").json({ error: "the task store failed or did not answer in time; retry in a moment (the runtime's log has the details)" });
      return;
    }
    if (error instanceof URIError || /^Failed to decode param/.test((error as Error | undefined)?.message ?? "")) {
      res.status(400).json({ error: "the URL path is not valid percent-encoding (a % must be followed by two hex digits forming UTF-8); encode it with encodeURIComponent" });
      return;
    }
    const parserError = error as BodyParserError;
    switch (parserError.type) {
      case "entity.too.large":
        res.status(413).json({
          // length is unknown for a compressed body cut off while inflating (a gzip bomb): say only what the limit is.
          error: `${parserError.length === undefined ? "the body (once decompressed) is larger than" : `the body is ${parserError.length} bytes, above`} the limit of ${parserError.limit} bytes; send a smaller payload (or start the runtime with a larger --max-body-mib)`,
        });
        return;
      case "encoding.unsupported":
        res.status(415).json({ error: "the content-encoding is not supported; send the body uncompressed, gzip or deflate" });
        return;
      case "request.aborted":
        res.status(400).json({ error: "the request was aborted before its body arrived" });
        return;
    }
    if (typeof parserError.status === "number" && parserError.status >= 400 && parserError.status < 500) {
      res.status(parserError.status).json({ error: "the request body could not be read; check its content-length and encoding" });
      return;
    }
    log.error({ err: error, method: req.method, path: requestPath(req) }, "request failed");
    res.status(500).json({ error: "the runtime failed to handle this request; its log has the details" });
  };
}
