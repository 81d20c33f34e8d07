import type { Logger } from "pino";
import { firstAttemptOf, type NewDelivery } from "../tasks/delivery.js";
import type { NewTask, TaskOutcome, TaskRecord, TaskStatus } from "../tasks/task.js";
import type { CreateTaskResult, RecoverySummary, TaskStore } from "../store/task-store.js";
import type { Engine, EngineHooks, ReportAttempter, TaskWorker } from "./engine.js";
import { CANCEL_CHECK_MS, cancelRecord, RecordReads, startRetentionSweep } from "./records.js";
import { ReportScheduler } from "./report-scheduler.js";
import { TaskRunner } from "./task-runner.js";

/** Options of {@link StoreEngine}. */
export interface StoreEngineOptions extends EngineHooks {
  /** Its name on the console: `sqlite`, `redis`. */
  name: string;
  store: TaskStore;
  /** How long a report is leased to one attempt (see reportLeaseMs). */
  reportLeaseMs: number;
  /** Report attempts in flight at once. @defaultValue 64 */
  maxAttemptsInFlight?: number;
  /** How long finished tasks are kept. */
  retentionMs: number;
  log: Logger;
  now?: () => number;
}

/**
 * An engine over a {@link TaskStore}: the store keeps tasks and reports durable; this owns the queue's timing in
 * this process, claiming tasks for each API's {@link TaskRunner} and leasing reports for the {@link ReportScheduler}.
 * Two shortcuts keep the embedded engine fast: a task submitted while a worker slot is free and nothing waits is
 * stored already claimed and runs from memory, and a report due at once with an attempt slot free is stored already
 * leased and sent from memory; each saves a store round trip per task.
 */
export class StoreEngine extends RecordReads implements Engine {
  readonly name: string;
  readonly capabilities: { shared: boolean };
  readonly #options: StoreEngineOptions;
  readonly #store: TaskStore;
  readonly #now: () => number;
  readonly #runners = new Map<string, TaskRunner>();
  #scheduler: ReportScheduler | undefined;
  #pollTimer: NodeJS.Timeout | undefined;
  #sweepTimer: NodeJS.Timeout | undefined;

  constructor(options: StoreEngineOptions) {
    super(options.store);
    this.#options = options;
    this.#store = options.store;
    this.#now = options.now ?? Date.now;
    this.name = options.name;
    this.capabilities = { shared: options.store.pollIntervalMs !== undefined };
  }

  get warnings(): readonly string[] {
    return this.#store.warnings ?? [];
  }

  get failure(): Promise<Error> {
    return this.#store.failure ?? new Promise<never>(() => undefined);
  }

  stalled(): Error | undefined {
    return this.#store.stalled?.();
  }

  async open(): Promise<RecoverySummary> {
    await this.#store.open();
    const recovered = await this.#store.recover();
    this.#sweepTimer = startRetentionSweep(this.#store, this.#options.retentionMs, this.#options.log, this.#now);
    return recovered;
  }

  async submit(task: NewTask): Promise<CreateTaskResult> {
    const runner = this.#runners.get(task.api);
    const startNow = runner?.reserveSlot() ?? false;
    const stored = this.#store.createTask(startNow ? { ...task, startedAt: task.createdAt } : task);
    // Woken now, not once the task is stored: the store applies operations in call order, so the runner's claim
    // goes into the same group commit right after this insert and still returns only once it is committed.
    if (!startNow) runner?.notifyQueued();
    let result: CreateTaskResult;
    try {
      result = await stored;
    } catch (error) {
      if (startNow) runner!.cancelReservation();
      throw error;
    }
    if (startNow) {
      if (result.created) runner!.runReserved(result.task);
      else runner!.cancelReservation();
    }
    return result;
  }

  async cancel(task: TaskRecord): Promise<TaskStatus | undefined> {
    const { before, outcome, delivery } = await cancelRecord(this.#store, this.#options.planReport, task, this.#now());
    if (before !== "in_queue" && before !== "in_progress") return before;
    if (delivery?.status === "pending") this.#scheduler?.notify();
    // A prediction running in this process settles once predict() returned; anything else settles now.
    const settlesLater = before === "in_progress" && (this.#runners.get(task.api)?.cancel(task.id) ?? false);
    if (!settlesLater) this.#options.onTaskSettled?.(task, outcome);
    return before;
  }

  async redeliver(id: string) {
    const result = await this.#store.redeliver(id, this.#now());
    if (result === "scheduled") this.#scheduler?.notify();
    return result;
  }

  async redeliverFailed(api: string, since: number, limit: number): Promise<string[]> {
    const ids = await this.#store.redeliverFailed(api, since, this.#now(), limit);
    if (ids.length > 0) this.#scheduler?.notify();
    return ids;
  }

  work(api: string, worker: TaskWorker): void {
    const runner = new TaskRunner({
      api,
      worker,
      store: this.#store,
      finish: (task, outcome) => this.#finish(task, outcome),
      onTaskSettled: (task, outcome) => this.#options.onTaskSettled?.(task, outcome),
      log: this.#options.log,
      now: this.#now,
    });
    this.#runners.set(api, runner);
    runner.start();
    this.#pollSharedStore();
  }

  deliver(attempt: ReportAttempter): void {
    this.#scheduler = new ReportScheduler({
      store: this.#store,
      attempt,
      leaseMs: this.#options.reportLeaseMs,
      log: this.#options.log,
      ...(this.#options.maxAttemptsInFlight === undefined ? {} : { maxInFlight: this.#options.maxAttemptsInFlight }),
      now: this.#now,
    });
    this.#scheduler.start();
    this.#pollSharedStore();
  }

  async stop(graceMs: number): Promise<void> {
    const deadline = this.#now() + graceMs;
    clearInterval(this.#pollTimer);
    clearInterval(this.#sweepTimer);
    await Promise.all([...this.#runners.values()].map((runner) => runner.stop(graceMs)));
    await this.#scheduler?.stop(Math.max(0, deadline - this.#now()));
  }

  async close(): Promise<void> {
    clearInterval(this.#pollTimer);
    clearInterval(this.#sweepTimer);
    await this.#store.close();
  }

  /** Stores a task's outcome with its report, in one atomic step; a report due at once may go out from memory. */
  async #finish(task: TaskRecord, outcome: TaskOutcome): Promise<void> {
    const planned = this.#options.planReport(task, outcome);
    const scheduler = this.#scheduler;
    const leaseExpiresAt = planned?.status === "pending" && planned.nextAttemptAt <= this.#now() ? scheduler?.reserveSlot() : undefined;
    const delivery: NewDelivery | null = leaseExpiresAt === undefined || planned?.status !== "pending" ? planned : { ...planned, leaseExpiresAt };
    let recorded: boolean;
    try {
      const stored = this.#store.finishTask(task.id, outcome, delivery);
      // Woken now, not once stored: the store applies operations in call order, so the scheduler's lease joins the
      // same group commit right after this write and hands the report out only once outcome and report are committed.
      if (delivery?.status === "pending" && leaseExpiresAt === undefined) scheduler?.notify();
      recorded = await stored;
    } catch (error) {
      if (leaseExpiresAt !== undefined) scheduler!.cancelReservation();
      throw error;
    }
    if (leaseExpiresAt === undefined || delivery?.status !== "pending") return;
    if (!recorded) {
      scheduler!.cancelReservation();
      return;
    }
    scheduler!.sendReserved(firstAttemptOf(task, delivery));
  }

  /** Another process may queue tasks and schedule reports in a shared store: look for them now and then. */
  #pollSharedStore(): void {
    const interval = this.#store.pollIntervalMs;
    if (interval === undefined || this.#pollTimer !== undefined) return;
    let polls = 0;
    this.#pollTimer = setInterval(() => {
      for (const runner of this.#runners.values()) runner.notifyQueued();
      this.#scheduler?.notify();
      // About once a second: a task running here cancelled through another process (DELETE /NAME/ID).
      if (++polls % Math.max(1, Math.round(CANCEL_CHECK_MS / interval)) === 0) {
        for (const runner of this.#runners.values()) void runner.stopCancelledElsewhere();
      }
    }, interval).unref();
  }

}
