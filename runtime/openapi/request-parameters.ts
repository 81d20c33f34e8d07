import { MAX_IDEMPOTENCY_KEY_LENGTH } from "../tasks/task-service.js";
import type { ParameterObject, RequestBodyObject } from "./openapi-types.js";

/** The `x-request-id` header of a submit: the client's idempotency key. */
export const idempotencyKeyHeader: ParameterObject = {
  name: "x-request-id",
  in: "header",
  required: false,
  description:
    "Idempotency key chosen by the client, scoped to the API: a repeat answers with the first task's id and never runs predict() again (even if the payload differs). Kept as long as the task (7 days).",
  schema: { type: "string", minLength: 1, maxLength: MAX_IDEMPOTENCY_KEY_LENGTH, pattern: "^[\\x21-\\x7e]+$" },
  example: "order-1234",
};

/** A request body that is the predictor's payload, whatever JSON it is. */
export const payloadBody: RequestBodyObject = {
  required: true,
  description: "The payload, passed to predict() as it is: any JSON value (not only objects).",
  content: { "application/json": { schema: { description: "Any JSON value." }, example: { x: 2, y: "hello" } } },
};
