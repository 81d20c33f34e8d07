/**
 * Every error the runtime raises on purpose. Code branches on `code` (or `instanceof`), never on message text;
 * messages are written for the person who has to fix the problem and never contain secrets.
 */
export const ErrorCode = {
  /** cortex.yaml is unreadable, unparsable or invalid (exit code 2). */
  configInvalid: "CONFIG_INVALID",
  /** A predictor module cannot be imported, has no class, or its constructor threw (exit code 2). */
  predictorLoad: "PREDICTOR_LOAD_FAILED",
  /** A predictor's setup() threw or rejected. */
  predictorSetup: "PREDICTOR_SETUP_FAILED",
  /** predict() ran longer than predict_timeout_s. */
  predictTimeout: "PREDICT_TIMEOUT",
  /** predict() returned something JSON cannot carry. */
  predictResultInvalid: "PREDICT_RESULT_INVALID",
  /** A client request is malformed; carries the HTTP status to answer with. */
  badRequest: "BAD_REQUEST",
  /** The named API does not exist. */
  unknownApi: "UNKNOWN_API",
  /** The task id is unknown (or belongs to another API). */
  unknownTask: "UNKNOWN_TASK",
  /** The API's queue holds max_replica_concurrency tasks already. */
  queueFull: "QUEUE_FULL",
  /** A callback URL or callback auth given with a request is invalid. */
  callbackInvalid: "CALLBACK_INVALID",
  /** A callback address is outside allow_networks (SSRF guard). */
  callbackAddressRefused: "CALLBACK_ADDRESS_REFUSED",
  /** A RealtimeAPI's predictor is still in setup(). */
  notReady: "NOT_READY",
  /** The request conflicts with the task's state: cancelling a finished task, redelivering a pending report. */
  conflict: "CONFLICT",
  /** The request carries no API key, or a wrong one, for an API with networking.api_keys. */
  unauthorized: "UNAUTHORIZED",
  /** The runtime is shutting down and takes no new work. */
  shuttingDown: "SHUTTING_DOWN",
  /** The HTTP port could not be bound. */
  listenFailed: "LISTEN_FAILED",
  /** The storage engine failed or was used after close(). */
  storage: "STORAGE_ERROR",
} as const;

/** One of the stable codes in {@link ErrorCode}. */
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Base class of every deliberate runtime error. */
export class RuntimeError extends Error {
  override readonly name: string = "RuntimeError";

  constructor(
    readonly code: ErrorCodeValue,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** One problem found in a config file, located as precisely as the parser allows. */
export interface ConfigProblem {
  /** The config file as the user named it. */
  file: string;
  /** 1-based line, when the YAML parser knows it. */
  line?: number;
  /** Key path such as `apis[0].webhook.timeout_s`. */
  path: string;
  message: string;
}

/** Formats a problem as `cortex.yaml:7 apis[0].webhook.timeout_s: must be number`. */
export function formatConfigProblem(problem: ConfigProblem): string {
  const where = problem.line === undefined ? problem.file : `${problem.file}:${problem.line}`;
  return problem.path ? `${where} ${problem.path}: ${problem.message}` : `${where}: ${problem.message}`;
}

/** The config is invalid; `problems` lists every problem found, one message each. */
export class ConfigError extends RuntimeError {
  override readonly name = "ConfigError";

  constructor(readonly problems: readonly ConfigProblem[]) {
    super(ErrorCode.configInvalid, problems.map(formatConfigProblem).join("\n"));
  }
}

/** What a {@link RequestError} adds to its answer besides `{"error"}`; never secrets. */
export interface RequestErrorExtras {
  cause?: unknown;
  /** More members of the JSON answer, after `error` (a 409's task `id` and `status`). */
  details?: Record<string, unknown>;
  /** Headers of the answer (a 401's `www-authenticate`). */
  headers?: Record<string, string>;
}

/** A request the client must change; `status` is the HTTP status it is answered with. */
export class RequestError extends RuntimeError {
  override readonly name = "RequestError";
  readonly details?: Record<string, unknown>;
  readonly headers?: Record<string, string>;

  constructor(
    code: ErrorCodeValue,
    readonly status: number,
    message: string,
    options?: RequestErrorExtras,
  ) {
    super(code, message, options?.cause === undefined ? undefined : { cause: options.cause });
    if (options?.details !== undefined) this.details = options.details;
    if (options?.headers !== undefined) this.headers = options.headers;
  }
}
