import type { ApiConfig } from "../config/api-config.js";
import { ErrorCode, RequestError } from "../errors.js";
import type { PredictorHost } from "../hosts/host.js";
import type { Engine } from "../engine/engine.js";
import { parseCallbackUrl } from "../webhook/callback-url.js";
import { clientCertificateProblem } from "../webhook/client-certificate.js";
import type { ApiCapacity } from "../worker/api-capacity.js";
import type { ConcurrencyLimiter } from "../worker/concurrency-limiter.js";
import { runBatch, type BatchItem } from "./batch.js";
import { newTaskId } from "./task-id.js";
import type { TaskWaiters } from "./task-waiters.js";
import { FINISHED_STATUSES, type CallbackTarget, type NewTask, type ReportFormat, type TaskOutcome, type TaskRecord, type TaskStatus } from "./task.js";

/** Everything the runtime holds for one API. */
export interface ApiRuntime {
  readonly config: ApiConfig;
  /** Where predict() runs. */
  readonly host: PredictorHost;
  readonly capacity: ApiCapacity;
  /** RealtimeAPI only: predictions running at once. */
  readonly limiter?: ConcurrencyLimiter;
  /** Queued predictions running in this process now (the engine runs them through the host). */
  running: number;
  /** setup() has finished. */
  ready: boolean;
}

/** A task submission, whichever surface it came through. */
export interface SubmitRequest {
  /** The payload as JSON text (as it arrived, where the surface has it): stored and handed on as text. */
  payloadJson: string;
  format: ReportFormat;
  /** The client's x-request-id. */
  idempotencyKey?: string;
  callback?: CallbackTarget;
  /** The payload is a batch of [ID, payload] items (see NewTask.batch). */
  batch?: boolean;
}

/** Checks a callback address against the API's network policy; throws a RequestError (400) when refused. */
export type CallbackAddressCheck = (url: URL, api: ApiConfig) => void;

/** Options of {@link TaskService}. */
export interface TaskServiceOptions {
  apis: ReadonlyMap<string, ApiRuntime>;
  engine: Pick<Engine, "submit" | "findByIdempotencyKey" | "get" | "cancel" | "redeliver" | "redeliverFailed">;
  checkCallbackAddress?: CallbackAddressCheck;
  /** Where a request waits for its task to finish (the synchronous Modelbit form on an AsyncAPI). */
  waiters?: TaskWaiters;
  /** True once shutdown began: new work is refused with 503. */
  isShuttingDown?: () => boolean;
  /** Called once per new task (not for a repeated idempotency key); for metrics. */
  onTaskCreated?: (task: TaskRecord) => void;
  /** Called after each RealtimeAPI prediction with the time predict() took; for metrics. */
  onPredicted?: (api: string, outcome: TaskOutcome, durationMs: number) => void;
  /** @defaultValue {@link newTaskId} (time-ordered UUIDs) */
  newId?: () => string;
  now?: () => number;
}

/** Longest x-request-id accepted; it is stored and indexed per task. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 256;

/**
 * The one core behind both HTTP surfaces: submit, look up, predict now. Adapters translate their wire forms to and
 * from these calls and never decide anything themselves.
 */
export class TaskService {
  readonly #options: TaskServiceOptions;
  readonly #newId: () => string;
  readonly #now: () => number;

  constructor(options: TaskServiceOptions) {
    this.#options = options;
    this.#newId = options.newId ?? (() => newTaskId());
    this.#now = options.now ?? Date.now;
  }

  /** The names of every API, for messages. */
  get apiNames(): string[] {
    return [...this.#options.apis.keys()];
  }

  /** The API called `name`, or a 404 naming the APIs that exist. */
  api(name: string): ApiRuntime {
    const api = this.#options.apis.get(name);
    if (api === undefined) {
      throw new RequestError(ErrorCode.unknownApi, 404, `no API named "${name}"; this runtime serves: ${this.apiNames.join(", ") || "(none)"}`);
    }
    return api;
  }

  /**
   * Queues a task on an AsyncAPI. Resolves once the task is stored; a repeat of an idempotency key resolves to the
   * first task (created: false) and never runs predict() again.
   */
  async submit(apiName: string, request: SubmitRequest): Promise<{ task: TaskRecord; created: boolean }> {
    const api = this.api(apiName);
    // A RealtimeAPI queues only requests that asked for a webhook (Modelbit's response_webhook): they answer at once
    // and must survive a restart until their report is stored.
    if (api.config.kind !== "AsyncAPI" && request.callback?.requested !== true) {
      throw new RequestError(ErrorCode.badRequest, 400, `API "${apiName}" is a RealtimeAPI; POST /${apiName} answers with the result directly`);
    }
    this.#refuseWhenShuttingDown();
    if (request.idempotencyKey !== undefined) validateIdempotencyKey(request.idempotencyKey);
    if (request.callback !== undefined) this.#validateCallback(request.callback, api.config);

    if (!api.capacity.tryReserve()) {
      // A repeat is not new work: a client retrying a submit whose answer it lost gets its task even when full.
      const existing = request.idempotencyKey === undefined ? undefined : await this.#options.engine.findByIdempotencyKey(apiName, request.idempotencyKey);
      if (existing !== undefined) return { task: existing, created: false };
      throw queueFull(api);
    }
    const task: NewTask = { id: this.#newId(), api: apiName, format: request.format, payloadJson: request.payloadJson, createdAt: this.#now() };
    if (request.idempotencyKey !== undefined) task.idempotencyKey = request.idempotencyKey;
    if (request.callback !== undefined) task.callback = request.callback;
    if (request.batch === true) task.batch = true;
    let result: { task: TaskRecord; created: boolean };
    try {
      result = await this.#options.engine.submit(task);
    } catch (error) {
      api.capacity.release();
      throw error;
    }
    if (result.created) this.#options.onTaskCreated?.(result.task);
    else api.capacity.release();
    return result;
  }

  /** A task of `apiName` (any API when undefined), or a 404. */
  async get(apiName: string | undefined, id: string): Promise<TaskRecord> {
    if (apiName !== undefined) this.api(apiName);
    const task = await this.#options.engine.get(id);
    if (task === undefined || (apiName !== undefined && task.api !== apiName)) throw unknownTask(id, apiName);
    return task;
  }

  /**
   * Cancels a task of `apiName` that has not finished: a queued one never runs, a running one sees its predict()
   * signal abort. It ends `cancelled`, and its report (when the API sends reports) says so. A finished task is a
   * 409 that carries its status.
   */
  async cancel(apiName: string, id: string): Promise<{ id: string; status: "cancelled" }> {
    const task = await this.get(apiName, id);
    if (FINISHED_STATUSES.includes(task.status)) throw alreadyFinished(task.id, task.status);
    // The engine stops it wherever it runs and settles it (capacity, waiting requests) through onTaskSettled.
    const before = await this.#options.engine.cancel(task);
    if (before === undefined) throw unknownTask(id, apiName);
    if (before !== "in_queue" && before !== "in_progress") throw alreadyFinished(task.id, before); // It finished between the read and the cancel.
    return { id: task.id, status: "cancelled" };
  }

  /**
   * Sends a finished task's report again: the same body and webhook-id, a fresh attempt schedule starting now. A 409
   * while a delivery is still pending, for a task that has not finished, and for one that has no report.
   */
  async redeliver(apiName: string, id: string): Promise<TaskRecord> {
    const task = await this.get(apiName, id);
    const result = await this.#options.engine.redeliver(id);
    switch (result) {
      case "scheduled":
        return { ...task, webhook: { status: "pending", attempts: 0 } };
      case "unknown":
        throw unknownTask(id, apiName);
      case "unfinished":
        throw new RequestError(
          ErrorCode.conflict,
          409,
          `task "${id}" has not finished (status ${task.status}), so it has no report yet; its report is sent when it finishes`,
          { details: { id, status: task.status } },
        );
      case "pending":
        throw new RequestError(
          ErrorCode.conflict,
          409,
          `a delivery of task "${id}"'s report is still pending (${task.webhook?.attempts ?? 0} attempts so far); redeliver once its webhook status is delivered or failed`,
          { details: { id, status: task.status, webhook: { status: "pending", attempts: task.webhook?.attempts ?? 0 } } },
        );
      case "credentials-erased":
        throw new RequestError(
          ErrorCode.conflict,
          409,
          `task "${id}"'s report was sent with per-request credentials (callback_auth), which are erased once a report is delivered or finally failed, so it cannot be sent again with them; submit the task again with its callback_auth`,
          { details: { id, status: task.status } },
        );
      case "no-report": {
        const why = task.webhook?.lastError ?? `API "${task.api}" does not list callback in webhook.post_inference_hooks`;
        throw new RequestError(ErrorCode.conflict, 409, `task "${id}" has no report to redeliver (${why})`, { details: { id, status: task.status } });
      }
    }
  }

  /**
   * Redelivers up to `limit` reports of `apiName` that finally failed, of tasks finished at or after `since` (epoch
   * ms), oldest first; resolves to their ids and whether more may be left (call again for the next page).
   */
  async redeliverFailed(apiName: string, since: number, limit: number): Promise<{ taskIds: string[]; more: boolean }> {
    this.api(apiName);
    const taskIds = await this.#options.engine.redeliverFailed(apiName, since, limit);
    return { taskIds, more: taskIds.length === limit };
  }

  /**
   * Queues a task (as {@link submit}) and resolves once it finished, with its outcome: the synchronous form of a
   * surface whose caller waits (Modelbit on an AsyncAPI). `signal` (the client went away) stops the wait, not the task.
   */
  async submitAndWait(apiName: string, request: SubmitRequest, signal?: AbortSignal): Promise<TaskOutcome | undefined> {
    const waiters = this.#options.waiters;
    if (waiters === undefined) throw new RequestError(ErrorCode.badRequest, 400, "this runtime cannot wait for tasks");
    const { task } = await this.submit(apiName, request);
    return (await waiters.finished(task.id, signal))?.outcome;
  }

  /** Runs predict() once per item of a batch now, for a RealtimeAPI (each within its limits), folded by {@link runBatch}. */
  async predictBatchNow(apiName: string, items: readonly BatchItem[], requestId: string = this.#newId()): Promise<TaskOutcome> {
    const api = this.api(apiName);
    return runBatch(items, (payload, itemId) => this.predictNow(apiName, JSON.stringify(payload) ?? "null", `${requestId}/${itemId}`), {
      concurrency: api.config.predictor.threadsPerProcess,
      now: this.#now,
    });
  }

  /** Runs predict() now for a RealtimeAPI, within its concurrency and capacity limits. */
  async predictNow(apiName: string, payloadJson: string, requestId: string = this.#newId()): Promise<TaskOutcome> {
    const api = this.api(apiName);
    if (api.limiter === undefined) {
      throw new RequestError(ErrorCode.badRequest, 400, `API "${apiName}" is an AsyncAPI; POST /${apiName} queues a task and answers 202 with its id`);
    }
    this.#refuseWhenShuttingDown();
    if (!api.ready) {
      throw new RequestError(ErrorCode.notReady, 503, `API "${apiName}" is still running its predictor's setup(); retry once GET /readyz answers 200`);
    }
    if (!api.capacity.tryReserve()) throw queueFull(api);
    try {
      await api.limiter.acquire();
      try {
        const started = performance.now();
        const outcome = await api.host.predict(payloadJson, requestId);
        this.#options.onPredicted?.(apiName, outcome, performance.now() - started);
        return outcome;
      } finally {
        api.limiter.release();
      }
    } finally {
      api.capacity.release();
    }
  }

  #validateCallback(callback: CallbackTarget, api: ApiConfig): void {
    if (callback.url !== undefined) {
      const parsed = parseCallbackUrl(callback.url);
      if ("problem" in parsed) {
        throw new RequestError(ErrorCode.callbackInvalid, 400, `callback_url ${parsed.problem}`);
      }
      this.#options.checkCallbackAddress?.(parsed.url, api);
    } else if (callback.auth !== undefined && api.webhook.defaultCallbackUrl === undefined) {
      throw new RequestError(
        ErrorCode.callbackInvalid,
        400,
        `callback_auth was given without callback_url, and API "${api.name}" has no default_callback_url to use it with; give callback_url too`,
      );
    }
    if (callback.auth?.kind === "mtls") {
      const problem = clientCertificateProblem(callback.auth, this.#now());
      if (problem !== undefined) throw new RequestError(ErrorCode.callbackInvalid, 400, `callback_auth.${problem.field} ${problem.message}`);
    }
  }

  #refuseWhenShuttingDown(): void {
    if (this.#options.isShuttingDown?.()) {
      throw new RequestError(ErrorCode.shuttingDown, 503, "the runtime is shutting down and takes no new work; retry against another replica or after restart");
    }
  }
}

function queueFull(api: ApiRuntime): RequestError {
  return new RequestError(
    ErrorCode.queueFull,
    503,
    `API "${api.config.name}" already holds ${api.capacity.max} tasks (autoscaling.max_replica_concurrency); retry later or raise the limit`,
  );
}

function unknownTask(id: string, apiName: string | undefined): RequestError {
  const where = apiName === undefined ? "" : ` of API "${apiName}"`;
  return new RequestError(ErrorCode.unknownTask, 404, `no task "${id}"${where}; task results are kept for 7 days`);
}

function alreadyFinished(id: string, status: TaskStatus): RequestError {
  return new RequestError(ErrorCode.conflict, 409, `task "${id}" already finished (${status}); only a queued or running task can be cancelled`, {
    details: { id, status },
  });
}

function validateIdempotencyKey(key: string): void {
  if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH || !/^[\x21-\x7e]+$/.test(key)) {
    throw new RequestError(
      ErrorCode.badRequest,
      400,
      `x-request-id must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} visible ASCII characters without spaces (a UUID works well)`,
    );
  }
}
