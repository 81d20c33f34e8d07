import { setMaxListeners } from "node:events";
import type { Logger } from "pino";
import { BacklogDrain } from "../shared/backlog-drain.js";
import type { TaskStore } from "../store/task-store.js";
import type { DeliveryRecord } from "../tasks/delivery.js";
import type { ReportAttempter } from "./engine.js";

/** Options of {@link ReportScheduler}. */
export interface ReportSchedulerOptions {
  store: Pick<TaskStore, "leaseDueDeliveries" | "nextDeliveryDueAt" | "recordAttempt">;
  /** The core's attempt: send, and the retry policy's decision. */
  attempt: ReportAttempter;
  /** How long a leased report stays leased: longer than the longest attempt (webhook.timeout_s) can take. */
  leaseMs: number;
  log: Logger;
  /** Attempts in flight at once, across all receivers. @defaultValue 64 */
  maxInFlight?: number;
  now?: () => number;
}

/** Longest a timer can be set in Node (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The timing of reports for a store-backed engine: leases due reports, hands each to the core's attempt, records
 * what it decided, and wakes for the next scheduled retry. Woken by `notify()` when a report is stored, and by a
 * timer for the next due time; it never polls.
 */
export class ReportScheduler {
  readonly #options: ReportSchedulerOptions;
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

  constructor(options: ReportSchedulerOptions) {
    // Every attempt in flight listens on it: hundreds at once under load are expected, not a leak.
    setMaxListeners(0, this.#shutdown.signal);
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#maxInFlight = options.maxInFlight ?? 64;
    this.#leaseMs = options.leaseMs;
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

  /** One attempt, start to finish: the core sends and decides, the record and the next wake-up are here. */
  async #attempt(delivery: DeliveryRecord): Promise<void> {
    this.#exchanging++;
    let result;
    try {
      result = await this.#options.attempt(delivery, this.#shutdown.signal);
    } finally {
      this.#exchanging--;
      this.#outbox.kick();
    }
    if (result === undefined || this.#shutdown.signal.aborted) return; // Its lease expires; it is made again later.
    await this.#options.store.recordAttempt(delivery.taskId, result.update, result.attempt);
    if (result.update.nextAttemptAt !== undefined) this.#wakeAt(result.update.nextAttemptAt);
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

  /** Makes sure the scheduler wakes by `time` (epoch ms); a timer set for an earlier time stands. */
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
