/**
 * JSON Schema of cortex.yaml (contract section 1): every key, its type and its default, in one place.
 * Defaults live here and nowhere else; `useDefaults` fills them in while validating.
 */

/** Default per-attempt budget for a webhook exchange, in seconds. */
/**
 * Longest wait, in seconds, a Node timer holds (2^31 - 1 ms, about 24.8 days): a longer one fires at once, which
 * would fail every task (or retry every report) immediately, so the config refuses it at start-up.
 */
export const MAX_TIMER_S = 2_147_483;

export const DEFAULT_WEBHOOK_TIMEOUT_S = 10;
/** Default wait before each webhook attempt, in seconds (Svix's schedule: 8 attempts over about 27.6 hours). */
export const DEFAULT_RETRY_SCHEDULE_S = [0, 5, 300, 1800, 7200, 18000, 36000, 36000] as const;
/** Default cap on tasks queued plus running per API (Cortex's default). */
export const DEFAULT_MAX_REPLICA_CONCURRENCY = 1024;

/** API names the runtime's own routes use; an API may not take them. */
export const RESERVED_API_NAMES = ["healthz", "readyz", "metrics", "docs", "v1", "console"] as const;

const basicAuthSchema = {
  type: "object",
  additionalProperties: false,
  required: ["kind", "username", "password"],
  properties: {
    kind: { const: "basic" },
    username: { type: "string", minLength: 1 },
    password: { type: "string", minLength: 1 },
  },
} as const;

const mtlsAuthSchema = {
  type: "object",
  additionalProperties: false,
  required: ["kind", "cert", "key"],
  properties: {
    kind: { const: "mtls" },
    cert: { type: "string", minLength: 1 },
    key: { type: "string", minLength: 1 },
    ca: { type: "string", minLength: 1 },
  },
} as const;

const apiSchema = {
  type: "object",
  additionalProperties: false,
  required: ["name", "kind", "predictor"],
  properties: {
    name: { type: "string", pattern: "^[a-z0-9-]{1,63}$" },
    kind: { enum: ["AsyncAPI", "RealtimeAPI"] },
    predictor: {
      type: "object",
      additionalProperties: false,
      required: ["type", "path"],
      properties: {
        type: { enum: ["typescript", "python"] },
        path: { type: "string", minLength: 1 },
        config: { type: "object", default: {} },
        processes_per_replica: { type: "integer", minimum: 1, maximum: 256, default: 1 },
        threads_per_process: { type: "integer", minimum: 1, maximum: 10000, default: 1 },
        in_process: { type: "boolean", default: false },
        python_executable: { type: "string", minLength: 1 },
        predict_timeout_s: { type: "number", exclusiveMinimum: 0, maximum: MAX_TIMER_S },
      },
    },
    webhook: {
      type: "object",
      additionalProperties: false,
      default: {},
      properties: {
        post_inference_hooks: { type: "array", items: { enum: ["callback"] }, uniqueItems: true, default: [] },
        default_callback_url: { type: "string", minLength: 1 },
        default_callback_auth: {
          type: "object",
          required: ["kind"],
          properties: { kind: { enum: ["basic", "mtls"] } },
          discriminator: { propertyName: "kind" },
          oneOf: [basicAuthSchema, mtlsAuthSchema],
        },
        signing_secret: { type: "string", pattern: "^whsec_" },
        timeout_s: { type: "number", exclusiveMinimum: 0, maximum: 3600, default: DEFAULT_WEBHOOK_TIMEOUT_S },
        ignore_timeout: { type: "boolean", default: false },
        retry_schedule_s: {
          type: "array",
          minItems: 1,
          maxItems: 100,
          items: { type: "number", minimum: 0, maximum: MAX_TIMER_S },
          default: [...DEFAULT_RETRY_SCHEDULE_S],
        },
        allow_networks: { type: "array", items: { type: "string", minLength: 1 }, default: [] },
      },
    },
    autoscaling: {
      type: "object",
      additionalProperties: false,
      default: {},
      properties: {
        max_replica_concurrency: { type: "integer", minimum: 1, default: DEFAULT_MAX_REPLICA_CONCURRENCY },
      },
    },
    networking: {
      type: "object",
      additionalProperties: false,
      default: {},
      properties: {
        // Each key's form is checked by the loader, whose messages never quote a key.
        api_keys: { type: "array", items: { type: "string" }, default: [] },
      },
    },
  },
} as const;

/** The whole file: a list of API specs. */
export const configSchema = {
  $id: "https://predictor-runtime.dev/schemas/cortex.yaml.json",
  type: "array",
  minItems: 1,
  items: apiSchema,
} as const;

/** cortex.yaml as written, after defaults are filled in (snake_case, as in the file). */
export interface RawApiSpec {
  name: string;
  kind: "AsyncAPI" | "RealtimeAPI";
  predictor: {
    type: "typescript" | "python";
    path: string;
    config: Record<string, unknown>;
    processes_per_replica: number;
    threads_per_process: number;
    in_process: boolean;
    python_executable?: string;
    predict_timeout_s?: number;
  };
  webhook: {
    post_inference_hooks: "callback"[];
    default_callback_url?: string;
    default_callback_auth?:
      | { kind: "basic"; username: string; password: string }
      | { kind: "mtls"; cert: string; key: string; ca?: string };
    signing_secret?: string;
    timeout_s: number;
    ignore_timeout: boolean;
    retry_schedule_s: number[];
    allow_networks: string[];
  };
  autoscaling: { max_replica_concurrency: number };
  networking: { api_keys: string[] };
}
