import { ToolkitError, ToolkitErrorCode } from "../errors.js";
import type { Delivery } from "./delivery.js";

/** Bounds of a {@link DeliveryStore}. */
export interface DeliveryStoreLimits {
  /** Deliveries kept; the oldest go first. */
  maxDeliveries: number;
  /** Approximate bytes of recorded bodies kept; the oldest deliveries go first. */
  maxStoredBytes: number;
}

/** What a store tells its subscribers (the live page). */
export type StoreEvent = { type: "delivery"; delivery: Delivery } | { type: "cleared" };

interface Waiter {
  count: number;
  resolve: (deliveries: Delivery[]) => void;
  reject: (error: Error) => void;
  cancelTimer: () => void;
}

/**
 * The recorded deliveries, oldest first, bounded by count and by body bytes so a receiver left running for
 * days cannot exhaust memory: past either bound the oldest are dropped. `recordedCount` counts every delivery
 * since the last clear(), dropped or not, and is what waits compare against ("N deliveries in total").
 */
export class DeliveryStore {
  readonly #limits: DeliveryStoreLimits;
  #deliveries: { delivery: Delivery; bytes: number }[] = [];
  #storedBytes = 0;
  #recordedCount = 0;
  #droppedCount = 0;
  readonly #waiters = new Set<Waiter>();
  readonly #subscribers = new Set<(event: StoreEvent) => void>();
  #closed = false;

  constructor(limits: DeliveryStoreLimits) {
    this.#limits = limits;
  }

  /** Deliveries recorded since the last clear(), including any dropped by the bounds. */
  get recordedCount(): number {
    return this.#recordedCount;
  }

  /** Deliveries dropped by the bounds since the last clear() (recorded, then forgotten to keep memory bounded). */
  get droppedCount(): number {
    return this.#droppedCount;
  }

  /** Waits not yet settled (a wait whose caller went away must not linger). */
  get pendingWaits(): number {
    return this.#waiters.size;
  }

  /** The kept deliveries, oldest first (a copy of the list; the records themselves are shared). */
  list(): Delivery[] {
    return this.#deliveries.map((entry) => entry.delivery);
  }

  /** Records a delivery, drops the oldest past the bounds, then wakes waiters and subscribers. */
  add(delivery: Delivery): void {
    const bytes = approximateBytes(delivery);
    this.#deliveries.push({ delivery, bytes });
    this.#storedBytes += bytes;
    this.#recordedCount += 1;
    while (
      this.#deliveries.length > 1 &&
      (this.#deliveries.length > this.#limits.maxDeliveries || this.#storedBytes > this.#limits.maxStoredBytes)
    ) {
      this.#storedBytes -= this.#deliveries.shift()?.bytes ?? 0;
      this.#droppedCount += 1;
    }
    for (const waiter of [...this.#waiters]) {
      if (this.#recordedCount >= waiter.count) this.#settle(waiter, () => waiter.resolve(this.list()));
    }
    this.#publish({ type: "delivery", delivery });
  }

  /** Forgets every delivery and restarts the count; returns how many were kept. */
  clear(): number {
    const cleared = this.#deliveries.length;
    this.#deliveries = [];
    this.#storedBytes = 0;
    this.#recordedCount = 0;
    this.#droppedCount = 0;
    this.#publish({ type: "cleared" });
    return cleared;
  }

  /**
   * Resolves with the kept deliveries as soon as `count` have been recorded since the last clear() (at once if
   * they already are), or rejects with WAIT_TIMEOUT after `timeoutMs`. Event-driven: add() settles it.
   */
  waitFor(count: number, timeoutMs: number, signal?: AbortSignal): Promise<Delivery[]> {
    if (this.#closed) return Promise.reject(closedError());
    if (this.#recordedCount >= count) return Promise.resolve(this.list());
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { count, resolve, reject, cancelTimer: () => undefined };
      const timer = setTimeout(() => {
        this.#settle(waiter, () => reject(this.#timeoutError(count, timeoutMs)));
      }, timeoutMs);
      const onAbort = (): void => this.#settle(waiter, () => reject(signal?.reason ?? new Error("aborted")));
      waiter.cancelTimer = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      this.#waiters.add(waiter);
      if (signal?.aborted) onAbort();
      else signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Calls `listener` for every later delivery and clear; returns the unsubscribe function. */
  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.#subscribers.add(listener);
    return () => this.#subscribers.delete(listener);
  }

  /** Rejects every pending wait with RECEIVER_CLOSED and drops subscribers. */
  close(): void {
    this.#closed = true;
    for (const waiter of [...this.#waiters]) this.#settle(waiter, () => waiter.reject(closedError()));
    this.#subscribers.clear();
  }

  #settle(waiter: Waiter, outcome: () => void): void {
    if (!this.#waiters.delete(waiter)) return;
    waiter.cancelTimer();
    outcome();
  }

  #publish(event: StoreEvent): void {
    for (const subscriber of this.#subscribers) subscriber(event);
  }

  #timeoutError(count: number, timeoutMs: number): ToolkitError {
    const kept = this.list();
    const shown = kept.slice(-5).map(summarize);
    const more = kept.length > shown.length ? `, and ${kept.length - shown.length} earlier` : "";
    const got = this.#recordedCount;
    const detail = got === 0 ? "" : `: ${shown.join(", ")}${more}`;
    return new ToolkitError(
      ToolkitErrorCode.waitTimeout,
      `expected ${count} ${count === 1 ? "delivery" : "deliveries"} within ${timeoutMs} ms, got ${got}${detail}`,
    );
  }
}

/** `POST /hook -> 503` for error messages. */
export function summarize(delivery: Delivery): string {
  const answer = delivery.response.fault ?? String(delivery.response.status);
  return `${delivery.method} ${delivery.path} -> ${answer}`;
}

function closedError(): ToolkitError {
  return new ToolkitError(ToolkitErrorCode.receiverClosed, "the receiver was closed while waiting for deliveries");
}

/**
 * Body text dominates a record (kept as text only, never as a parsed copy); UTF-16 may take 2 bytes a character,
 * and headers and bookkeeping are counted as a flat 2 KiB.
 */
function approximateBytes(delivery: Delivery): number {
  return 2 * delivery.raw_body.length + 2048;
}
