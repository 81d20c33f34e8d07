import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import type { ApiConfig, RuntimeConfig } from "./config/api-config.js";
import { ErrorCode, RequestError, RuntimeError } from "./errors.js";
import { consoleRoutes } from "./console/console-routes.js";
import { createApp } from "./http/app.js";
import { docsRoutes } from "./http/docs-routes.js";
import { metricsRoutes } from "./http/metrics-routes.js";
import { openApiRoutes } from "./http/openapi-routes.js";
import { createLogger } from "./log.js";
import { RuntimeMetrics } from "./metrics/runtime-metrics.js";
import { buildOpenApiDocument } from "./openapi/openapi-document.js";
import { createHost } from "./hosts/create-host.js";
import { DormantHost } from "./hosts/dormant-host.js";
import type { PredictorHost } from "./hosts/host.js";
import { PredictorLoadError } from "./predictor/load-predictor.js";
import type { Engine, EngineHooks, TaskWorker } from "./engine/engine.js";
import { StoreEngine } from "./engine/store-engine.js";
import { reportPlanner } from "./outbox/plan-report.js";
import { SqliteTaskStore } from "./store/sqlite-task-store.js";
import type { TaskStore } from "./store/task-store.js";
import { runBatch, type BatchItem } from "./tasks/batch.js";
import { TaskService, type ApiRuntime, type CallbackAddressCheck } from "./tasks/task-service.js";
import type { TaskOutcome } from "./tasks/task.js";
import { TaskWaiters } from "./tasks/task-waiters.js";
import { InThreadSender, networkGuards, type AttemptSender } from "./webhook/attempt-sender.js";
import { AttemptThread } from "./webhook/attempt-thread.js";
import { reportAttempter, reportLeaseMs } from "./webhook/report-attempt.js";
import { ApiCapacity } from "./worker/api-capacity.js";
import { ConcurrencyLimiter } from "./worker/concurrency-limiter.js";
import { refuseStoredPayload } from "./worker/run-prediction.js";

/** Options of {@link PredictorRuntime.start}. Units are in the names. */
export interface RuntimeOptions {
  config: RuntimeConfig;
  /** @defaultValue 8888; 0 picks a free port. */
  port?: number;
  /** @defaultValue "127.0.0.1" */
  host?: string;
  /** Folder of the SQLite task store. @defaultValue ".runtime" */
  dataDir?: string;
  /**
   * When the SQLite task store fsyncs. Either way an accepted task survives the process being killed, and writes
   * are group-committed off the event loop. `"interval"`: at least once a second, so a power cut can lose about the
   * last second of commits; `"commit"`: every commit, so a power cut loses nothing acknowledged, for ~15% more CPU
   * per task. @defaultValue "interval"
   */
  fsync?: "commit" | "interval";
  /** Longest a task store call may wait before its request fails with 503 and health probes fail. @defaultValue 30 000 ms */
  storeDeadlineMs?: number;
  /** Replaces the SQLite store: the engine runs over this store instead. */
  store?: TaskStore;
  /** Replaces the engine altogether (BullMQ for `--engine redis`); built with the core's hooks. */
  engine?: (context: EngineContext) => Engine;
  /**
   * What this process does, with an engine other processes share: `"api"` serves HTTP (and runs RealtimeAPIs) but
   * predicts no queued task and sends no report; `"worker"` predicts and delivers, serving only the operations
   * routes; `"all"` does both. @defaultValue "all"
   */
  role?: "all" | "api" | "worker";
  /**
   * Where webhook attempts are made: `"worker"`, a thread of their own, keeps the HTTP client's work off the event
   * loop that serves submits and runs predict(); `"main"` makes them on the event loop. @defaultValue "worker"
   */
  webhookThread?: "worker" | "main";
  /**
   * The key `/console` and its JSON ask for (`Authorization: Bearer KEY`); without one they answer loopback
   * clients only.
   */
  adminKey?: string;
  log?: Logger;
  /** @defaultValue 10 MiB */
  bodyLimitBytes?: number;
  /** How long shutdown waits for running predictions and due reports. @defaultValue 30 s */
  gracePeriodMs?: number;
  now?: () => number;
  random?: () => number;
}

/** What the runtime hands an engine it builds: the core's hooks, and the settings every engine reads. */
export interface EngineContext extends EngineHooks {
  /** How long a report is leased to one attempt: longer than the longest webhook.timeout_s. */
  reportLeaseMs: number;
  /** How long finished tasks are kept. */
  retentionMs: number;
  log: Logger;
  now: () => number;
}

/** Where the runtime is in its life; shared by the parts that answer for it. */
interface Lifecycle {
  /** New work is refused: shutdown began, or the runtime failed. */
  shuttingDown: boolean;
  /** Set when the runtime can no longer work (see {@link PredictorRuntime.failed}). */
  failure?: Error;
}

/** How long finished tasks and their results are kept (contract section 3). */
export const RESULT_RETENTION_MS = 7 * 24 * 60 * 60 * 1000; // 7 days
const DEFAULT_GRACE_PERIOD_MS = 30_000;

/** Several predictors could not be loaded; each cause is in `errors`. */
export class PredictorsLoadError extends RuntimeError {
  override readonly name = "PredictorsLoadError";

  constructor(readonly errors: PredictorLoadError[]) {
    super(ErrorCode.predictorLoad, errors.map((error) => error.message).join("\n"));
  }
}

/**
 * The whole runtime, wired in the direction data flows: HTTP surface -> core (TaskService) -> engine -> predictor
 * host -> engine (outcome and report) -> report attempt -> receiver. `start()` resolves once it listens; `ready`
 * once every setup() finished.
 */
export class PredictorRuntime {
  /** Resolves when every predictor's setup() finished; rejects with the first that failed. */
  readonly ready: Promise<void>;
  readonly #server: Server;
  readonly #engine: Engine;
  readonly #apis: Map<string, ApiRuntime>;
  readonly #sender: AttemptSender;
  readonly #log: Logger;
  readonly #gracePeriodMs: number;
  /** Shared with the TaskService, which refuses new work once shutdown began, and the health routes. */
  readonly #lifecycle: Lifecycle;
  /**
   * Resolves with the cause if the runtime can no longer work: its engine stopped for good (see Engine.failure).
   * It then refuses new work and fails /healthz; the process should exit so a supervisor restarts it, and the next
   * start resumes every committed task and report. Never settles otherwise.
   */
  readonly failed: Promise<Error>;
  #closing: Promise<void> | undefined;

  private constructor(parts: {
    server: Server;
    engine: Engine;
    apis: Map<string, ApiRuntime>;
    sender: AttemptSender;
    log: Logger;
    gracePeriodMs: number;
    ready: Promise<void>;
    lifecycle: Lifecycle;
  }) {
    this.#lifecycle = parts.lifecycle;
    this.#server = parts.server;
    this.#engine = parts.engine;
    this.#apis = parts.apis;
    this.#sender = parts.sender;
    this.#log = parts.log;
    this.#gracePeriodMs = parts.gracePeriodMs;
    this.ready = parts.ready;
    this.failed = parts.engine.failure.then((error) => {
      this.#lifecycle.failure = error;
      this.#lifecycle.shuttingDown = true;
      this.#log.fatal(
        { err: error },
        "the task store stopped: no task can be stored or finished any more; the runtime must restart, and committed tasks and reports resume then",
      );
      return error;
    });
  }

  /**
   * Loads every predictor (all load errors reported together, nothing started if any fails), opens the engine,
   * recovers what a previous process left, and listens.
   */
  static async start(options: RuntimeOptions): Promise<PredictorRuntime> {
    const log = options.log ?? createLogger();
    const now = options.now ?? Date.now;
    const { config } = options;
    for (const warning of config.warnings) log.warn(warning);

    const role = options.role ?? "all";
    const works = role !== "api";
    const apiConfigs = new Map(config.apis.map((api) => [api.name, api]));
    const apis = new Map<string, ApiRuntime>();
    const lifecycle: Lifecycle = { shuttingDown: false };
    const metrics = new RuntimeMetrics({ apis: config.apis, now });
    let waiters: TaskWaiters | undefined;
    const context: EngineContext = {
      planReport: reportPlanner(apiConfigs, now, options.random),
      onTaskSettled: (task, outcome) => {
        apis.get(task.api)?.capacity.release();
        metrics.taskFinished(task, outcome);
        waiters?.settled(task.id);
      },
      reportLeaseMs: reportLeaseMs(config.apis),
      retentionMs: RESULT_RETENTION_MS,
      log,
      now,
    };
    const engine = options.engine?.(context) ?? storeEngine(options, context);
    waiters = new TaskWaiters(engine);

    // Predictor workers load while the engine opens (each side starts threads of its own).
    const hostsLoading = loadHosts(config.apis, role, log, now);
    hostsLoading.catch(() => undefined); // Awaited below, after the engine either way.
    const [loaded, opened] = await Promise.allSettled([hostsLoading, engine.open()]);
    if (loaded.status === "rejected" || opened.status === "rejected") {
      // A predictor that cannot load is the error to report, as when nothing else had started.
      if (loaded.status === "fulfilled") await Promise.all([...loaded.value.values()].map((host) => host.close()));
      await engine.close().catch(() => undefined);
      throw loaded.status === "rejected" ? loaded.reason : (opened as PromiseRejectedResult).reason;
    }
    const hosts = loaded.value;
    for (const warning of engine.warnings) log.warn(warning);
    log.info({ ...opened.value, role, engine: engine.name }, "task store opened");
    const sender: AttemptSender = options.webhookThread === "main" ? new InThreadSender(config.apis) : new AttemptThread(config.apis, { log });
    try {
      const guards = networkGuards(config.apis);
      const checkCallbackAddress: CallbackAddressCheck = (url, api) => {
        const refusal = guards.get(api.name)?.refusedLiteral(url.hostname);
        if (refusal !== undefined) {
          throw new RequestError(ErrorCode.callbackAddressRefused, 400, `callback_url refused: ${refusal.message}`, { cause: refusal });
        }
      };

      for (const api of config.apis) {
        const host = hosts.get(api.name)!;
        const capacity = new ApiCapacity(api.maxReplicaConcurrency, await engine.countUnfinished(api.name));
        const runtime: ApiRuntime =
          api.kind === "AsyncAPI"
            ? { config: api, host, capacity, ready: false, running: 0 }
            : { config: api, host, capacity, ready: false, running: 0, limiter: new ConcurrencyLimiter(host.capacity) };
        apis.set(api.name, runtime);
      }

      metrics.observe(apis);
      const service = new TaskService({
        apis,
        engine,
        now,
        checkCallbackAddress,
        waiters,
        isShuttingDown: () => lifecycle.shuttingDown,
        onTaskCreated: (task) => metrics.taskSubmitted(task),
        onPredicted: (api, outcome, durationMs) => metrics.predicted(api, outcome, durationMs),
      });
      const app = createApp({
        service,
        apis,
        log,
        failure: () => lifecycle.failure ?? engine.stalled(),
        ...(options.bodyLimitBytes === undefined ? {} : { bodyLimitBytes: options.bodyLimitBytes }),
        serveApis: role !== "worker",
        prefixedRoutes: {
          "/docs": docsRoutes(),
          // A worker process serves operations routes only; the console is on the processes that serve the APIs.
          ...(role === "worker" ? {} : { "/console": consoleRoutes({
            engine,
            apis: apiConfigs,
            access: options.adminKey === undefined ? { kind: "loopback" } : { kind: "admin-key", key: options.adminKey },
            now,
          }) }),
        },
        extraRoutes: [metricsRoutes(metrics), openApiRoutes(buildOpenApiDocument(config.apis))],
      });
      const server = createServer(app);
      await listen(server, options.port ?? 8888, options.host ?? "127.0.0.1");
      if (works) {
        engine.deliver(
          reportAttempter({
            apis: apiConfigs,
            sender,
            log,
            now,
            ...(options.random ? { random: options.random } : {}),
            onAttempt: (delivery, outcome, update, durationMs) => metrics.webhookAttempt(delivery, outcome, update, durationMs),
          }),
        );
      }

      const ready = runSetups(apis, log, (api) => {
        // Every API's queue is worked: an AsyncAPI's tasks, and a RealtimeAPI's requests that asked for a webhook
        // (Modelbit's response_webhook), which are stored as tasks so none is lost.
        if (works) engine.work(api.config.name, taskWorker(api, now));
      });
      ready.catch(() => undefined); // The caller decides what a failed setup means; never an unhandled rejection.
      const runtime = new PredictorRuntime({
        server,
        engine,
        apis,
        sender,
        log,
        gracePeriodMs: options.gracePeriodMs ?? DEFAULT_GRACE_PERIOD_MS,
        ready,
        lifecycle,
      });
      log.info({ url: runtime.url, apis: [...apis.keys()] }, "serving");
      return runtime;
    } catch (error) {
      await Promise.all([...hosts.values()].map((host) => host.close()));
      await sender.close();
      await engine.close();
      throw error;
    }
  }

  /** Base URL the runtime listens on, such as `http://127.0.0.1:8888`. */
  get url(): string {
    const address = this.#server.address() as AddressInfo;
    const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}`;
  }

  /** The TCP port it listens on. */
  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /**
   * Graceful shutdown: stop accepting, let running predictions finish and their reports go out within the grace
   * period, then close the store. What is left (tasks still running, reports not yet delivered) is in the store and
   * resumes on the next start.
   */
  close(gracePeriodMs: number = this.#gracePeriodMs): Promise<void> {
    this.#closing ??= this.#shutdown(gracePeriodMs);
    return this.#closing;
  }

  async #shutdown(gracePeriodMs: number): Promise<void> {
    this.#log.info({ gracePeriodMs }, "shutting down");
    this.#lifecycle.shuttingDown = true;
    const serverClosed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    await this.#engine.stop(gracePeriodMs);
    await Promise.all([...this.#apis.values()].map((api) => api.host.close()));
    await this.#sender.close();
    this.#server.closeAllConnections();
    await serverClosed;
    await this.#engine.close();
    this.#log.info("stopped");
    this.#log.flush();
  }
}

/** The embedded engine: the SQLite store (or the store given), with this process owning the queue's timing. */
function storeEngine(options: RuntimeOptions, context: EngineContext): Engine {
  const { log } = context;
  const store =
    options.store ??
    new SqliteTaskStore({
      dataDir: options.dataDir ?? ".runtime",
      synchronous: options.fsync === "commit" ? "full" : "normal",
      ...(options.storeDeadlineMs === undefined ? {} : { callDeadlineMs: options.storeDeadlineMs }),
      onStallChange: (stall) => {
        if (stall !== undefined) log.error({ reason: stall.message }, "the task store stopped answering: requests fail with 503 and /healthz and /readyz answer 503 until it answers again");
        else log.warn("the task store answers again");
      },
    });
  return new StoreEngine({ ...context, store, name: store.constructor.name.replace(/TaskStore$/, "").toLowerCase() });
}

/**
 * How the engine runs an API's queued tasks here: through its host, one slot per prediction. A stored payload the
 * runtime no longer accepts fails alone; the host enforces predict_timeout_s and passes an abort (a cancel,
 * shutdown) on to predict(). A batch takes one slot and runs its items one at a time.
 */
function taskWorker(api: ApiRuntime, now: () => number): TaskWorker {
  const { host } = api;
  return {
    concurrency: host.capacity,
    predict: async (task, signal): Promise<TaskOutcome> => {
      api.running++;
      try {
        const refused = refuseStoredPayload(task.payloadJson);
        if (refused !== undefined) return refused;
        if (!task.batch) return await host.predict(task.payloadJson, task.id, signal);
        return await runBatch(
          JSON.parse(task.payloadJson) as BatchItem[],
          (payload, itemId) => host.predict(JSON.stringify(payload) ?? "null", `${task.id}/${itemId}`, signal),
          { concurrency: 1, now },
        );
      } finally {
        api.running--;
      }
    },
  };
}

/** Starts every API's host and loads its predictor in each worker, at once; all load errors are reported together. */
async function loadHosts(apis: readonly ApiConfig[], role: "all" | "api" | "worker", log: Logger, now: () => number): Promise<Map<string, PredictorHost>> {
  // Predictions run where their work is taken: AsyncAPIs in processes that work (not --role api), RealtimeAPIs in
  // processes that serve API routes (not --role worker). Elsewhere no worker starts and no model is loaded.
  const runsHere = (api: ApiConfig): boolean => (api.kind === "AsyncAPI" ? role !== "api" : role !== "worker");
  const hosts = new Map<string, PredictorHost>(
    apis.map((api) => [
      api.name,
      runsHere(api)
        ? createHost(api, log, now)
        : new DormantHost(api.predictor.processesPerReplica * api.predictor.threadsPerProcess, `API "${api.name}" does not run predictions in a --role ${role} process`),
    ]),
  );
  const results = await Promise.allSettled([...hosts.values()].map((host) => host.load()));
  const errors: PredictorLoadError[] = [];
  for (const result of results) {
    if (result.status === "fulfilled") continue;
    if (result.reason instanceof PredictorLoadError) errors.push(result.reason);
    else errors.push(new PredictorLoadError("(unknown)", String(result.reason)));
  }
  if (errors.length > 0) {
    await Promise.all([...hosts.values()].map((host) => host.close()));
    throw new PredictorsLoadError(errors);
  }
  return hosts;
}

/** Awaits every setup() at once; an API starts working as soon as its own setup() finished. */
async function runSetups(apis: Map<string, ApiRuntime>, log: Logger, onReady: (api: ApiRuntime) => void): Promise<void> {
  await Promise.all(
    [...apis.values()].map(async (api) => {
      const started = Date.now();
      try {
        await api.host.setup();
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        log.error({ api: api.config.name, err: error }, "predictor setup() failed");
        throw new RuntimeError(ErrorCode.predictorSetup, `setup() of the predictor ${api.config.predictor.path} (API ${api.config.name}) failed: ${message}`, { cause: error });
      }
      api.ready = true;
      onReady(api);
      log.info({ api: api.config.name, setupMs: Date.now() - started }, "predictor ready");
    }),
  );
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      server.off("listening", onListening);
      if (error.code === "EADDRINUSE") {
        reject(new RuntimeError(ErrorCode.listenFailed, `port ${port} on ${host} is already in use; stop the other process or pass --port`, { cause: error }));
      } else {
        reject(error);
      }
    };
    const onListening = (): void => {
      server.off("error", onError);
      resolve();
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(port, host);
  });
}
