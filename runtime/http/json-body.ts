import express, { type Request, type RequestHandler, type Response } from "express";
import { ErrorCode, RequestError } from "../errors.js";
import { MAX_JSON_DEPTH, isTooDeep } from "../shared/json-depth.js";

/** Default request body limit: 10 MiB (contract section 3). */
export const DEFAULT_BODY_LIMIT_BYTES = 10 * 1024 * 1024;

/** True for `application/json` and `application/*+json`, the types a payload may be sent as. */
function isJsonType(contentType: string | undefined): boolean {
  const type = contentType?.split(";")[0]?.trim().toLowerCase() ?? "";
  return type === "application/json" || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

/** Refuses a body that is not sent as UTF-8 JSON, with the contract's 415. */
function checkJsonContentType(contentType: string | undefined): void {
  if (!isJsonType(contentType)) {
    const sent = contentType ? `content-type ${contentType.split(";")[0]}` : "no content-type";
    throw new RequestError(
      ErrorCode.badRequest,
      415,
      `the body must be JSON sent with content-type: application/json (this request has ${sent}); with curl add -H 'content-type: application/json'`,
    );
  }
  const charset = /;\s*charset=("?)([^";]+)\1/i.exec(contentType ?? "")?.[2]?.toLowerCase();
  if (charset !== undefined && charset !== "utf-8" && charset !== "utf8") {
    throw new RequestError(ErrorCode.badRequest, 415, `charset ${charset} is not supported; send the JSON body as UTF-8`);
  }
}

/** Where {@link jsonBody} keeps the body's text on the request. */
const BODY_TEXT = Symbol("bodyText");

/** The JSON text of a body {@link jsonBody} read, so a payload can be stored as sent rather than serialized again. */
export function bodyText(req: Request): string | undefined {
  return (req as Request & { [BODY_TEXT]?: string })[BODY_TEXT];
}

/** The payload a raw body holds, or a 400 saying what is wrong with it; keeps the text on `req`. */
function parsePayload(req: Request): unknown {
  const raw = req.body instanceof Buffer ? req.body.toString("utf8") : "";
  if (raw.trim() === "") {
    throw new RequestError(ErrorCode.badRequest, 400, "the request body is empty; send the payload as JSON, for example {\"x\": 2}");
  }
  // Counted on the text before parsing: nothing recursive (parser, serializer, structured clone) ever sees a value
  // deeper than the runtime promises to carry.
  if (isTooDeep(raw)) {
    throw new RequestError(
      ErrorCode.badRequest,
      400,
      `the body nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep; send JSON nested at most ${MAX_JSON_DEPTH} levels`,
    );
  }
  try {
    const payload = JSON.parse(raw) as unknown;
    (req as Request & { [BODY_TEXT]?: string })[BODY_TEXT] = raw;
    return payload;
  } catch (error) {
    throw new RequestError(ErrorCode.badRequest, 400, `the body is not valid JSON (${(error as Error).message}); check quoting and commas`);
  }
}

/**
 * Reads a JSON request body with the contract's errors: 415 for a body that is not JSON, 413 above the limit,
 * 400 for an empty or malformed one. Any JSON value is a valid payload, not only objects. `beforeReading` runs
 * first and may throw (a 404 for an unknown API must not depend on the body). One middleware rather than several
 * chained ones: this runs on every submit.
 */
export function jsonBody(limitBytes: number = DEFAULT_BODY_LIMIT_BYTES, beforeReading?: (req: Request, res: Response) => void): RequestHandler {
  // body-parser reads the bytes (limit, content-encoding, aborted requests); parsing is ours for the messages.
  const readRaw = express.raw({ type: () => true, limit: limitBytes });
  return (req, res, next) => {
    beforeReading?.(req, res);
    checkJsonContentType(req.headers["content-type"]);
    readRaw(req, res, (error?: unknown) => {
      if (error !== undefined) {
        next(error);
        return;
      }
      try {
        req.body = parsePayload(req);
      } catch (parseError) {
        next(parseError);
        return;
      }
      next();
    });
  };
}
