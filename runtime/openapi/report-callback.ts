import type { ApiConfig } from "../config/api-config.js";
import { buildReport } from "../outbox/report.js";
import { MODELBIT_BATCH_ID_HEADER } from "../outbox/report.js";
import { cortexReportSchema, launchReportSchema, modelbitReportSchema } from "../outbox/report-schema.js";
import type { ReportFormat } from "../tasks/task.js";
import { VERSION } from "../version.js";
import type { CallbackObject, ParameterObject } from "./openapi-types.js";

/** Where a Cortex-surface report goes: the submit's `callback_url` query parameter (else the API's default). */
export const CORTEX_CALLBACK_EXPRESSION = "{$request.query.callback_url}";
/** Where a Launch-surface report goes: the body's `callback_url` (else the endpoint's default). */
export const LAUNCH_CALLBACK_EXPRESSION = "{$request.body#/callback_url}";
/** Where a Modelbit answer goes: the body's `response_webhook`. */
export const MODELBIT_CALLBACK_EXPRESSION = "{$request.body#/response_webhook}";
/** Name of the callback entry on every async operation. */
export const REPORT_CALLBACK_NAME = "report";

/** When the examples' task finished. */
const EXAMPLE_FINISHED_AT = Date.UTC(2026, 10, 22, 9, 48, 29, 123);

/** Options of {@link reportCallbacks}. */
export interface ReportCallbackOptions {
  format: ReportFormat;
  /** The APIs whose reports this operation's callback describes (those that send reports at all). */
  apis: readonly ApiConfig[];
  /** operationId of the callback's operation; unique in the document. */
  operationId: string;
}

/**
 * The `callbacks` entry of an async operation: the report the runtime POSTs when the task finishes, keyed by the
 * runtime expression naming the request's callback URL, with the report's JSON Schema and headers. Undefined when
 * none of the APIs sends reports (no `callback` in post_inference_hooks), since then no callback ever happens.
 *
 * The API's default_callback_url is deliberately not published as a second, literal key: a callback URL can carry
 * a receiver's token in its path or query, and this document is served to anyone who can reach the runtime. The
 * description says when the default applies instead.
 */
export function reportCallbacks(options: ReportCallbackOptions): Record<string, CallbackObject> | undefined {
  const { format, apis, operationId } = options;
  if (apis.length === 0) return undefined;
  const expression = format === "launch" ? LAUNCH_CALLBACK_EXPRESSION : format === "modelbit" ? MODELBIT_CALLBACK_EXPRESSION : CORTEX_CALLBACK_EXPRESSION;
  const schema = format === "launch" ? launchReportSchema : format === "modelbit" ? modelbitReportSchema : cortexReportSchema;
  const finishedAt = EXAMPLE_FINISHED_AT;
  const taskId = "3f0c6f5e-8f5e-4a5c-9b1e-2d7c1f0e9a11";
  return {
    [REPORT_CALLBACK_NAME]: {
      [expression]: {
        post: {
          operationId,
          summary: "The task's report (webhook), sent once it finished",
          description: describeDelivery(format, apis),
          parameters: reportHeaderParameters(apis, format),
          requestBody: {
            required: true,
            description: "One terminal report per task. The body is built once, when the task finishes: every retry sends the same bytes.",
            content: {
              "application/json": {
                schema,
                // Built by the same function that builds real reports, so the examples cannot drift either.
                examples: {
                  completed: { summary: "predict() returned", value: buildReport(taskId, format, { status: "completed", resultJson: "7", finishedAt }) },
                  failed: {
                    summary: "predict() threw",
                    value: buildReport(taskId, format, {
                      status: "failed",
                      error: "model exploded",
                      traceback: "Error: model exploded\n    at SumPredictor.predict (predictors/sum.ts:9:11)",
                      finishedAt,
                    }),
                  },
                },
              },
            },
          },
          responses: {
            // No "410" key: a numeric key would sort first in JSON; 410 is worded under 4XX instead.
            "2XX": { description: "Delivered: the report is not sent again." },
            "4XX": { description: "Rejected for good: no retry, the webhook is failed (410 Gone included). Except 408, 409, 425 and 429, which are retried." },
            default: {
              description:
                "Anything else (5xx, 3xx, which is never followed, 408/409/425/429, a timeout or a connection error) is retried on retry_schedule_s. A Retry-After is honoured, capped at twice the scheduled wait.",
            },
          },
        },
      },
    },
  };
}

/** The headers of contract section 4 (content-type is implied by the request body, as OpenAPI requires). */
function reportHeaderParameters(apis: readonly ApiConfig[], format: ReportFormat): ParameterObject[] {
  const signing = apis.filter((api) => api.webhook.signingSecret !== undefined).map((api) => api.name);
  const headers: ParameterObject[] = [
    {
      name: "webhook-id",
      in: "header",
      required: true,
      description: "Standard Webhooks message id: msg_ followed by the task id. The same on every retry: deduplicate on it.",
      schema: { type: "string", pattern: "^msg_." },
      example: "msg_3f0c6f5e-8f5e-4a5c-9b1e-2d7c1f0e9a11",
    },
    {
      name: "webhook-timestamp",
      in: "header",
      required: true,
      description: "Unix seconds when this attempt was sent. Refuse reports too far from your clock (Standard Webhooks suggests 5 minutes).",
      schema: { type: "string", pattern: "^[0-9]+$" },
      example: String(Math.floor(EXAMPLE_FINISHED_AT / 1000) + 1),
    },
  ];
  if (signing.length > 0) {
    const all = signing.length === apis.length;
    headers.push({
      name: "webhook-signature",
      in: "header",
      required: all,
      description:
        (all ? "" : `Sent for the endpoints with a signing secret: ${signing.join(", ")}. `) +
        "`v1,` followed by the base64 HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}`, keyed by the base64-decoded part of the `whsec_` secret " +
        "(Standard Webhooks; its libraries verify it). Compare in constant time, over the raw body bytes.",
      schema: { type: "string", pattern: "^v1,[A-Za-z0-9+/]+={0,2}$" },
      example: "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=",
    });
  }
  if (format === "modelbit") {
    headers.push({
      name: MODELBIT_BATCH_ID_HEADER,
      in: "header",
      required: true,
      description: "The batchId the request was answered with (the task id).",
      schema: { type: "string", minLength: 1 },
    });
  }
  headers.push(
    {
      name: "x-request-id",
      in: "header",
      required: true,
      description: "The task id (the report's id or task_id).",
      schema: { type: "string", minLength: 1 },
    },
    {
      name: "user-agent",
      in: "header",
      required: true,
      description: "The runtime and its version.",
      schema: { type: "string", pattern: "^predictor-runtime/" },
      example: `predictor-runtime/${VERSION}`,
    },
  );
  return headers;
}

/** Where the report goes, how it authenticates and how it is retried, in the words of each API's config. */
function describeDelivery(format: ReportFormat, apis: readonly ApiConfig[]): string {
  const urlSource =
    format === "launch"
      ? "the request body's `callback_url`, else to the endpoint's configured `default_callback_url`"
      : "the `callback_url` query parameter of the submit, else to the API's configured `default_callback_url`";
  const lines = [
    format === "modelbit"
      ? "POSTed to the request body's `response_webhook`, whatever post_inference_hooks says (the request asked for it): the body the synchronous call would have answered."
      : `POSTed to ${urlSource} (not published here: a callback URL may carry a token). Without either, no report is sent and the task's webhook shows \`skipped\`.`,
    "",
    "Any 2xx answer delivers it. The body is JSON; `webhook-id` is stable across retries, so a receiver deduplicates on it.",
  ];
  if (format === "launch") {
    lines.push(
      "",
      "A request's `callback_auth` goes only to its own `callback_url`: `basic` as `Authorization: Basic`, `mtls` as the client certificate in the TLS handshake.",
    );
  }
  lines.push("");
  for (const api of apis) lines.push(`- \`${api.name}\`: ${describeApiDelivery(api)}`);
  return lines.join("\n");
}

/** One API's delivery settings in a sentence or two. */
function describeApiDelivery(api: ApiConfig): string {
  const { webhook } = api;
  const parts: string[] = [];
  parts.push(webhook.defaultCallbackUrl === undefined ? "no default receiver (a callback_url is needed)" : "a default receiver is configured");
  if (webhook.defaultCallbackAuth?.kind === "basic") parts.push("sends the default basic credentials, only to the default receiver's origin");
  if (webhook.defaultCallbackAuth?.kind === "mtls") parts.push("presents its client certificate (mTLS) to the receiver");
  parts.push(webhook.signingSecret === undefined ? "not signed" : "signed (`webhook-signature`)");
  const schedule = webhook.retryScheduleMs.map((ms) => ms / 1000);
  const attempts = schedule.length === 1 ? "1 attempt" : `up to ${schedule.length} attempts over about ${formatSeconds(schedule.reduce((a, b) => a + b, 0))}`;
  parts.push(`${attempts} (waits ${schedule.join(", ")} s, ±20% jitter), ${webhook.timeoutMs / 1000} s per attempt`);
  if (webhook.ignoreTimeout) parts.push("a timed-out attempt counts as delivered (ignore_timeout)");
  return `${parts.join("; ")}.`;
}

function formatSeconds(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 2 * 3600) return `${Math.round(seconds / 60)} min`;
  return `${Math.round((seconds / 3600) * 10) / 10} h`;
}
