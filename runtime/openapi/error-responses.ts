import { errorBodySchema } from "../http/view-schemas.js";
import type { ResponseObject } from "./openapi-types.js";

/** A `{"error": "..."}` answer with a description of when it happens. */
export function errorResponse(description: string): ResponseObject {
  return { description, content: { "application/json": { schema: errorBodySchema } } };
}

/**
 * The error answers of contract section 3, worded once. Each operation picks the ones that can happen to it, so a
 * client reading one operation sees exactly the statuses it has to handle.
 */
export const ERROR_RESPONSES = {
  badJson: errorResponse(
    "The body is empty, not valid JSON, or nested deeper than 256 levels of arrays and objects, or a parameter is invalid (callback_url, x-request-id, one given twice, or one the operation does not take).",
  ),
  badQuery: errorResponse("A query parameter the operation does not take, or a path that is not valid percent-encoding."),
  storeUnavailable: errorResponse("The task store failed or did not answer in time; retry in a few seconds."),
  notFoundTask: errorResponse("No such task (results are kept 7 days)."),
  tooLarge: errorResponse("The body is over the limit (10 MiB unless the runtime runs with --max-body-mib)."),
  notJson: errorResponse("The body is not sent as application/json (or application/*+json) in UTF-8."),
  queueFull: errorResponse(
    "Not accepted: the API already holds autoscaling.max_replica_concurrency tasks (queued + running), or the runtime is shutting down. Retry later.",
  ),
} as const;
