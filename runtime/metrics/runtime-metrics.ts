import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { ApiConfig } from "../config/api-config.js";
import { finishedAtOfReport } from "../outbox/report.js";
import type { DeliveryRecord, DeliveryUpdate } from "../tasks/delivery.js";
import type { TaskOutcome, TaskRecord } from "../tasks/task.js";
import type { ApiRuntime } from "../tasks/task-service.js";
import { VERSION } from "../version.js";
import type { AttemptOutcome } from "../webhook/retry-policy.js";
import { processMetricsRegistry } from "./process-metrics.js";

/** Every way an attempt can end (the `outcome` label), pre-set to 0 so rates work from the first scrape. */
const ATTEMPT_OUTCOMES: readonly AttemptOutcome["kind"][] = ["delivered", "rejected", "gone", "retryable", "timeout", "refused"];
/** `status` of `predictor_runtime_tasks_total`. */
const TASK_EVENTS = ["submitted", "completed", "failed"] as const;

/** From milliseconds to minutes: a prediction can be a lookup or a large model. */
const PREDICT_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
/** From an immediate delivery to the end of the default retry schedule (about 27.6 h). */
const DELIVERY_LATENCY_BUCKETS_S = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800, 3600, 7200, 21600, 43200, 86400, 172800];
/** One attempt lasts at most timeout_s (10 s by default, at most 3600 s). */
const ATTEMPT_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Options of {@link RuntimeMetrics}. */
export interface RuntimeMetricsOptions {
  apis: readonly ApiConfig[];
  now?: () => number;
}

/**
 * The runtime's Prometheus metrics, in a registry of its own (two runtimes in one process never share series).
 * Labels are the API name and, for webhook attempts, the outcome kind: both bounded by the config and the code,
 * never a URL, task id or anything a client chooses. Counters and histograms are fed by the hooks below; queue
 * gauges are read from the live API state at scrape time, so they cannot drift from it.
 */
export class RuntimeMetrics {
  /** This runtime's metrics plus the process metrics, as `/metrics` serves them. */
  readonly registry: Registry;
  readonly #now: () => number;
  readonly #tasks: Counter<"api" | "status">;
  /** Bound series by metric, keyed by their label values (see #child). */
  readonly #children = new Map<object, Map<string, unknown>>();
  readonly #predictDuration: Histogram<"api">;
  readonly #webhookAttempts: Counter<"api" | "outcome">;
  readonly #webhookAttemptDuration: Histogram<"api">;
  readonly #webhookReports: Counter<"api" | "status">;
  readonly #deliveryLatency: Histogram<"api">;
  #live: ReadonlyMap<string, ApiRuntime> | undefined;

  constructor(options: RuntimeMetricsOptions) {
    this.#now = options.now ?? Date.now;
    const registers = [new Registry()];
    const live = (): ReadonlyMap<string, ApiRuntime> => this.#live ?? new Map();

    new Gauge({ name: "predictor_runtime_info", help: "Always 1; the version label says which runtime serves.", labelNames: ["version"], registers }).set({ version: VERSION }, 1);
    this.#tasks = new Counter({
      name: "predictor_runtime_tasks_total",
      help: "Tasks by API: submitted (new tasks, not repeated x-request-ids), completed and failed. A RealtimeAPI request counts as submitted and completed/failed when it finishes.",
      labelNames: ["api", "status"],
      registers,
    });
    new Gauge({
      name: "predictor_runtime_tasks",
      help: "Tasks by API now: in_queue (waiting for a free predictor thread) and in_progress (in predict()).",
      labelNames: ["api", "status"],
      registers,
      collect() {
        for (const [name, api] of live()) {
          const running = api.running + (api.limiter?.active ?? 0);
          const waiting = api.limiter === undefined ? Math.max(0, api.capacity.inUse - running) : api.limiter.waiting;
          this.set({ api: name, status: "in_queue" }, waiting);
          this.set({ api: name, status: "in_progress" }, running);
        }
      },
    });
    new Gauge({
      name: "predictor_runtime_workers_ready",
      help: "Predictor workers per API that finished setup and take predictions (0 while every worker is being replaced or backing off after crashes; /readyz is then 503).",
      labelNames: ["api"],
      registers,
      collect() {
        for (const [name, api] of live()) this.set({ api: name }, api.host.readyWorkers);
      },
    });
    new Gauge({
      name: "predictor_runtime_queue_depth",
      help: "Tasks queued or running per API: what autoscaling.max_replica_concurrency bounds (a submit is refused with 503 at predictor_runtime_queue_capacity).",
      labelNames: ["api"],
      registers,
      collect() {
        for (const [name, api] of live()) this.set({ api: name }, api.capacity.inUse);
      },
    });
    const capacity = new Gauge({ name: "predictor_runtime_queue_capacity", help: "autoscaling.max_replica_concurrency per API.", labelNames: ["api"], registers });
    this.#predictDuration = new Histogram({
      name: "predictor_runtime_predict_duration_seconds",
      help: "How long predict() took per API, failures and timeouts included.",
      labelNames: ["api"],
      buckets: PREDICT_BUCKETS_S,
      registers,
    });
    this.#webhookAttempts = new Counter({
      name: "predictor_runtime_webhook_attempts_total",
      help: "Webhook report attempts by API and outcome: delivered (2xx), rejected (final 4xx), gone (410), retryable (5xx, 3xx, 408/409/425/429, connection error), timeout, refused (address outside allow_networks).",
      labelNames: ["api", "outcome"],
      registers,
    });
    this.#webhookAttemptDuration = new Histogram({
      name: "predictor_runtime_webhook_attempt_duration_seconds",
      help: "How long one webhook attempt took per API, whatever its outcome.",
      labelNames: ["api"],
      buckets: ATTEMPT_BUCKETS_S,
      registers,
    });
    this.#webhookReports = new Counter({
      name: "predictor_runtime_webhook_reports_total",
      help: "Reports that reached a final state per API: delivered, or failed (rejected, gone, refused, or out of retries).",
      labelNames: ["api", "status"],
      registers,
    });
    this.#deliveryLatency = new Histogram({
      name: "predictor_runtime_webhook_delivery_latency_seconds",
      help: "From the task finishing to its report being delivered, retries included, per API.",
      labelNames: ["api"],
      buckets: DELIVERY_LATENCY_BUCKETS_S,
      registers,
    });

    // Every series of every API exists from the start, at 0, so dashboards and rate() do not wait for traffic.
    for (const api of options.apis) {
      capacity.set({ api: api.name }, api.maxReplicaConcurrency);
      for (const status of TASK_EVENTS) this.#tasks.inc({ api: api.name, status }, 0);
      this.#predictDuration.zero({ api: api.name });
      if (!api.webhook.callbackEnabled) continue;
      for (const outcome of ATTEMPT_OUTCOMES) this.#webhookAttempts.inc({ api: api.name, outcome }, 0);
      for (const status of ["delivered", "failed"]) this.#webhookReports.inc({ api: api.name, status }, 0);
      this.#webhookAttemptDuration.zero({ api: api.name });
      this.#deliveryLatency.zero({ api: api.name });
    }
    this.registry = Registry.merge([processMetricsRegistry(), ...registers]);
  }

  /** Where the queue gauges read from at scrape time: the runtime's live API state. */
  observe(apis: ReadonlyMap<string, ApiRuntime>): void {
    this.#live = apis;
  }

  /** A new task was stored (a repeated idempotency key is not a new task). */
  taskSubmitted(task: Pick<TaskRecord, "api">): void {
    this.#child(this.#tasks, task.api, "status", "submitted").inc();
  }

  /** An AsyncAPI task finished and its outcome was stored. */
  taskFinished(task: Pick<TaskRecord, "api" | "startedAt">, outcome: TaskOutcome): void {
    this.#child(this.#tasks, task.api, "status", outcome.status).inc();
    if (task.startedAt !== undefined) this.#child(this.#predictDuration, task.api).observe(Math.max(0, outcome.finishedAt - task.startedAt) / 1000);
  }

  /** A RealtimeAPI prediction finished, after `durationMs` in predict(). */
  predicted(api: string, outcome: TaskOutcome, durationMs: number): void {
    this.#child(this.#tasks, api, "status", "submitted").inc();
    this.#child(this.#tasks, api, "status", outcome.status).inc();
    this.#child(this.#predictDuration, api).observe(durationMs / 1000);
  }

  /** One webhook attempt ended (the dispatcher's `onAttempt`). */
  webhookAttempt(delivery: Pick<DeliveryRecord, "api" | "body">, outcome: AttemptOutcome, update: Pick<DeliveryUpdate, "status">, durationMs: number): void {
    const api = delivery.api;
    this.#child(this.#webhookAttempts, api, "outcome", outcome.kind).inc();
    this.#child(this.#webhookAttemptDuration, api).observe(durationMs / 1000);
    if (update.status === "pending") return;
    this.#child(this.#webhookReports, api, "status", update.status).inc();
    const finishedAt = update.status === "delivered" ? finishedAtOfReport(delivery.body) : undefined;
    if (finishedAt !== undefined) this.#child(this.#deliveryLatency, api).observe(Math.max(0, this.#now() - finishedAt) / 1000);
  }

  /**
   * The metric's series for an API (and a second label value), bound once and then reused: labelling on every
   * observation hashes the label object each time, a cost paid per task on the hot path.
   */
  #child<M extends Counter<string> | Histogram<string>>(metric: M, api: string, label?: string, value?: string): ReturnType<M["labels"]> {
    const key = label === undefined ? api : `${api}\u0000${value}`;
    let byKey = this.#children.get(metric);
    if (byKey === undefined) this.#children.set(metric, (byKey = new Map()));
    let child = byKey.get(key);
    if (child === undefined) {
      child = metric.labels(label === undefined ? { api } : { api, [label]: value ?? "" });
      byKey.set(key, child);
    }
    return child as ReturnType<M["labels"]>;
  }

  /** The `content-type` of {@link text}: the Prometheus text format, version 0.0.4. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Every metric in the Prometheus text format. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
