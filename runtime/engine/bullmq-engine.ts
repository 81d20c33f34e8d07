import { setMaxListeners } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { DelayedError, Queue, Worker, type Job } from "bullmq";
import { Redis, type RedisOptions } from "ioredis";
import type { Logger } from "pino";
import { redisUnanswered, RedisTaskStore, type TaskClaim } from "../store/redis-task-store.js";
import type { CreateTaskResult, RecoverySummary, RedeliverStoreResult } from "../store/task-store.js";
import { firstAttemptOf } from "../tasks/delivery.js";
import type { NewTask, TaskOutcome, TaskRecord, TaskStatus } from "../tasks/task.js";
import { ConcurrencyLimiter } from "../worker/concurrency-limiter.js";
import type { Engine, EngineHooks, ReportAttempter, TaskWorker } from "./engine.js";
import { CANCEL_CHECK_MS, cancelledAmong, cancelRecord, RecordReads, startRetentionSweep } from "./records.js";
import { TaskCancelled } from "./task-runner.js";

/** Options of {@link BullmqEngine}. */
export interface BullmqEngineOptions extends EngineHooks {
  /** `redis://[user:password@]host:port/db` (or `rediss://` for TLS). */
  url: string;
  /** Key prefix of the task records; BullMQ's queues live under it too (`PREFIX` + `bull`). */
  prefix?: string;
  /** How long finished tasks are kept. */
  retentionMs: number;
  /** Report attempts in flight at once in this process. @defaultValue 64 */
  maxAttemptsInFlight?: number;
  log: Logger;
  now?: () => number;
}

/** The report jobs of every API share one queue. */
const REPORT_QUEUE = "reports";
/**
 * A job's lock lasts this long and is renewed at half of it while its process lives; BullMQ looks for stalled
 * jobs (their lock expired: the process died) this often. A killed process's work runs again within about 20 s.
 */
const LOCK_DURATION_MS = 15_000;
const STALLED_INTERVAL_MS = 5_000;
/** A task may stall each time its process is killed; it still runs again (at least once), so no limit to speak of. */
const MAX_STALLED_COUNT = 1_000_000;
/** An attempt or prediction cut off by shutdown is made again this soon, by any process. */
const RETRY_AFTER_SHUTDOWN_MS = 1000;
/**
 * A pending report overdue by this much is looked at by the report reconcile: well past the moment a report due now
 * is handed to its job, so healthy reports are rarely looked at.
 */
const REPORT_RECONCILE_AGE_MS = 30_000;
/** At most one "a job's processing failed" line per queue this often. */
const FAILURE_LOG_INTERVAL_MS = 10_000;
/** Queued tasks re-enqueued per call at start-up (see reconcile). */
const RECONCILE_CHUNK = 1000;
/**
 * How often a working process re-adds the jobs of the oldest queued tasks (a task recorded while its job's add
 * failed, Redis going away between the two, waits at most this long once it reaches the front of the queue).
 */
const RECONCILE_INTERVAL_MS = 60_000;
/**
 * Finished jobs are removed at once: the task records keep the outcome, the report state and the timeline. A job
 * whose processing threw (Redis went away mid-way) is retried every second rather than dropped: its record says
 * what is left to do.
 */
const JOB_OPTIONS = { removeOnComplete: true, removeOnFail: true, attempts: 1_000_000, backoff: { type: "fixed", delay: 1000 } } as const;

/**
 * `--engine redis`: BullMQ owns the queue. Each API has a BullMQ queue whose job id is the task id, and every report
 * is a job of one report queue whose id is derived from its task (`TASK.rROUND`, the round counting redeliveries), so
 * a re-run of a task cannot enqueue a second report. BullMQ's workers claim, lock, find stalled work (a killed
 * process) and keep the retry timers (a retry is the report job moved to delayed until the retry policy's time).
 *
 * The records (payload, status, outcome, report body and state, attempt timeline, idempotency keys, the console's
 * indexes) are the RedisTaskStore's hashes on the same server, each change one Lua script: a job is a pointer to
 * its record, and the record decides. A task job whose task already finished only makes sure its report job exists;
 * a report job whose report is no longer pending (or belongs to an earlier round) ends without an attempt. So a
 * job that runs twice (a crash between a record's write and the job's completion) never sends a report twice
 * because of it. A record written without its job (a crash, or Redis going away, between the two) gets its job from
 * a reconcile: queued tasks at start and every minute, overdue pending reports when delivering starts and every minute.
 */
export class BullmqEngine extends RecordReads implements Engine {
  readonly name = "redis";
  readonly capabilities = { shared: true };
  readonly failure: Promise<Error> = new Promise<never>(() => undefined);
  readonly #options: BullmqEngineOptions;
  readonly #now: () => number;
  readonly #store: RedisTaskStore;
  readonly #bullPrefix: string;
  readonly #queues = new Map<string, Queue>();
  readonly #workers: Worker[] = [];
  /** The workers' own connections: BullMQ leaves a connection it was given open when it closes. */
  readonly #workerConnections: Redis[] = [];
  /** Predictions running in this process, by task id. */
  readonly #predicting = new Map<string, { task: TaskRecord; controller: AbortController }>();
  /** Aborted at shutdown past the grace period: every prediction and attempt still running here. */
  readonly #shutdown = new AbortController();
  #sweepTimer: NodeJS.Timeout | undefined;
  #cancelTimer: NodeJS.Timeout | undefined;
  #reconcileTimer: NodeJS.Timeout | undefined;
  #reportReconcileTimer: NodeJS.Timeout | undefined;
  #workersClosed: Promise<unknown> | undefined;
  /** The core's attempt, once deliver() was called: a report due at once is first attempted inside its task's job. */
  #attempt: ReportAttempter | undefined;

  constructor(options: BullmqEngineOptions) {
    const store = new RedisTaskStore({ url: options.url, log: options.log, heartbeat: false, ...(options.prefix === undefined ? {} : { prefix: options.prefix }) });
    super(store);
    this.#store = store;
    setMaxListeners(0, this.#shutdown.signal);
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#bullPrefix = `${this.#store.prefix}bull`;
  }

  get warnings(): readonly string[] {
    return this.#store.warnings;
  }

  stalled(): Error | undefined {
    return undefined;
  }

  async open(): Promise<RecoverySummary> {
    await this.#store.open();
    const queued = await this.#reconcile();
    // Nothing is requeued here: BullMQ puts back the jobs of a stopped process by itself once their locks expire.
    const summary: RecoverySummary = { requeued: 0, queued, pendingDeliveries: await this.#store.countPendingDeliveries() };
    this.#sweepTimer = startRetentionSweep(this.#store, this.#options.retentionMs, this.#options.log, this.#now);
    return summary;
  }

  async submit(task: NewTask): Promise<CreateTaskResult> {
    const result = await this.#store.createTask(task);
    // A repeat of a task still queued re-adds its job: the first submit may have stopped between record and job.
    // Adding a job id that exists changes nothing.
    if (result.created || result.task.status === "in_queue") await this.#enqueueTask(result.task.api, result.task.id);
    return result;
  }

  async cancel(task: TaskRecord): Promise<TaskStatus | undefined> {
    const { before, outcome, delivery } = await cancelRecord(this.#store, this.#options.planReport, task, this.#now());
    if (before !== "in_queue" && before !== "in_progress") return before;
    // The queued job stays: when a worker takes it, the record says cancelled and it ends there.
    if (delivery?.status === "pending") await this.#enqueueReport(task.id, 0, delivery.nextAttemptAt);
    // A prediction running here settles once predict() returned; anything else (running elsewhere, or already cut
    // off by shutdown, whose job will find the task cancelled) settles now.
    const running = this.#predicting.get(task.id);
    if (running !== undefined && !running.controller.signal.aborted) running.controller.abort(new TaskCancelled());
    else this.#options.onTaskSettled?.(task, outcome);
    return before;
  }

  async redeliver(id: string): Promise<RedeliverStoreResult> {
    const result = await this.#store.redeliver(id, this.#now());
    if (result === "scheduled") await this.#enqueueCurrentReport(id);
    return result;
  }

  async redeliverFailed(api: string, since: number, limit: number): Promise<string[]> {
    const ids = await this.#store.redeliverFailed(api, since, this.#now(), limit);
    for (const id of ids) await this.#enqueueCurrentReport(id);
    return ids;
  }

  work(api: string, worker: TaskWorker): void {
    // Twice the worker's slots in jobs: a job whose prediction is over may still be making its report's first
    // attempt, and that must not keep the next prediction waiting. Predictions themselves stay within the slots.
    const predictions = new ConcurrencyLimiter(worker.concurrency);
    this.#workers.push(
      this.#worker(taskQueueName(api), worker.concurrency * 2, (job, token) => this.#runTask(job, token, worker, predictions)),
    );
    this.#cancelTimer ??= setInterval(() => void this.#stopCancelledElsewhere(), CANCEL_CHECK_MS).unref();
    this.#reconcileTimer ??= setInterval(() => {
      this.#reconcile(1).catch((error: unknown) => this.#options.log.warn({ err: { message: (error as Error).message } }, "re-adding the oldest queued tasks' jobs failed; trying again in a minute"));
    }, RECONCILE_INTERVAL_MS).unref();
  }

  deliver(attempt: ReportAttempter): void {
    this.#attempt = attempt;
    this.#workers.push(
      this.#worker(REPORT_QUEUE, this.#options.maxAttemptsInFlight ?? 64, (job, token) => this.#attemptReport(job as Job<ReportJob>, token, attempt)),
    );
    const reconcileReports = (): void => {
      this.#reconcileReports().catch((error: unknown) => this.#options.log.warn({ err: { message: (error as Error).message } }, "looking for pending reports without a job failed; trying again in a minute"));
    };
    reconcileReports();
    this.#reportReconcileTimer = setInterval(reconcileReports, RECONCILE_INTERVAL_MS).unref();
  }

  async stop(graceMs: number): Promise<void> {
    this.#stopTimers();
    // Worker.close() takes no new jobs and waits for the running ones; past the grace period they are aborted, and
    // each aborted job goes back to the queue (delayed a moment) to run again here or elsewhere. A predict() that
    // ignores its signal is not waited for: its job's lock lapses and BullMQ hands the job to another process.
    const closing = this.#closeWorkers();
    const outcome = await Promise.race([closing.then(() => "closed" as const), delay(graceMs).then(() => "timeout" as const)]);
    if (outcome === "timeout") {
      this.#options.log.warn({ running: this.#predicting.size }, "grace period over; tasks still running will run again");
      this.#shutdown.abort(new Error("the runtime is shutting down"));
      await Promise.race([closing, delay(ABORT_WAIT_MS)]);
    }
  }

  async close(): Promise<void> {
    this.#stopTimers();
    await Promise.race([this.#closeWorkers(), delay(ABORT_WAIT_MS)]);
    await Promise.all([...this.#queues.values()].map((queue) => queue.close().catch(() => undefined)));
    for (const connection of this.#workerConnections) connection.disconnect();
    await this.#store.close();
  }

  #stopTimers(): void {
    for (const timer of [this.#sweepTimer, this.#cancelTimer, this.#reconcileTimer, this.#reportReconcileTimer]) clearInterval(timer);
  }

  /** Closes every worker once: they take no new job, and resolve when their running jobs ended. */
  #closeWorkers(): Promise<unknown> {
    this.#workersClosed ??= Promise.all(this.#workers.map((worker) => worker.close().catch(() => undefined)));
    return this.#workersClosed;
  }

  /** A task job: claim its record and predict within the API's slots, then store the outcome and its report. */
  async #runTask(job: Job, token: string | undefined, worker: TaskWorker, predictions: ConcurrencyLimiter): Promise<void> {
    await predictions.acquire();
    let predicted: { task: TaskRecord; outcome: TaskOutcome } | undefined;
    try {
      predicted = await this.#predict(job, token, worker);
    } finally {
      predictions.release();
    }
    if (predicted !== undefined) await this.#storeOutcome(predicted.task, predicted.outcome);
  }

  async #predict(job: Job, token: string | undefined, worker: TaskWorker): Promise<{ task: TaskRecord; outcome: TaskOutcome } | undefined> {
    const claim = await this.#store.claimTask(job.id!, this.#now());
    if (claim.kind === "unknown") return undefined; // Swept after its retention.
    if (claim.kind === "finished") {
      await this.#ensureReport(job.id!, claim);
      return undefined;
    }
    const { task } = claim;
    const controller = new AbortController();
    setMaxListeners(0, controller.signal);
    const onShutdown = (): void => controller.abort(this.#shutdown.signal.reason);
    this.#shutdown.signal.addEventListener("abort", onShutdown, { once: true });
    this.#predicting.set(task.id, { task, controller });
    let outcome: TaskOutcome;
    try {
      outcome = await worker.predict(task, controller.signal);
    } finally {
      this.#predicting.delete(task.id);
      this.#shutdown.signal.removeEventListener("abort", onShutdown);
    }
    if (controller.signal.reason instanceof TaskCancelled) {
      // The cancel stored the task's outcome and report, and added the report's job, already; whatever predict() ended
      // with is dropped.
      this.#options.onTaskSettled?.(task, { status: "cancelled", finishedAt: this.#now() });
      return undefined;
    }
    if (this.#shutdown.signal.aborted) {
      // Back to the queue at once (a status read says in_queue), and the job runs again after a moment, here or elsewhere.
      await this.#store.releaseTask(task.id);
      return this.#runAgainSoon(job, token);
    }
    return { task, outcome };
  }

  /**
   * Stores a task's outcome with its report in one step; a report due at once gets its first attempt here, inside
   * the task's job, and a report job only when it must wait (a retry, a first-attempt delay). Should the process stop
   * before that is settled, the job is still unfinished: it runs again, finds the task finished, and enqueues the
   * report job then (see #ensureReport).
   */
  async #storeOutcome(task: TaskRecord, outcome: TaskOutcome): Promise<void> {
    const delivery = this.#options.planReport(task, outcome);
    // Retried until Redis answers: the outcome exists only in this process until it is stored.
    const recorded = await this.#store.finishTask(task.id, outcome, delivery);
    if (!recorded) {
      // Cancelled meanwhile, finished by an earlier run, or finished by this very write: Redis applied it and went
      // away before answering, and the retry found the task done. Whichever it was, a pending report needs its job.
      await this.#enqueueCurrentReport(task.id);
      return;
    }
    this.#options.onTaskSettled?.(task, outcome);
    if (delivery?.status !== "pending") return;
    const attempt = this.#attempt;
    if (attempt === undefined || delivery.nextAttemptAt > this.#now() || this.#shutdown.signal.aborted) {
      await this.#enqueueReport(task.id, 0, delivery.nextAttemptAt);
      return;
    }
    const result = await attempt(firstAttemptOf(task, delivery), this.#shutdown.signal);
    if (result === undefined) return this.#enqueueReport(task.id, 0, this.#now() + RETRY_AFTER_SHUTDOWN_MS);
    await this.#store.recordAttempt(task.id, result.update, result.attempt);
    if (result.update.status === "pending") await this.#enqueueReport(task.id, 0, result.update.nextAttemptAt ?? this.#now());
  }

  /** A report job: one attempt through the core, recorded; a retry moves the job to delayed until it is due. */
  async #attemptReport(job: Job<ReportJob>, token: string | undefined, attempt: ReportAttempter): Promise<void> {
    const { taskId, round } = job.data;
    const delivery = await this.#store.getDelivery(taskId);
    if (delivery === undefined || delivery.status !== "pending" || delivery.round !== round) return;
    if (delivery.nextAttemptAt > this.#now()) return this.#delayUntil(job, token, delivery.nextAttemptAt);
    const result = await attempt(delivery, this.#shutdown.signal);
    if (result === undefined) return this.#runAgainSoon(job, token);
    await this.#store.recordAttempt(taskId, result.update, result.attempt);
    if (result.update.status === "pending") return this.#delayUntil(job, token, result.update.nextAttemptAt ?? this.#now());
  }

  /** A finished task's job ran again (its process stopped after storing the outcome): its report job must exist. */
  async #ensureReport(taskId: string, claim: Extract<TaskClaim, { kind: "finished" }>): Promise<void> {
    if (claim.delivery?.status === "pending") await this.#enqueueReport(taskId, claim.delivery.round, claim.delivery.nextAttemptAt);
  }

  async #enqueueCurrentReport(taskId: string): Promise<void> {
    const delivery = await this.#store.getDelivery(taskId);
    if (delivery?.status === "pending") await this.#enqueueReport(taskId, delivery.round, delivery.nextAttemptAt);
  }

  async #enqueueTask(api: string, taskId: string): Promise<void> {
    const { name, data, opts } = taskJob(taskId);
    await answered(this.#queue(taskQueueName(api)).add(name, data, opts));
  }

  async #enqueueReport(taskId: string, round: number, dueAt: number): Promise<void> {
    const { name, data, opts } = this.#reportJob(taskId, round, dueAt);
    await answered(this.#queue(REPORT_QUEUE).add(name, data, opts));
  }

  /** A report's job: its id is derived from the task and the schedule's round, so each schedule has at most one. */
  #reportJob(taskId: string, round: number, dueAt: number) {
    const data: ReportJob = { taskId, round };
    return { name: "report", data, opts: { jobId: reportJobId(taskId, round), delay: Math.max(0, dueAt - this.#now()), ...JOB_OPTIONS } };
  }

  async #delayUntil(job: Job, token: string | undefined, at: number): Promise<never> {
    await job.moveToDelayed(Math.max(at, this.#now()), token);
    throw new DelayedError();
  }

  #runAgainSoon(job: Job, token: string | undefined): Promise<never> {
    return this.#delayUntil(job, token, this.#now() + RETRY_AFTER_SHUTDOWN_MS);
  }

  #queue(name: string): Queue {
    let queue = this.#queues.get(name);
    if (queue === undefined) {
      // Jobs are added on the store's connection: an add while Redis is away fails at once (the submit answers 503).
      queue = new Queue(name, { connection: this.#store.connection, prefix: this.#bullPrefix });
      queue.on("error", () => undefined);
      this.#queues.set(name, queue);
    }
    return queue;
  }

  #worker(queueName: string, concurrency: number, process: (job: Job, token?: string) => Promise<void>): Worker {
    const connection = new Redis(this.#options.url, { ...WORKER_OPTIONS });
    connection.on("error", () => undefined);
    this.#workerConnections.push(connection);
    const worker = new Worker(queueName, process, {
      connection,
      prefix: this.#bullPrefix,
      concurrency,
      lockDuration: LOCK_DURATION_MS,
      stalledInterval: STALLED_INTERVAL_MS,
      maxStalledCount: MAX_STALLED_COUNT,
    });
    worker.on("error", (error) => this.#options.log.warn({ queue: queueName, err: { message: error.message } }, "BullMQ worker error; it reconnects by itself"));
    // BullMQ found a job whose lock expired (its process stopped mid-way) and put it back: it runs again here or elsewhere.
    worker.on("stalled", (jobId) => this.#options.log.warn({ queue: queueName, jobId }, "took over the work of a stopped process: its job runs again"));
    // While Redis is away every running job fails each second: one line per queue every FAILURE_LOG_INTERVAL_MS, with
    // how many failed since the last, rather than a line per job per second.
    let failedSinceLog = 0;
    let lastLogAt = Number.NEGATIVE_INFINITY;
    worker.on("failed", (job, error) => {
      failedSinceLog++;
      if (this.#now() - lastLogAt < FAILURE_LOG_INTERVAL_MS) return;
      this.#options.log.warn({ queue: queueName, jobId: job?.id, failedJobs: failedSinceLog, err: { message: error.message } }, "a job's processing failed (Redis away?); it runs again in 1 s");
      failedSinceLog = 0;
      lastLogAt = this.#now();
    });
    return worker;
  }

  /**
   * Records written without their job (the process stopped, or Redis went away, between the two at submit) are
   * queued again: queued tasks with no job get one. At start every queued task is looked at; later, every minute,
   * the oldest `chunks` thousand per API. Resolves to how many queued tasks were looked at.
   */
  async #reconcile(chunks = Number.POSITIVE_INFINITY): Promise<number> {
    let queued = 0;
    let added = 0;
    for (const api of await this.#store.apiNames()) {
      const queue = this.#queue(taskQueueName(api));
      for (let start = 0; start < chunks * RECONCILE_CHUNK; start += RECONCILE_CHUNK) {
        const ids = await this.#store.queuedTaskIds(api, start, RECONCILE_CHUNK);
        const missing = await this.#withoutJob(queue, ids);
        if (missing.length > 0) await answered(queue.addBulk(missing.map(taskJob)));
        queued += ids.length;
        added += missing.length;
        if (ids.length < RECONCILE_CHUNK) break;
      }
    }
    if (added > 0) this.#options.log.warn({ tasks: added }, "queued tasks had no job (a process stopped, or Redis went away, between record and job at submit): their jobs are added now");
    return queued;
  }

  /**
   * The ids among `ids` that have no job in `queue`, in any state. Adding a job that exists would change nothing,
   * but costs Redis a script run each: a start-up with a million queued tasks would make a million.
   */
  async #withoutJob(queue: Queue, ids: readonly string[]): Promise<string[]> {
    const exists = await this.#jobsExist(ids.map((id) => queue.toKey(id)));
    return ids.filter((_, index) => !exists[index]);
  }

  /**
   * Pending reports overdue by REPORT_RECONCILE_AGE_MS with no job of their own and no job of their task (whose job
   * makes a report's first attempt, or re-adds its job when it runs again) get their report job: every path that
   * leaves a pending report behind adds its job, but an add can fail after the record was written (Redis went away
   * between the two), and a pending report without a job would wait for a manual redelivery. Resolves to how many.
   */
  async #reconcileReports(): Promise<number> {
    const overdue = await this.#store.overdueReports(this.#now() - REPORT_RECONCILE_AGE_MS, RECONCILE_CHUNK);
    const reportQueue = this.#queue(REPORT_QUEUE);
    // Report job first, task job second: a task job that adds the report job and ends between the two reads is
    // seen through its report job, or (read too early) the add below finds that job and changes nothing.
    const exists = await this.#jobsExist(overdue.flatMap((report) => [reportQueue.toKey(reportJobId(report.taskId, report.round)), this.#queue(taskQueueName(report.api)).toKey(report.taskId)]));
    const orphans = overdue.filter((_, index) => !exists[2 * index] && !exists[2 * index + 1]);
    if (orphans.length > 0) await answered(reportQueue.addBulk(orphans.map((report) => this.#reportJob(report.taskId, report.round, report.nextAttemptAt))));
    if (orphans.length > 0) this.#options.log.warn({ reports: orphans.length }, "pending reports had no job (Redis went away between record and job): their jobs are added now");
    return orphans.length;
  }

  /** Whether each of these BullMQ job keys exists, in one round trip. */
  async #jobsExist(keys: readonly string[]): Promise<boolean[]> {
    if (keys.length === 0) return [];
    const lookup = this.#store.connection.pipeline();
    for (const key of keys) lookup.exists(key);
    const replies = (await answered(lookup.exec())) ?? [];
    return keys.map((_, index) => {
      const [error, exists] = replies[index] ?? [new Error("no reply"), 0];
      if (error) throw redisUnanswered(error);
      return exists !== 0;
    });
  }

  /** Stops predictions running here whose task was cancelled through another process. */
  async #stopCancelledElsewhere(): Promise<void> {
    for (const id of await cancelledAmong(this.#store, this.#predicting.keys())) this.#predicting.get(id)?.controller.abort(new TaskCancelled());
  }

}

/** How long shutdown waits for aborted jobs to hand themselves back before it lets go of them. */
const ABORT_WAIT_MS = 2000;

/** Waits without keeping the process alive. */
function delay(ms: number): Promise<void> {
  return sleep(ms, undefined, { ref: false });
}

/** A BullMQ call's promise, its failure as a storage error (503 with Retry-After for a request). */
async function answered<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    throw redisUnanswered(error);
  }
}

/** What a report job carries: which report, and which schedule of it. */
interface ReportJob {
  taskId: string;
  round: number;
}

function taskQueueName(api: string): string {
  return `tasks-${api}`;
}

/** A task's job: it carries nothing (the record does), and its id is the task's, so a task has at most one. */
function taskJob(taskId: string) {
  return { name: "task", data: {}, opts: { jobId: taskId, ...JOB_OPTIONS } };
}

function reportJobId(taskId: string, round: number): string {
  return `${taskId}.r${round}`;
}

/** BullMQ's workers block on Redis and must wait through a restart rather than fail: they reconnect forever. */
const WORKER_OPTIONS: RedisOptions = {
  maxRetriesPerRequest: null,
  retryStrategy: (times) => Math.min(100 * times, 2000),
};
