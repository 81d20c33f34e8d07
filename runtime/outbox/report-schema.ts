/**
 * JSON Schemas of the webhook report bodies (contract section 4), next to the builder in `report.ts`. The OpenAPI
 * document embeds them as its callbacks' request bodies, and the tests validate what `buildReport` and the runtime
 * actually send against them, so the description a receiver reads cannot drift from the bytes it receives.
 *
 * Plain JSON Schema keywords only (valid in draft-07 and 2020-12, the dialect of OpenAPI 3.1), no `$schema`/`$id`,
 * so the same objects serve ajv and the OpenAPI document.
 */

/** When a task finished, as reports and status answers write it: `Date.prototype.toISOString()`, UTC with ms. */
export const finishedAtSchema = {
  type: "string",
  format: "date-time",
  pattern: "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z$",
  description: "When the task finished (ISO 8601, UTC, milliseconds); a report carries the same value on every retry.",
  examples: ["2026-11-22T09:48:29.123Z"],
} as const;

const taskIdSchema = {
  type: "string",
  minLength: 1,
  description: "The task id the submit answered with; also sent as the x-request-id header.",
  examples: ["3f0c6f5e-8f5e-4a5c-9b1e-2d7c1f0e9a11"],
} as const;

const resultSchema = {
  description: "What predict() returned, as JSON (null when it returned undefined).",
} as const;

/** Report of a Cortex-surface task whose predict() returned. */
export const cortexCompletedReportSchema = {
  title: "CortexCompletedReport",
  type: "object",
  additionalProperties: false,
  required: ["id", "status", "result", "timestamp"],
  properties: {
    id: taskIdSchema,
    status: { const: "completed" },
    result: resultSchema,
    timestamp: finishedAtSchema,
  },
} as const;

/** Report of a Cortex-surface task whose predict() threw (or timed out). */
export const cortexFailedReportSchema = {
  title: "CortexFailedReport",
  type: "object",
  additionalProperties: false,
  required: ["id", "status", "error", "timestamp"],
  properties: {
    id: taskIdSchema,
    status: { const: "failed" },
    error: { type: "string", description: "What predict() threw, as a message (no stack trace)." },
    timestamp: finishedAtSchema,
  },
} as const;

/** Report of a Cortex-surface task cancelled before it finished (DELETE /NAME/ID). */
export const cortexCancelledReportSchema = {
  title: "CortexCancelledReport",
  type: "object",
  additionalProperties: false,
  required: ["id", "status", "timestamp"],
  properties: {
    id: taskIdSchema,
    status: { const: "cancelled" },
    timestamp: finishedAtSchema,
  },
} as const;

/** Report of a Launch-surface task whose predict() returned. */
export const launchSuccessReportSchema = {
  title: "LaunchSuccessReport",
  type: "object",
  additionalProperties: false,
  required: ["task_id", "status", "result", "timestamp"],
  properties: {
    task_id: taskIdSchema,
    status: { const: "SUCCESS" },
    result: resultSchema,
    timestamp: finishedAtSchema,
  },
} as const;

/** Report of a Launch-surface task whose predict() threw (or timed out), or that was cancelled. */
export const launchFailureReportSchema = {
  title: "LaunchFailureReport",
  type: "object",
  additionalProperties: false,
  required: ["task_id", "status", "result", "timestamp"],
  properties: {
    task_id: taskIdSchema,
    status: { const: "FAILURE" },
    result: { type: "null", description: "Always null for a failed task." },
    traceback: { type: "string", description: 'The stack of the error predict() threw (its message when it had none); "cancelled" for a cancelled task.' },
    timestamp: finishedAtSchema,
  },
} as const;

/** Any Cortex-surface report (`CortexReport`). */
export const cortexReportSchema = { oneOf: [cortexCompletedReportSchema, cortexFailedReportSchema, cortexCancelledReportSchema] } as const;

/** Any Launch-surface report (`LaunchReport`). */
export const launchReportSchema = { oneOf: [launchSuccessReportSchema, launchFailureReportSchema] } as const;

/** A Modelbit answer whose predict() returned: `{"data": <result>}` (a batch: `[[ID, result], ...]`). */
export const modelbitDataSchema = {
  title: "ModelbitData",
  type: "object",
  additionalProperties: false,
  required: ["data"],
  properties: { data: { description: "What predict() returned; for a batch, [[ID, result], ...] sorted by ID." } },
} as const;

/** A Modelbit answer whose predict() failed: `{"error": "..."}`. */
export const modelbitErrorSchema = {
  title: "ModelbitError",
  type: "object",
  additionalProperties: false,
  required: ["error"],
  properties: { error: { type: "string", description: "What predict() threw (a batch: which item, and its error)." } },
} as const;

/** The Modelbit answer: the synchronous call's body, and what its response_webhook receives. */
export const modelbitReportSchema = { oneOf: [modelbitDataSchema, modelbitErrorSchema] } as const;
