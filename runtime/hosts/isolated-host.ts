import type { Logger } from "pino";
import { ErrorCode, RuntimeError } from "../errors.js";
import { PredictorLoadError } from "../predictor/load-predictor.js";
import type { TaskOutcome } from "../tasks/task.js";
import { ABORT_GRACE_MS, type PredictorHost, type WorkerExitEvent } from "./host.js";
import type { SpawnWorker, WorkerChannel, WorkerMessage, WorkerOutcome } from "./worker-protocol.js";

/** Options of {@link IsolatedHost}. */
export interface IsolatedHostOptions {
  api: string;
  /** The predictor's file, for messages. */
  file: string;
  /** processes_per_replica. */
  workers: number;
  /** threads_per_process: predictions each worker runs at once. */
  concurrency: number;
  /** predict_timeout_s in ms; undefined: no limit. */
  timeoutMs?: number;
  spawn: SpawnWorker;
  log: Logger;
  now?: () => number;
  /** How long an aborted predict() may take to return before its worker is replaced. @defaultValue 5 s */
  abortGraceMs?: number;
  /** Restart back-off of a worker that keeps dying: first wait, doubled per death, capped. */
  backoff?: { initialMs: number; maxMs: number };
}

/** A prediction waiting for a worker or running in one. */
interface Pending {
  readonly id: number;
  readonly requestId: string;
  readonly payloadJson: string;
  readonly resolve: (outcome: TaskOutcome) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
  /** Workers that died while running it; the second death fails it. */
  crashes: number;
  worker?: Slot;
  timer?: NodeJS.Timeout;
  settled: boolean;
}

type SlotState = "loading" | "loaded" | "setting-up" | "ready" | "stopped";

/** One of the host's processes_per_replica places; its worker is replaced when it dies. */
interface Slot {
  readonly index: number;
  channel: WorkerChannel | undefined;
  state: SlotState;
  readonly running: Map<number, Pending>;
  /** Why the host killed the current worker, when it did; undefined for a crash. */
  killedFor?: string;
  /** The kill was the worker's fault (a replacement that failed to start): it counts towards the back-off. */
  killedForFailure?: boolean;
  consecutiveFailures: number;
  restartTimer?: NodeJS.Timeout;
  /** Settles the start-up phase waiting on this slot. */
  waiter?: { phase: "load" | "setup"; resolve: () => void; reject: (error: Error) => void };
}

const DEFAULT_BACKOFF = { initialMs: 1000, maxMs: 30_000 };

/**
 * Runs predictions in isolated workers (threads or processes): a busy predict() stalls only its worker, a timed-out
 * one is stopped for real by ending its worker, and a worker that dies is replaced (setup again) while the
 * predictions it was running are queued again (a second death while running the same prediction fails it). A slot
 * whose workers keep dying restarts after a doubling wait instead of in a hot loop.
 */
export class IsolatedHost implements PredictorHost {
  readonly capacity: number;
  onWorkerExit?: (event: WorkerExitEvent) => void;
  readonly #options: IsolatedHostOptions;
  readonly #now: () => number;
  readonly #backoff: { initialMs: number; maxMs: number };
  readonly #slots: Slot[];
  /** Predictions waiting for a free worker, oldest first (re-queued ones go to the front). */
  readonly #queue: Pending[] = [];
  #nextId = 1;
  /** Past start-up: a failing worker is replaced rather than failing the host. */
  #serving = false;
  #closed = false;

  constructor(options: IsolatedHostOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.capacity = options.workers * options.concurrency;
    this.#slots = Array.from({ length: options.workers }, (_, index) => ({ index, channel: undefined, state: "stopped" as SlotState, running: new Map(), consecutiveFailures: 0 }));
  }

  get readyWorkers(): number {
    return this.#slots.filter((slot) => slot.state === "ready").length;
  }

  async load(): Promise<void> {
    const loads = this.#slots.map((slot) => {
      const done = this.#waitFor(slot, "load");
      this.#startWorker(slot);
      return done;
    });
    const results = await Promise.allSettled(loads);
    const failure = results.find((result): result is PromiseRejectedResult => result.status === "rejected");
    if (failure) {
      await this.close();
      throw new PredictorLoadError(this.#options.file, (failure.reason as Error).message);
    }
  }

  async setup(): Promise<void> {
    const setups = this.#slots.map((slot) => {
      const done = this.#waitFor(slot, "setup");
      slot.state = "setting-up";
      slot.channel!.send({ type: "setup" });
      return done;
    });
    const results = await Promise.allSettled(setups);
    const failure = results.find((result): result is PromiseRejectedResult => result.status === "rejected");
    if (failure) {
      await this.close();
      throw new RuntimeError(ErrorCode.predictorSetup, (failure.reason as Error).message);
    }
    this.#serving = true;
    this.#dispatch();
  }

  predict(payloadJson: string, requestId: string, signal?: AbortSignal): Promise<TaskOutcome> {
    return new Promise<TaskOutcome>((resolve) => {
      const id = this.#nextId++;
      const pending: Pending = {
        id,
        requestId,
        payloadJson,
        resolve,
        signal,
        onAbort: () => this.#abort(pending),
        crashes: 0,
        settled: false,
      };
      if (this.#closed) {
        this.#settle(pending, { status: "failed", error: "the runtime is shutting down" });
        return;
      }
      if (signal?.aborted) {
        this.#settle(pending, { status: "failed", error: abortMessage(signal) });
        return;
      }
      signal?.addEventListener("abort", pending.onAbort, { once: true });
      this.#queue.push(pending);
      this.#dispatch();
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const pending of this.#queue.splice(0)) this.#settle(pending, { status: "failed", error: "the runtime is shutting down" });
    for (const slot of this.#slots) {
      clearTimeout(slot.restartTimer);
      for (const pending of slot.running.values()) this.#settle(pending, { status: "failed", error: "the runtime is shutting down" });
      slot.running.clear();
      slot.waiter?.reject(new Error("the runtime is shutting down"));
      slot.waiter = undefined;
      if (slot.channel) {
        const exited = new Promise<void>((resolve) => {
          const channel = slot.channel!;
          const previous = channel.onExit;
          channel.onExit = (reason) => {
            previous(reason);
            resolve();
          };
        });
        slot.channel.kill();
        await exited;
      }
      slot.state = "stopped";
    }
  }

  #waitFor(slot: Slot, phase: "load" | "setup"): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      slot.waiter = { phase, resolve, reject };
    });
  }

  #startWorker(slot: Slot): void {
    const channel = this.#options.spawn();
    slot.channel = channel;
    slot.state = "loading";
    slot.killedFor = undefined;
    slot.killedForFailure = false;
    channel.onMessage = (message) => {
      if (slot.channel === channel) this.#onMessage(slot, message);
    };
    channel.onExit = (reason) => {
      if (slot.channel === channel) this.#onExit(slot, reason);
    };
  }

  #onMessage(slot: Slot, message: WorkerMessage): void {
    switch (message.type) {
      case "loaded":
        slot.state = "loaded";
        if (slot.waiter?.phase === "load") {
          slot.waiter.resolve();
          slot.waiter = undefined;
        } else if (this.#serving) {
          // A replacement: set it up at once.
          slot.state = "setting-up";
          slot.channel!.send({ type: "setup" });
        }
        return;
      case "ready":
        slot.state = "ready";
        if (slot.waiter?.phase === "setup") {
          slot.waiter.resolve();
          slot.waiter = undefined;
        } else {
          this.#options.log.info({ api: this.#options.api, worker: slot.index }, "predictor worker replaced and ready");
        }
        this.#dispatch();
        return;
      case "failed":
        if (slot.waiter) {
          slot.waiter.reject(new Error(message.message));
          slot.waiter = undefined;
          return;
        }
        // A replacement that cannot load or set up: count it as a death, so it backs off.
        this.#options.log.error({ api: this.#options.api, worker: slot.index, phase: message.phase, error: message.message }, "a replacement predictor worker failed to start");
        this.#kill(slot, `${message.phase} failed: ${message.message}`, true);
        return;
      case "stray":
        this.#options.log.error({ api: this.#options.api, worker: slot.index, err: { message: message.message } }, "an error escaped predictor code; the worker keeps serving");
        return;
      case "result": {
        const pending = slot.running.get(message.id);
        if (!pending) return; // Already settled (aborted past its grace, or timed out).
        slot.running.delete(message.id);
        slot.consecutiveFailures = 0;
        this.#settle(pending, message.outcome);
        this.#dispatch();
        return;
      }
    }
  }

  #onExit(slot: Slot, exitReason: string): void {
    const reason = slot.killedFor ?? exitReason;
    const deliberate = slot.killedFor !== undefined && !slot.killedForFailure;
    slot.channel = undefined;
    const wasStartingUp = slot.waiter !== undefined;
    if (slot.waiter) {
      slot.waiter.reject(new Error(`the predictor's worker exited during ${slot.waiter.phase === "load" ? "loading" : "setup"} (${exitReason})`));
      slot.waiter = undefined;
    }
    slot.state = "stopped";
    if (this.#closed) return;

    // Predictions that shared the worker run again; one whose worker died under it before fails instead.
    const requeue: Pending[] = [];
    for (const pending of slot.running.values()) {
      clearTimeout(pending.timer);
      pending.worker = undefined;
      if (!deliberate) pending.crashes++;
      if (pending.signal?.aborted) {
        this.#settle(pending, { status: "failed", error: abortMessage(pending.signal) }); // Given up already: not run again.
      } else if (pending.crashes >= 2) {
        this.#settle(pending, { status: "failed", error: `the predictor's worker died twice while running this task (last: ${exitReason}); not retried again` });
      } else {
        requeue.push(pending);
      }
    }
    slot.running.clear();
    this.#queue.unshift(...requeue);
    if (wasStartingUp || !this.#serving) return;

    if (!deliberate) slot.consecutiveFailures++;
    const failures = slot.consecutiveFailures;
    const restartDelayMs = failures <= 1 ? 0 : Math.min(this.#backoff.maxMs, this.#backoff.initialMs * 2 ** (failures - 2));
    const event: WorkerExitEvent = { api: this.#options.api, worker: slot.index, reason, consecutiveFailures: failures, restartDelayMs };
    if (restartDelayMs > 0) {
      this.#options.log.error(event, `predictor worker keeps dying (${failures} times in a row, last: ${reason}); restarting it in ${restartDelayMs / 1000} s`);
    } else {
      this.#options.log.warn(event, `predictor worker ended (${reason}); replacing it${requeue.length > 0 ? ` and running its ${requeue.length} other prediction(s) again` : ""}`);
    }
    this.onWorkerExit?.(event);
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      if (!this.#closed) this.#startWorker(slot);
    }, restartDelayMs);
    slot.restartTimer.unref();
  }

  /** Hands queued predictions to ready workers, least busy first. */
  #dispatch(): void {
    while (this.#queue.length > 0) {
      let best: Slot | undefined;
      for (const slot of this.#slots) {
        if (slot.state !== "ready" || slot.running.size >= this.#options.concurrency) continue;
        if (best === undefined || slot.running.size < best.running.size) best = slot;
      }
      if (best === undefined) return;
      const pending = this.#queue.shift()!;
      pending.worker = best;
      best.running.set(pending.id, pending);
      const timeoutMs = this.#options.timeoutMs;
      if (timeoutMs !== undefined) pending.timer = setTimeout(() => this.#timeOut(pending, timeoutMs), timeoutMs);
      best.channel!.send({ type: "predict", id: pending.id, requestId: pending.requestId, payloadJson: pending.payloadJson });
    }
  }

  #timeOut(pending: Pending, timeoutMs: number): void {
    const slot = pending.worker;
    if (!slot || pending.settled) return;
    slot.running.delete(pending.id);
    this.#settle(pending, { status: "failed", error: `predict() did not finish within predict_timeout_s (${timeoutMs / 1000} s)`, timedOut: true });
    this.#kill(slot, `predict() timed out after ${timeoutMs / 1000} s`);
  }

  #abort(pending: Pending): void {
    if (pending.settled) return;
    const reason = abortMessage(pending.signal!);
    const slot = pending.worker;
    if (slot === undefined) {
      const index = this.#queue.indexOf(pending);
      if (index >= 0) this.#queue.splice(index, 1);
      this.#settle(pending, { status: "failed", error: reason });
      return;
    }
    slot.channel?.send({ type: "cancel", id: pending.id, reason });
    const grace = setTimeout(() => {
      if (pending.settled || pending.worker !== slot) return;
      slot.running.delete(pending.id);
      this.#settle(pending, { status: "failed", error: reason });
      this.#kill(slot, `predict() did not return within ${(this.#options.abortGraceMs ?? ABORT_GRACE_MS) / 1000} s of being aborted`);
    }, this.#options.abortGraceMs ?? ABORT_GRACE_MS);
    grace.unref();
  }

  #kill(slot: Slot, why: string, workersFault = false): void {
    if (!slot.channel || slot.killedFor !== undefined) return;
    slot.killedFor = why;
    slot.killedForFailure = workersFault;
    slot.state = "stopped";
    slot.channel.kill();
  }

  #settle(pending: Pending, outcome: WorkerOutcome | (WorkerOutcome & { timedOut: true })): void {
    if (pending.settled) return;
    pending.settled = true;
    clearTimeout(pending.timer);
    pending.signal?.removeEventListener("abort", pending.onAbort);
    pending.resolve({ ...outcome, finishedAt: this.#now() } as TaskOutcome);
  }
}

function abortMessage(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason.message;
  return typeof reason === "string" && reason !== "" ? reason : "the prediction was aborted";
}
