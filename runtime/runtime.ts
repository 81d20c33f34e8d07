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
import { Outbox } from "./outbox/outbox.js";
import { SqliteTaskStore } from "./store/sqlite-task-store.js";
import type { TaskStore } from "./store/task-store.js";
import { TaskService, type ApiRuntime, type CallbackAddressCheck } from "./tasks/task-service.js";
import { TaskWaiters } from "./tasks/task-waiters.js";
import { InThreadSender, networkGuards, type AttemptSender } from "./webhook/attempt-sender.js";
import { AttemptThread } from "./webhook/attempt-thread.js";
import { WebhookDispatcher } from "./webhook/webhook-dispatcher.js";
import { ApiCapacity } from "./worker/api-capacity.js";
import { ApiWorker } from "./worker/api-worker.js";
import { ConcurrencyLimiter } from "./worker/concurrency-limiter.js";

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
  /** Replaces the SQLite store (another engine, such as the RedisTaskStore of `--engine redis`). */
  store?: TaskStore;
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

/** Where the runtime is in its life; shared by the parts that answer for it. */
interface Lifecycle {
  /** New work is refused: shutdown began, or the runtime failed. */
  shuttingDown: boolean;
  /** Set when the runtime can no longer work (see {@link PredictorRuntime.failed}). */
  failure?: Error;
}

/** How long finished tasks and their results are kept (contract section 3). */
export const RESULT_RETENTION_MS = 7 * 24 * 60 * 60 * 1000; // 7 days
const SWEEP_INTERVAL_MS = 60 * 60 * 1000; // 1 h
const DEFAULT_GRACE_PERIOD_MS = 30_000;
/** With a shared engine, how often a worker looks for its running tasks being cancelled by another process. */
const CANCEL_CHECK_MS = 1000;

/** Several predictors could not be loaded; each cause is in `errors`. */
export class PredictorsLoadError extends RuntimeError {
  override readonly name = "PredictorsLoadError";

  constructor(readonly errors: PredictorLoadError[]) {
    super(ErrorCode.predictorLoad, errors.map((error) => error.message).join("\n"));
  }
}

/**
 * The whole runtime, wired in the direction data flows: HTTP surface -> task store -> worker -> predictor ->
 * outbox -> dispatcher -> receiver. `start()` resolves once it listens; `ready` once every setup() finished.
 */
export class PredictorRuntime {
  /** Resolves when every predictor's setup() finished; rejects with the first that failed. */
  readonly ready: Promise<void>;
  readonly #server: Server;
  readonly #store: TaskStore;
  readonly #apis: Map<string, ApiRuntime>;
  readonly #dispatcher: WebhookDispatcher;
  readonly #sender: AttemptSender;
  readonly #log: Logger;
  readonly #gracePeriodMs: number;
  readonly #sweepTimer: NodeJS.Timeout;
  readonly #pollTimer: NodeJS.Timeout | undefined;
  /** Shared with the TaskService, which refuses new work once shutdown began, and the health routes. */
  readonly #lifecycle: Lifecycle;
  /**
   * Resolves with the cause if the runtime can no longer work: its store stopped for good (see TaskStore.failure).
   * It then refuses new work and fails /healthz; the process should exit so a supervisor restarts it, and the next
   * start resumes every committed task and report. Never settles otherwise.
   */
  readonly failed: Promise<Error>;
  #closing: Promise<void> | undefined;

  private constructor(parts: {
    server: Server;
    store: TaskStore;
    apis: Map<string, ApiRuntime>;
    dispatcher: WebhookDispatcher;
    sender: AttemptSender;
    log: Logger;
    gracePeriodMs: number;
    sweepTimer: NodeJS.Timeout;
    pollTimer: NodeJS.Timeout | undefined;
    ready: Promise<void>;
    lifecycle: Lifecycle;
  }) {
    this.#lifecycle = parts.lifecycle;
    this.#server = parts.server;
    this.#store = parts.store;
    this.#apis = parts.apis;
    this.#dispatcher = parts.dispatcher;
    this.#sender = parts.sender;
    this.#log = parts.log;
    this.#gracePeriodMs = parts.gracePeriodMs;
    this.#sweepTimer = parts.sweepTimer;
    this.#pollTimer = parts.pollTimer;
    this.ready = parts.ready;
    this.failed = (parts.store.failure ?? new Promise<never>(() => undefined)).then((error) => {
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
   * Loads every predictor (all load errors reported together, nothing started if any fails), opens the store,
   * recovers what a previous process left, and listens.
   */
  static async start(options: RuntimeOptions): Promise<PredictorRuntime> {
    const log = options.log ?? createLogger();
    const now = options.now ?? Date.now;
    const { config } = options;
    for (const warning of config.warnings) log.warn(warning);

    const role = options.role ?? "all";
    // Predictor workers load while the store opens (each side starts threads of its own).
    const hostsLoading = loadHosts(config.apis, role, log, now);
    hostsLoading.catch(() => undefined); // Awaited below, after the store either way.
    const store: TaskStore =
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
    const [loaded, opened] = await Promise.allSettled([hostsLoading, store.open()]);
    if (loaded.status === "rejected" || opened.status === "rejected") {
      // A predictor that cannot load is the error to report, as when nothing else had started.
      if (loaded.status === "fulfilled") await Promise.all([...loaded.value.values()].map((host) => host.close()));
      if (opened.status === "fulfilled") await store.close();
      throw loaded.status === "rejected" ? loaded.reason : (opened as PromiseRejectedResult).reason;
    }
    const hosts = loaded.value;
    for (const warning of store.warnings ?? []) log.warn(warning);
    const works = role !== "api";
    const sender: AttemptSender = options.webhookThread === "main" ? new InThreadSender(config.apis) : new AttemptThread(config.apis, { log });
    try {
      const recovered = await store.recover();
      log.info({ ...recovered, role }, "task store opened");

      const apis = new Map<string, ApiRuntime>();
      const apiConfigs = new Map(config.apis.map((api) => [api.name, api]));
      const lifecycle: Lifecycle = { shuttingDown: false };
      const guards = networkGuards(config.apis);
      const metrics = new RuntimeMetrics({ apis: config.apis, now });
      const dispatcher = new WebhookDispatcher({
        store,
        apis: apiConfigs,
        log,
        now,
        ...(options.random ? { random: options.random } : {}),
        onAttempt: (delivery, outcome, update, durationMs) => metrics.webhookAttempt(delivery, outcome, update, durationMs),
        send: (delivery, api, signal) => sender.send(delivery, api, signal, now),
      });
      const checkCallbackAddress: CallbackAddressCheck = (url, api) => {
        const refusal = guards.get(api.name)?.refusedLiteral(url.hostname);
        if (refusal !== undefined) {
          throw new RequestError(ErrorCode.callbackAddressRefused, 400, `callback_url refused: ${refusal.message}`, { cause: refusal });
        }
      };
      const waiters = new TaskWaiters(store);
      const outbox = new Outbox({ store, apis: apiConfigs, dispatcher, now, ...(options.random ? { random: options.random } : {}) });

      for (const api of config.apis) {
        const host = hosts.get(api.name)!;
        const capacity = new ApiCapacity(api.maxReplicaConcurrency, await store.countUnfinished(api.name));
        // Every API has a queue worker: an AsyncAPI's tasks, and a RealtimeAPI's requests that asked for a webhook
        // (Modelbit's response_webhook), which are stored as tasks so none is lost.
        const worker = new ApiWorker({
          api: api.name,
          host,
          store,
          finisher: outbox,
          concurrency: host.capacity,
          onTaskSettled: (task, outcome) => {
            capacity.release();
            metrics.taskFinished(task, outcome);
            waiters.settled(task.id);
          },
          log,
          now,
        });
        const runtime: ApiRuntime =
          api.kind === "AsyncAPI"
            ? { config: api, host, capacity, ready: false, worker }
            : { config: api, host, capacity, ready: false, worker, limiter: new ConcurrencyLimiter(host.capacity) };
        apis.set(api.name, runtime);
      }

      metrics.observe(apis);
      const service = new TaskService({
        apis,
        store,
        now,
        checkCallbackAddress,
        outbox,
        reports: dispatcher,
        waiters,
        isShuttingDown: () => lifecycle.shuttingDown,
        onTaskCreated: (task) => metrics.taskSubmitted(task),
        onTaskFinished: (task, outcome) => metrics.taskFinished(task, outcome),
        onPredicted: (api, outcome, durationMs) => metrics.predicted(api, outcome, durationMs),
      });
      const app = createApp({
        service,
        apis,
        log,
        failure: () => lifecycle.failure ?? store.stalled?.(),
        ...(options.bodyLimitBytes === undefined ? {} : { bodyLimitBytes: options.bodyLimitBytes }),
        serveApis: role !== "worker",
        prefixedRoutes: {
          "/docs": docsRoutes(),
          // A worker process serves operations routes only; the console is on the processes that serve the APIs.
          ...(role === "worker" ? {} : { "/console": consoleRoutes({
            store,
            apis: apiConfigs,
            access: options.adminKey === undefined ? { kind: "loopback" } : { kind: "admin-key", key: options.adminKey },
            engine: { name: store.constructor.name.replace(/TaskStore$/, "").toLowerCase() },
            now,
          }) }),
        },
        extraRoutes: [metricsRoutes(metrics), openApiRoutes(buildOpenApiDocument(config.apis))],
      });
      const server = createServer(app);
      await listen(server, options.port ?? 8888, options.host ?? "127.0.0.1");
      if (works) dispatcher.start();
      // Another process may queue tasks and schedule reports in a shared engine: look for them now and then.
      let polls = 0;
      const pollTimer =
        store.pollIntervalMs === undefined || !works
          ? undefined
          : setInterval(() => {
              for (const api of apis.values()) api.worker?.notifyQueued();
              dispatcher.notify();
              // About once a second: a task running here cancelled through another process (DELETE /NAME/ID).
              if (++polls % Math.max(1, Math.round(CANCEL_CHECK_MS / store.pollIntervalMs!)) === 0) {
                for (const api of apis.values()) void api.worker?.stopCancelledElsewhere();
              }
            }, store.pollIntervalMs).unref();

      const sweep = (): void => {
        store
          .sweepFinished(now() - RESULT_RETENTION_MS)
          .then((removed) => removed > 0 && log.info({ removed }, "removed tasks finished more than 7 days ago"))
          .catch((error: unknown) => log.error({ err: error }, "sweeping old tasks failed"));
      };
      sweep();
      const sweepTimer = setInterval(sweep, SWEEP_INTERVAL_MS).unref();

      const ready = runSetups(apis, log, works);
      ready.catch(() => undefined); // The caller decides what a failed setup means; never an unhandled rejection.
      const runtime = new PredictorRuntime({
        server,
        store,
        apis,
        dispatcher,
        sender,
        log,
        gracePeriodMs: options.gracePeriodMs ?? DEFAULT_GRACE_PERIOD_MS,
        sweepTimer,
        pollTimer,
        ready,
        lifecycle,
      });
      log.info({ url: runtime.url, apis: [...apis.keys()] }, "serving");
      return runtime;
    } catch (error) {
      await Promise.all([...hosts.values()].map((host) => host.close()));
      await sender.close();
      await store.close();
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
    const deadline = Date.now() + gracePeriodMs;
    this.#log.info({ gracePeriodMs }, "shutting down");
    this.#lifecycle.shuttingDown = true;
    clearInterval(this.#sweepTimer);
    clearInterval(this.#pollTimer);
    const serverClosed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    await Promise.all([...this.#apis.values()].map((api) => api.worker?.stop(Math.max(0, deadline - Date.now()))));
    await Promise.all([...this.#apis.values()].map((api) => api.host.close()));
    await this.#dispatcher.stop(Math.max(0, deadline - Date.now()));
    await this.#sender.close();
    this.#server.closeAllConnections();
    await serverClosed;
    await this.#store.close();
    this.#log.info("stopped");
    this.#log.flush();
  }
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
async function runSetups(apis: Map<string, ApiRuntime>, log: Logger, works: boolean): Promise<void> {
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
      if (works) api.worker?.start();
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
