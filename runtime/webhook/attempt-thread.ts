import { Worker } from "node:worker_threads";
import type { Logger } from "pino";
import type { DeliveryRecord } from "../tasks/delivery.js";
import type { AttemptApi, AttemptSender } from "./attempt-sender.js";
import type { AttemptRequest, AttemptThreadData, FromAttemptThread, ToAttemptThread } from "./attempt-worker.js";
import type { AttemptOutcome } from "./retry-policy.js";

/**
 * Makes webhook attempts in a worker thread (see attempt-worker.ts), so the HTTP client's work (connections, TLS,
 * request writing, response parsing) runs beside the event loop rather than on it. Attempts handed over in one
 * event-loop turn cross in one message, and their outcomes come back the same way.
 *
 * If the thread dies, the attempts it was making end as retryable (the dispatcher schedules them again, as for a
 * lost connection) and the next attempt starts a new thread: a report is delayed, never lost.
 */
export class AttemptThread implements AttemptSender {
  readonly #data: AttemptThreadData;
  readonly #log: Logger | undefined;
  #worker: Worker | undefined;
  /** Resolvers of the attempts handed over, by id. */
  readonly #pending = new Map<number, (outcome: AttemptOutcome) => void>();
  #nextId = 1;
  /** Attempts of this turn, sent together at its end. */
  #outgoing: AttemptRequest[] = [];
  #flushScheduled = false;
  readonly #groups = new WeakMap<AbortSignal, number>();
  #nextGroup = 1;
  #closed = false;
  /** Resolves close() once the thread closed its connections. */
  #onClosed: (() => void) | undefined;

  constructor(apis: readonly AttemptApi[], options: { log?: Logger } = {}) {
    // Only what an attempt reads crosses: the rest of an API's config stays here.
    this.#data = { apis: apis.map(({ name, webhook }) => ({ name, webhook })) };
    this.#log = options.log;
  }

  send(delivery: DeliveryRecord, api: AttemptApi, signal: AbortSignal, now: () => number = Date.now): Promise<AttemptOutcome> {
    if (this.#closed) return Promise.resolve({ kind: "retryable", error: "the runtime is shutting down; the report is sent after the next start" });
    const group = this.#groupOf(signal);
    const id = this.#nextId++;
    const outcome = new Promise<AttemptOutcome>((resolve) => this.#pending.set(id, resolve));
    this.#outgoing.push({ id, group, delivery, api: api.name, sentAt: now() });
    if (signal.aborted) this.#abort(group);
    else if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
    return outcome;
  }

  /** Lets running attempts end, closes every connection, and ends the thread. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#flush();
    const worker = this.#worker;
    if (worker === undefined) return;
    const closed = new Promise<void>((resolve) => {
      this.#onClosed = resolve;
      worker.once("exit", () => resolve());
    });
    worker.ref();
    this.#post({ type: "close" });
    await closed;
    // Its connections are closed; a handle left behind in the thread must not keep it, or this process, alive.
    await worker.terminate();
  }

  /** Ends the thread at once, as a crash would: for tests of what follows. */
  async simulateCrash(): Promise<void> {
    await this.#worker?.terminate();
  }

  #groupOf(signal: AbortSignal): number {
    let group = this.#groups.get(signal);
    if (group === undefined) {
      const assigned = (group = this.#nextGroup++);
      this.#groups.set(signal, assigned);
      signal.addEventListener("abort", () => this.#abort(assigned), { once: true });
    }
    return group;
  }

  #abort(group: number): void {
    this.#flush(); // The attempts to abort must reach the thread before the abort does.
    if (this.#worker !== undefined) this.#post({ type: "abort", group });
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#outgoing.length === 0) return;
    const attempts = this.#outgoing;
    this.#outgoing = [];
    this.#post({ type: "send", attempts });
  }

  #post(message: ToAttemptThread): void {
    const worker = (this.#worker ??= this.#start());
    if (this.#pending.size > 0) worker.ref();
    worker.postMessage(message);
  }

  #start(): Worker {
    const worker = new Worker(new URL("./attempt-worker-entry.js", import.meta.url), { workerData: this.#data });
    worker.unref();
    worker.on("message", (message: FromAttemptThread) => {
      if (message.type === "closed") {
        this.#onClosed?.();
        return;
      }
      for (const { id, outcome } of message.outcomes) {
        const resolve = this.#pending.get(id);
        this.#pending.delete(id);
        resolve?.(outcome);
      }
      if (this.#pending.size === 0) worker.unref();
    });
    worker.on("error", (error) => this.#lost(worker, `the webhook attempt thread failed: ${error.message}`));
    worker.on("exit", (code) => this.#lost(worker, `the webhook attempt thread exited (code ${code})`));
    return worker;
  }

  /** The thread is gone: what it was sending ends as retryable, and the next attempt starts a new thread. */
  #lost(worker: Worker, why: string): void {
    if (this.#worker !== worker) return;
    this.#worker = undefined;
    if (this.#pending.size === 0) return;
    if (!this.#closed) this.#log?.error({ attempts: this.#pending.size }, `${why}; its attempts are retried`);
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const resolve of pending) resolve({ kind: "retryable", error: `${why} during the attempt` });
  }
}
