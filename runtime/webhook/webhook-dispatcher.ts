import { setMaxListeners } from "node:events";
import type { Logger } from "pino";
import type { ApiConfig } from "../config/api-config.js";
import { BacklogDrain } from "../shared/backlog-drain.js";
import type { TaskStore } from "../store/task-store.js";
import type { AttemptRecord, DeliveryRecord, DeliveryUpdate } from "../tasks/delivery.js";
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
  /** HTTP exchanges in flight at once, across all receivers. @defaultValue 64 */
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
  /** Attempts from lease to recorded outcome, which stop() waits for. */
  readonly #inFlight = new Set<Promise<void>>();
  /**
   * Attempts whose exchange is running: what maxInFlight bounds. An attempt gives its slot back once its answer is
   * in, not once its outcome is recorded; its report stays leased until then, so it cannot be sent twice.
   */
  #exchanging = 0;
  readonly #shutdown = new AbortController();
  /** Attempt slots promised to reports being stored already leased (see {@link reserveSlot}). */
  #reserved = 0;
  /** Leases due reports while attempt slots are free. */
  readonly #outbox: BacklogDrain;
  #started = false;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  /** When {@link #timer} fires (epoch ms). */
  #timerAt: number | undefined;
  #idleWaiters: Array<() => void> = [];

  constructor(options: WebhookDispatcherOptions) {
    // Every attempt in flight listens on it: hundreds at once under load are expected, not a leak.
    setMaxListeners(0, this.#shutdown.signal);
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#maxInFlight = options.maxInFlight ?? 64;
    const longestTimeout = Math.max(0, ...[...options.apis.values()].map((api) => api.webhook.timeoutMs));
    this.#leaseMs = longestTimeout + LEASE_MARGIN_MS;
    this.#outbox = new BacklogDrain({
      room: () => this.#maxInFlight - this.#exchanging - this.#reserved,
      take: async (limit) => {
        const due = await options.store.leaseDueDeliveries(this.#now(), limit, this.#leaseMs);
        for (const delivery of due) this.#track(this.#attempt(delivery));
        return due.length;
      },
      // Caught up: one look at when the next report falls due (a retry scheduled by an earlier process, say).
      onCaughtUp: async () => {
        const next = await options.store.nextDeliveryDueAt();
        if (next !== undefined) this.#wakeAt(next);
      },
      onError: (error) => {
        if (this.#stopped) return; // The store closed under a late pass at shutdown: nothing to report.
        options.log.error({ err: error }, "reading the outbox failed; retrying in 1 s");
        this.#wakeAt(this.#now() + 1000);
      },
    });
  }

  /** Starts sending whatever is due (reports left by an earlier process included). */
  start(): void {
    this.#started = true;
    this.#outbox.enable();
  }

  /** A report was queued in the outbox or may have become due; cheap, and safe to call at any time. */
  notify(): void {
    this.#outbox.queued();
  }

  /**
   * Promises an attempt slot to a report about to be stored, when one is free and no due report waits in the
   * outbox. Returns the lease expiry to store the report with; the caller then calls {@link sendReserved} once it
   * is stored, or {@link cancelReservation}. Undefined: store it due, and {@link notify}.
   */
  reserveSlot(): number | undefined {
    if (!this.#started || this.#stopped || this.#outbox.backlog) return undefined;
    if (this.#exchanging + this.#reserved >= this.#maxInFlight) return undefined;
    this.#reserved++;
    return this.#now() + this.#leaseMs;
  }

  /** Sends a report stored leased in a slot from {@link reserveSlot}, from memory: no lease query. */
  sendReserved(delivery: DeliveryRecord): void {
    this.#reserved--;
    if (this.#stopped) return; // Its lease is released at the next start, and it is sent then.
    this.#track(this.#attempt(delivery));
  }

  /** Gives back a slot from {@link reserveSlot} whose report was not stored. */
  cancelReservation(): void {
    this.#reserved--;
    this.#outbox.kick();
  }

  /**
   * Keeps sending due reports for up to `graceMs`, then aborts attempts still running. An aborted attempt is not
   * recorded: its lease expires and it is sent again by the next process.
   */
  async stop(graceMs: number): Promise<void> {
    const deadline = this.#now() + graceMs;
    while (this.#started && !this.#stopped && this.#now() < deadline) {
      if (this.#inFlight.size === 0 && !this.#outbox.draining) {
        const due = await this.#options.store.nextDeliveryDueAt();
        if (due === undefined || due > this.#now()) break;
      }
      await this.#waitForProgress(Math.max(1, deadline - this.#now()));
    }
    this.#stopped = true;
    this.#outbox.disable();
    if (this.#timer) clearTimeout(this.#timer);
    this.#shutdown.abort(new Error("the runtime is shutting down"));
    await Promise.allSettled([...this.#inFlight]);
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
    this.#exchanging++;
    let outcome: AttemptOutcome;
    try {
      outcome = await send(delivery, api, this.#shutdown.signal);
    } finally {
      this.#exchanging--;
      this.#outbox.kick();
    }
    if (this.#shutdown.signal.aborted) return;
    const attempts = delivery.attempts + 1;
    // A report may override ignore_timeout (Modelbit's response_webhook_ignore_timeout); the rest is the API's.
    const settings = delivery.ignoreTimeout === undefined ? api.webhook : { ...api.webhook, ignoreTimeout: delivery.ignoreTimeout };
    const step = nextStep(settings, attempts, outcome, random);
    const update: DeliveryUpdate =
      step.kind === "retry"
        ? { status: "pending", attempts, nextAttemptAt: this.#now() + step.delayMs, ...describeOutcome(outcome, step, settings) }
        : { status: step.status, attempts, ...describeOutcome(outcome, step, settings) };
    const durationMs = this.#now() - started;
    await store.recordAttempt(delivery.taskId, update, attemptRecord(delivery, attempts, started, durationMs, outcome, update));
    if (update.nextAttemptAt !== undefined) this.#wakeAt(update.nextAttemptAt);
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
    const settled = (): void => {
      this.#inFlight.delete(tracked);
      this.#outbox.kick();
      this.#signalProgress();
    };
    const tracked: Promise<void> = work.then(settled, (error: unknown) => {
      this.#options.log.error({ err: error }, "recording a webhook attempt failed; it will be retried when its lease expires");
      settled();
    });
    this.#inFlight.add(tracked);
  }

  /** Makes sure the dispatcher wakes by `time` (epoch ms); a timer set for an earlier time stands. */
  #wakeAt(time: number): void {
    if (this.#stopped || (this.#timerAt !== undefined && this.#timerAt <= time)) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timerAt = time;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = undefined;
      this.notify();
    }, Math.min(Math.max(0, time - this.#now()), MAX_TIMER_MS));
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

/** One attempt for the delivery timeline: the target's origin only (a path or query can hold a token), no credentials. */
export function attemptRecord(
  delivery: Pick<DeliveryRecord, "url">,
  attempt: number,
  startedAt: number,
  durationMs: number,
  outcome: AttemptOutcome,
  update: DeliveryUpdate,
): AttemptRecord {
  const record: AttemptRecord = { attempt, startedAt, durationMs, origin: originOf(delivery.url), outcome: outcome.kind };
  if (update.lastStatusCode !== undefined) record.statusCode = update.lastStatusCode;
  if (update.lastError !== undefined && outcome.kind !== "delivered") record.error = update.lastError;
  if (update.status === "pending" && update.nextAttemptAt !== undefined) record.nextAttemptAt = update.nextAttemptAt;
  return record;
}

function originOf(url: string): string {
  try {
    const parsed = new URL(url);
    // URL.origin leaves out a default port; the timeline says which port was called.
    const port = parsed.port !== "" ? parsed.port : parsed.protocol === "https:" ? "443" : "80";
    return `${parsed.protocol}//${parsed.hostname}:${port}`;
  } catch {
    return "(invalid URL)";
  }
}
