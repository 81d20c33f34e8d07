/**
 * JSON Schemas of the answers `views.ts` builds (contract section 3), next to them. The OpenAPI document embeds
 * these, and the tests validate real answers against the served document, so the two cannot drift apart.
 */
import { finishedAtSchema } from "../outbox/report-schema.js";

/** The `webhook` object of a status answer (the same on every surface). */
export const webhookViewSchema = {
  title: "WebhookState",
  type: "object",
  additionalProperties: false,
  required: ["status", "attempts"],
  description: "Where the task's webhook report stands. Present once the task finished and a report was due (or skipped).",
  properties: {
    status: {
      enum: ["pending", "delivered", "failed", "skipped"],
      description: "pending: being sent or waiting for a retry; delivered: a receiver answered 2xx; failed: given up; skipped: never sent (see last_error).",
    },
    attempts: { type: "integer", minimum: 0, description: "Attempts made so far." },
    last_status_code: { type: "integer", description: "HTTP status of the last answer, when there was one." },
    last_error: { type: "string", description: "Why the last attempt did not deliver, or why no report is sent." },
  },
} as const;

/** `GET /NAME/ID` answer (Cortex surface), as `cortexStatusJson` builds it. */
export const cortexStatusViewSchema = {
  title: "CortexTaskStatus",
  type: "object",
  additionalProperties: false,
  required: ["id", "status"],
  properties: {
    id: { type: "string", minLength: 1 },
    status: { enum: ["in_queue", "in_progress", "completed", "failed", "cancelled"] },
    result: { description: "What predict() returned (status completed)." },
    error: { type: "string", description: "What predict() threw (status failed)." },
    timestamp: finishedAtSchema,
    webhook: webhookViewSchema,
  },
} as const;

/** What predict() returned, wrapped as Launch's task answers carry it (the Launch client reads `result.result`). */
const launchWrappedResultSchema = {
  type: "object",
  additionalProperties: false,
  required: ["result"],
  description: "Status SUCCESS: `{\"result\": <what predict() returned>}`. (Webhook reports carry the bare value.)",
  properties: { result: { description: "What predict() returned." } },
} as const;

/** `GET /v1/async-tasks/ID` answer (Launch surface), as `launchStatusJson` builds it. */
export const launchStatusViewSchema = {
  title: "LaunchTaskStatus",
  type: "object",
  additionalProperties: false,
  required: ["task_id", "status"],
  properties: {
    task_id: { type: "string", minLength: 1 },
    status: {
      enum: ["PENDING", "SUCCESS", "FAILURE"],
      description: "PENDING while queued or running (the Launch client polls on PENDING and raises on any other unfinished status).",
    },
    result: launchWrappedResultSchema,
    traceback: { type: "string", description: 'The stack of the error predict() threw (status FAILURE), or "cancelled" for a cancelled task.' },
    webhook: webhookViewSchema,
  },
} as const;

/** `202 {"id"}`: a task queued on the Cortex surface. */
export const cortexTaskCreatedSchema = {
  title: "CortexTaskCreated",
  type: "object",
  additionalProperties: false,
  required: ["id"],
  properties: { id: { type: "string", minLength: 1, description: "The task id; GET /NAME/{id} shows the task." } },
} as const;

/** `200 {"task_id"}`: a task queued on the Launch surface. */
export const launchTaskCreatedSchema = {
  title: "LaunchTaskCreated",
  type: "object",
  additionalProperties: false,
  required: ["task_id"],
  properties: { task_id: { type: "string", minLength: 1, description: "The task id; GET /v1/async-tasks/{task_id} shows the task." } },
} as const;

/** Every error answer: `{"error": "..."}`. */
export const errorBodySchema = {
  title: "Error",
  type: "object",
  additionalProperties: false,
  required: ["error"],
  properties: { error: { type: "string", description: "What is wrong and how to fix it. Never a stack trace." } },
} as const;

/** `200 {"id","status":"cancelled"}`: `DELETE /NAME/ID` cancelled the task. */
export const taskCancelledSchema = {
  title: "TaskCancelled",
  type: "object",
  additionalProperties: false,
  required: ["id", "status"],
  properties: { id: { type: "string", minLength: 1 }, status: { const: "cancelled" } },
} as const;

/** `202`: `POST /NAME/ID/redeliver` scheduled the report again. */
export const redeliveryScheduledSchema = {
  title: "RedeliveryScheduled",
  type: "object",
  additionalProperties: false,
  required: ["id", "status", "webhook"],
  properties: {
    id: { type: "string", minLength: 1 },
    status: { enum: ["completed", "failed", "cancelled"], description: "The task's status (unchanged)." },
    webhook: webhookViewSchema,
  },
} as const;

/** `200`: one page of `POST /NAME/redeliver-failed`. */
export const redeliveredPageSchema = {
  title: "RedeliveredPage",
  type: "object",
  additionalProperties: false,
  required: ["redelivered", "task_ids", "more", "since"],
  properties: {
    redelivered: { type: "integer", minimum: 0, description: "Reports scheduled again by this call." },
    task_ids: { type: "array", items: { type: "string" }, description: "Their tasks, oldest finished first." },
    more: { type: "boolean", description: "This call took a whole page (limit): call again for the rest." },
    since: { type: "string", format: "date-time", description: "The cutoff the call used: tasks finished at or after it." },
  },
} as const;

/** A `409`: the task's state does not allow the request; says which state. */
export const conflictBodySchema = {
  title: "Conflict",
  type: "object",
  additionalProperties: false,
  required: ["error", "id", "status"],
  properties: {
    error: { type: "string", description: "What conflicts and what to do." },
    id: { type: "string" },
    status: { enum: ["in_queue", "in_progress", "completed", "failed", "cancelled"], description: "The task's status now." },
    webhook: webhookViewSchema,
  },
} as const;

/** `POST /v1/sync-tasks` answer, as `launchSyncAnswerJson` builds it. */
export const launchSyncAnswerSchema = {
  title: "LaunchSyncTaskAnswer",
  type: "object",
  additionalProperties: false,
  required: ["status"],
  properties: {
    status: { enum: ["SUCCESS", "FAILURE"] },
    result: launchWrappedResultSchema,
    traceback: { type: "string", description: "Status FAILURE: the stack of the error predict() threw." },
  },
} as const;

/** One model endpoint of `GET /v1/model-endpoints`, as `launchEndpointView` builds it. */
export const launchModelEndpointSchema = {
  title: "LaunchModelEndpoint",
  type: "object",
  additionalProperties: false,
  required: ["id", "name", "endpoint_type", "status", "post_inference_hooks"],
  properties: {
    id: { type: "string", description: "The API's name: what model_endpoint_id takes." },
    name: { type: "string" },
    endpoint_type: { enum: ["async", "sync"], description: "async: an AsyncAPI (POST /v1/async-tasks); sync: a RealtimeAPI (POST /v1/sync-tasks)." },
    status: { enum: ["READY", "UPDATE_PENDING"], description: "UPDATE_PENDING while the predictor's setup() runs." },
    post_inference_hooks: { type: "array", items: { type: "string" } },
    default_callback_url: { type: "string", description: "Where reports go by default, without its query string." },
  },
} as const;

/** `GET /v1/model-endpoints` answer. */
export const launchModelEndpointsSchema = {
  title: "LaunchModelEndpoints",
  type: "object",
  additionalProperties: false,
  required: ["model_endpoints"],
  properties: { model_endpoints: { type: "array", items: launchModelEndpointSchema } },
} as const;
