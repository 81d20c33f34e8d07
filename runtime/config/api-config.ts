import type { CallbackAuth } from "../tasks/task.js";

/** Webhook settings of one API, resolved from cortex.yaml (units in names, PEM files read). */
export interface WebhookConfig {
  /** `post_inference_hooks` lists `callback`; without it no report is ever sent (Launch rule). */
  readonly callbackEnabled: boolean;
  readonly defaultCallbackUrl?: string;
  /** Default credentials; for mTLS the PEM text of the configured files. */
  readonly defaultCallbackAuth?: CallbackAuth;
  /** `whsec_<base64>`; when set, reports carry a Standard Webhooks signature. */
  readonly signingSecret?: string;
  /** Budget for one attempt's whole exchange. */
  readonly timeoutMs: number;
  /** A timed-out attempt counts as delivered (Modelbit). */
  readonly ignoreTimeout: boolean;
  /** Wait before each attempt; its length is the number of attempts. */
  readonly retryScheduleMs: readonly number[];
  /** CIDR ranges callbacks may reach even though they are private or loopback. */
  readonly allowNetworks: readonly string[];
}

/** One API of cortex.yaml, validated, defaulted and frozen. */
export interface ApiConfig {
  readonly name: string;
  readonly kind: "AsyncAPI" | "RealtimeAPI";
  readonly predictor: {
    /** A TypeScript class, or a Cortex `PythonPredictor` file. */
    readonly type: "typescript" | "python";
    /** Absolute path of the predictor's source (.ts, or .py for python). */
    readonly path: string;
    /** Passed to the predictor's constructor as it is. */
    readonly config: Readonly<Record<string, unknown>>;
    /** Isolated workers (threads for typescript, processes for python); 1 when inProcess. */
    readonly processesPerReplica: number;
    /** Predictions each worker runs at once. */
    readonly threadsPerProcess: number;
    /** typescript only: predict() runs on the server's event loop, not isolated. */
    readonly inProcess: boolean;
    /** python only: the interpreter, absolute when the config named a path, else looked up on PATH. */
    readonly pythonExecutable: string;
    /** A slower predict() fails its task; undefined means no limit. */
    readonly predictTimeoutMs?: number;
  };
  readonly webhook: WebhookConfig;
  /** Tasks queued plus running above which a submit is answered 503. */
  readonly maxReplicaConcurrency: number;
  /**
   * SHA-256 (hex) of each of networking.api_keys: the keys themselves are not kept, so no log, answer or thread
   * message can carry one. Empty or absent: the API is open.
   */
  readonly apiKeySha256?: readonly string[];
}

/** The whole loaded config. */
export interface RuntimeConfig {
  /** The config file as the user named it (used in messages). */
  readonly file: string;
  /** Folder relative paths in the file are resolved against. */
  readonly dir: string;
  readonly apis: readonly ApiConfig[];
  /** Things that are allowed but probably not meant; logged at start-up. */
  readonly warnings: readonly string[];
}
