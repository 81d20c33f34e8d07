import { setMaxListeners } from "node:events";
import type { Logger } from "pino";
import { BacklogDrain } from "../shared/backlog-drain.js";
import type { TaskStore } from "../store/task-store.js";
import type { TaskOutcome, TaskRecord } from "../tasks/task.js";
import type { TaskWorker } from "./engine.js";
import { cancelledAmong } from "./records.js";

/** Options of {@link TaskRunner}. */
export interface TaskRunnerOptions {
  api: string;
  /** The core's predict(): where and how a task runs is its business. */
  worker: TaskWorker;
  store: Pick<TaskStore, "claimQueued" | "taskStatuses">;
  /** Stores a task's outcome with its report (the engine's finish). */
  finish(task: TaskRecord, outcome: TaskOutcome): Promise<void>;
  /** Called once per task that settled here (its outcome stored, or it was cancelled). */
  onTaskSettled?: (task: TaskRecord, outcome: TaskOutcome) => void;
  log: Logger;
  now?: () => number;
}

/** Most cancelled task ids kept for tasks that have not reached this runner (see TaskRunner.cancel). */
const MAX_CANCELLED_BEFORE_START = 10_000;

/** Wait before claiming again after the store failed, so a broken disk does not spin the CPU. */
const CLAIM_RETRY_MS = 1000;

/**
 * Runs one API's queue in this process for a store-backed engine: claims queued tasks up to the worker's
 * concurrency, runs predict(), hands each outcome to the engine's finish. It is woken when a task is queued or a
 * slot frees, rather than polling the store.
 */
export class TaskRunner {
  readonly #options: TaskRunnerOptions;
  readonly #now: () => number;
  /** Tasks whose predict() is running, each with the controller of its signal: the slots threads_per_process bounds. */
  readonly #predicting = new Map<string, AbortController>();
  /** Tasks cancelled in the store after they were claimed but before they reached this worker: they never run. */
  readonly #cancelledBeforeStart = new Set<string>();
  /** Each claimed task's whole life (predict, then storing its outcome), so shutdown can wait for it. */
  readonly #work = new Set<Promise<void>>();
  /** Aborted when shutdown outlasts its grace period (each running prediction's own signal is aborted with it). */
  readonly #abort = new AbortController();
  /** Slots promised to tasks being created already claimed (see {@link reserveSlot}). */
  #reserved = 0;
  /** Claims queued tasks while slots are free. */
  readonly #queue: BacklogDrain;
  #started = false;
  #stopping = false;
  #retryTimer: NodeJS.Timeout | undefined;

  constructor(options: TaskRunnerOptions) {
    // Every running prediction with a timeout listens on it: many at once are expected, not a leak.
    setMaxListeners(0, this.#abort.signal);
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#queue = new BacklogDrain({
      room: () => (this.#stopping ? 0 : options.worker.concurrency - this.#predicting.size - this.#reserved),
      take: async (limit) => {
        const tasks = await options.store.claimQueued(options.api, limit, this.#now());
        for (const task of tasks) this.#run(task);
        return tasks.length;
      },
      onError: (error) => {
        options.log.error({ api: options.api, err: error }, "claiming queued tasks failed; retrying in 1 s");
        this.#retryTimer = setTimeout(() => this.#queue.kick(), CLAIM_RETRY_MS).unref();
      },
    });
  }

  /** Predictions running now. */
  get running(): number {
    return this.#predicting.size;
  }

  /** Begins taking tasks (after the predictor's setup() finished). */
  start(): void {
    this.#started = true;
    this.#queue.enable();
  }

  /** Tells the worker a task was queued in the store; cheap, and safe to call at any time. */
  notifyQueued(): void {
    this.#queue.queued();
  }

  /**
   * Promises a slot to a task about to be created, when one is free and nothing waits in the queue (so starting it
   * at once keeps the queue's order). The caller creates the task already claimed, then calls {@link runReserved}
   * with it, or {@link cancelReservation} when it was not created.
   */
  reserveSlot(): boolean {
    if (!this.#started || this.#stopping || this.#queue.backlog) return false;
    if (this.#predicting.size + this.#reserved >= this.#options.worker.concurrency) return false;
    this.#reserved++;
    return true;
  }

  /** Runs a task created already claimed in a slot from {@link reserveSlot}; its payload is in memory, not re-read. */
  runReserved(task: TaskRecord): void {
    this.#reserved--;
    if (this.#stopping) return; // Stored in_progress: it runs again on the next start.
    this.#run(task);
  }

  /** Gives back a slot from {@link reserveSlot} whose task was not created (a repeated idempotency key, an error). */
  cancelReservation(): void {
    this.#reserved--;
    this.#queue.kick();
  }

  /**
   * Stops a task that was cancelled in the store while claimed (TaskStore.cancelTask said in_progress). A running
   * predict() sees its signal abort, its outcome is dropped (the cancel stored its own), and it settles here once
   * predict() returned: true. Otherwise (false) the caller settles it: a task claimed but not started here yet
   * never runs, and one running in another process is stopped there.
   */
  cancel(taskId: string): boolean {
    const running = this.#predicting.get(taskId);
    if (running !== undefined) {
      // Aborted already by shutdown: its predict() ends without settling (see #run), so the caller settles it.
      if (running.signal.aborted) return false;
      running.abort(new TaskCancelled());
      return true;
    }
    // Bounded: with a shared engine the task may run in another process and never arrive here.
    if (this.#cancelledBeforeStart.size >= MAX_CANCELLED_BEFORE_START) {
      this.#cancelledBeforeStart.delete(this.#cancelledBeforeStart.values().next().value!);
    }
    this.#cancelledBeforeStart.add(taskId);
    return false;
  }

  /**
   * With a store other processes share, a task running here may be cancelled through another process's HTTP: looks
   * up the running tasks and stops those the store says are cancelled. Cheap when nothing runs; errors wait for the
   * next look.
   */
  async stopCancelledElsewhere(): Promise<void> {
    for (const id of await cancelledAmong(this.#options.store, this.#predicting.keys())) {
      if (this.#predicting.has(id)) this.cancel(id);
    }
  }


  /**
   * Stops claiming, waits up to `graceMs` for running predictions to finish and store their outcome, then aborts
   * the rest. Aborted tasks stay in_progress in the store and run again on the next start.
   */
  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    this.#queue.disable();
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    if (this.#work.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), graceMs);
    });
    const outcome = await Promise.race([Promise.allSettled([...this.#work]), deadline]);
    clearTimeout(timer);
    if (outcome === "timeout") {
      this.#options.log.warn({ api: this.#options.api, running: this.#predicting.size }, "grace period over; tasks still running will run again on the next start");
      const reason = new Error("the runtime is shutting down");
      this.#abort.abort(reason);
      for (const prediction of this.#predicting.values()) prediction.abort(reason);
    }
  }

  #run(task: TaskRecord): void {
    const { worker, log, api } = this.#options;
    if (this.#cancelledBeforeStart.delete(task.id)) {
      // Settled by whoever cancelled it (see cancel()).
      this.#queue.kick();
      return;
    }
    const controller = new AbortController();
    // A predictor may listen on its signal from several places; that is not a leak.
    setMaxListeners(0, controller.signal);
    this.#predicting.set(task.id, controller);
    const work = (async () => {
      let outcome: TaskOutcome;
      try {
        outcome = await worker.predict(task, controller.signal);
      } finally {
        // The slot is free once predict() returned, before the outcome is stored: the next claim then joins the
        // same group commit as this outcome instead of waiting for it (one commit per task per slot, not two).
        this.#predicting.delete(task.id);
        this.#queue.kick();
      }
      if (controller.signal.reason instanceof TaskCancelled) {
        // The cancel stored the task's outcome and report already; whatever predict() ended with is dropped. Checked
        // before shutdown: a cancelled task is settled here even when shutdown aborted it again (it never re-runs).
        this.#options.onTaskSettled?.(task, { status: "cancelled", finishedAt: this.#now() });
        return;
      }
      if (this.#abort.signal.aborted) return; // Shut down mid-prediction: the task runs again after restart.
      try {
        await this.#options.finish(task, outcome);
      } catch (error) {
        // The outcome is lost with this process, but the task is still in_progress in the store: it runs again
        // on the next start, so its report is delayed, not lost.
        log.error({ api, taskId: task.id, err: error }, "storing a task's outcome failed; it will run again on the next start");
        return;
      }
      this.#options.onTaskSettled?.(task, outcome);
    })();
    this.#work.add(work);
    void work.finally(() => this.#work.delete(work));
  }
}

/** Why a cancelled task's predict() signal aborted. */
export class TaskCancelled extends Error {
  override readonly name = "TaskCancelled";

  constructor() {
    super("the task was cancelled (DELETE /NAME/ID)");
  }
}
