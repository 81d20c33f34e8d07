import type { Logger } from "pino";
import type { ApiConfig } from "../config/api-config.js";
import type { TaskStore } from "../store/task-store.js";
import type { DeliveryRecord, DeliveryUpdate } from "../tasks/delivery.js";
import { redactCallbackUrl } from "./callback-url.js";
import { describeOutcome } from "./describe-outcome.js";
import { nextStep, type AttemptOutcome } from "./retry-policy.js";

/** Sends one attempt of a delivery for its API; resolves to how it ended and never throws. */
export type SendDelivery = (delivery: DeliveryRecord, api: ApiConfig, signal: AbortSignal) => Promise<AttemptOutcome>;

/** Options of {@link WebhookDispatcher}. */
export interface WebhookDispatcherOptions {
  store: TaskStore;
  apis: ReadonlyMap<string, ApiConfig>;
  send: SendDelivery;
  log: Logger;
  /** Attempts in flight at once, across all receivers. @defaultValue 64 */
  maxInFlight?: number;
  /** Called after every attempt (metrics). */
  onAttempt?: (delivery: DeliveryRecord, outcome: AttemptOutcome, update: DeliveryUpdate, durationMs: number) => void;
  now?: () => number;
  random?: () => number;
}

/** How long a report whose API left the config waits before it is looked at again. */
const ORPHAN_RECHECK_MS = 60 * 60 * 1000; // 1 h
/** Beyond an attempt's own timeout, how long its lease lasts before a crashed attempt becomes due again. */
const LEASE_MARGIN_MS = 60 * 1000;
/** Longest a timer can be set in Node (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Drains the outbox: leases due reports, sends each attempt, and records what the retry policy decides. Woken by
 * `notify()` when a report is queued, and by a timer for the next scheduled retry; it never polls.
 */
export class WebhookDispatcher {
  readonly #options: WebhookDispatcherOptions;
  readonly #now: () => number;
  readonly #maxInFlight: number;
  readonly #leaseMs: number;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #shutdown = new AbortController();
  #started = false;
  #stopped = false;
  #pumping = false;
  #wokenWhilePumping = false;
  #timer: NodeJS.Timeout | undefined;
  #idleWaiters: Array<() => void> = [];

  constructor(options: WebhookDispatcherOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#maxInFlight = options.maxInFlight ?? 64;
    const longestTimeout = Math.max(0, ...[...options.apis.values()].map((api) => api.webhook.timeoutMs));
    this.#leaseMs = longestTimeout + LEASE_MARGIN_MS;
  }

  /** Attempts running now. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Starts sending whatever is due (reports left by an earlier process included). */
  start(): void {
    this.#started = true;
    this.notify();
  }

  /** A report may have become due; cheap, and safe to call at any time. */
  notify(): void {
    if (!this.#started || this.#stopped) return;
    if (this.#pumping) {
      this.#wokenWhilePumping = true;
      return;
    }
    void this.#pump();
  }

  /**
   * Keeps sending due reports for up to `graceMs`, then aborts attempts still running. An aborted attempt is not
   * recorded: its lease expires and it is sent again by the next process.
   */
  async stop(graceMs: number): Promise<void> {
    const deadline = this.#now() + graceMs;
    while (this.#started && !this.#stopped && this.#now() < deadline) {
      if (this.#inFlight.size === 0 && !this.#pumping) {
        const due = await this.#options.store.nextDeliveryDueAt();
        if (due === undefined || due > this.#now()) break;
      }
      await this.#waitForProgress(Math.max(1, deadline - this.#now()));
    }
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#shutdown.abort(new Error("the runtime is shutting down"));
    await Promise.allSettled([...this.#inFlight]);
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      do {
        this.#wokenWhilePumping = false;
        while (!this.#stopped && this.#inFlight.size < this.#maxInFlight) {
          const due = await this.#options.store.leaseDueDeliveries(this.#now(), this.#maxInFlight - this.#inFlight.size, this.#leaseMs);
          if (due.length === 0) break;
          for (const delivery of due) this.#track(this.#attempt(delivery));
        }
      } while (this.#wokenWhilePumping && !this.#stopped);
      await this.#scheduleNextWake();
    } catch (error) {
      this.#options.log.error({ err: error }, "reading the outbox failed; retrying in 1 s");
      this.#setTimer(1000);
    } finally {
      this.#pumping = false;
      this.#signalProgress();
    }
  }

  /** One attempt, start to finish: send, decide, record. The whole delivery rulebook is in `nextStep`. */
  async #attempt(delivery: DeliveryRecord): Promise<void> {
    const { apis, send, store, log, onAttempt, random } = this.#options;
    const api = apis.get(delivery.api);
    if (api === undefined) {
      const update: DeliveryUpdate = {
        status: "pending",
        attempts: delivery.attempts,
        nextAttemptAt: this.#now() + ORPHAN_RECHECK_MS,
        lastError: `API ${delivery.api} is not in the loaded config; the report waits until it is configured again`,
      };
      await store.recordAttempt(delivery.taskId, update);
      return;
    }
    const started = this.#now();
    const outcome = await send(delivery, api, this.#shutdown.signal);
    if (this.#shutdown.signal.aborted) return;
    const attempts = delivery.attempts + 1;
    const step = nextStep(api.webhook, attempts, outcome, random);
    const update: DeliveryUpdate =
      step.kind === "retry"
        ? { status: "pending", attempts, nextAttemptAt: this.#now() + step.delayMs, ...describeOutcome(outcome, step, api.webhook) }
        : { status: step.status, attempts, ...describeOutcome(outcome, step, api.webhook) };
    await store.recordAttempt(delivery.taskId, update);
    const durationMs = this.#now() - started;
    onAttempt?.(delivery, outcome, update, durationMs);
    log.info(
      {
        taskId: delivery.taskId,
        api: delivery.api,
        url: redactCallbackUrl(delivery.url),
        attempt: attempts,
        outcome: outcome.kind,
        statusCode: update.lastStatusCode,
        webhookStatus: update.status,
        ...(step.kind === "retry" ? { retryInMs: step.delayMs } : {}),
        ...(update.lastError === undefined ? {} : { error: update.lastError }),
        durationMs,
      },
      "webhook attempt",
    );
  }

  #track(work: Promise<void>): void {
    const tracked = work
      .catch((error: unknown) => this.#options.log.error({ err: error }, "recording a webhook attempt failed; it will be retried when its lease expires"))
      .finally(() => {
        this.#inFlight.delete(tracked);
        this.notify();
        this.#signalProgress();
      });
    this.#inFlight.add(tracked);
  }

  async #scheduleNextWake(): Promise<void> {
    if (this.#stopped) return;
    const due = await this.#options.store.nextDeliveryDueAt();
    if (due === undefined) {
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = undefined;
      return;
    }
    this.#setTimer(due - this.#now());
  }

  #setTimer(delayMs: number): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.notify(), Math.min(Math.max(0, delayMs), MAX_TIMER_MS));
    this.#timer.unref();
  }

  #waitForProgress(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, Math.min(timeoutMs, 50));
      this.#idleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  #signalProgress(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const wake of waiters) wake();
  }
}
