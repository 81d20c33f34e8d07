import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import type { Logger } from "pino";
import { ErrorCode, RuntimeError } from "../errors.js";
import type { ApiCounts, TaskQuery, TaskSummary } from "../engine/engine.js";
import type { AttemptRecord, DeliveryRecord, DeliveryUpdate, NewDelivery } from "../tasks/delivery.js";
import { webhookStateOf } from "../tasks/delivery.js";
import { parseStoredOutcome, serializeOutcome } from "../tasks/outcome-json.js";
import { formatOf, type CallbackTarget, type NewTask, type TaskOutcome, type TaskRecord, type TaskStatus, type WebhookStatus } from "../tasks/task.js";
import { REDIS_SCRIPTS, type RedisScriptName } from "./redis-scripts.js";
import { bucketActivity, CONSOLE_SCAN_ROWS, type ActivityBucket, type CreateTaskResult, type FinishedTaskTimes, type RecoverySummary, type RedeliverStoreResult, type TaskStore } from "./task-store.js";

/** Options of {@link RedisTaskStore}. */
export interface RedisTaskStoreOptions {
  /** `redis://[user:password@]host:port/db` (or `rediss://` for TLS). */
  url: string;
  /** Key prefix; keep the `{...}` hash tag so one runtime's keys share a Redis Cluster slot. @defaultValue "{predictor-runtime}:" */
  prefix?: string;
  /** How long an owner's heartbeat lasts without renewal: after it, its running tasks are taken over. @defaultValue 15 s */
  ownerTtlMs?: number;
  /** Where taking over a stopped process's work is logged. */
  log?: Logger;
  /**
   * Keep an owner heartbeat and take over the running tasks and report leases of owners whose heartbeat expired.
   * Off where BullMQ holds the locks and finds stalled work (the BullMQ engine). @defaultValue true
   */
  heartbeat?: boolean;
}

/** What {@link RedisTaskStore.claimTask} found. */
export type TaskClaim =
  | { kind: "run"; task: TaskRecord }
  /** Finished already (a re-run after a crash, or cancelled while queued): its report's state, to make sure it is scheduled. */
  | { kind: "finished"; delivery?: { status: DeliveryRecord["status"]; round: number; nextAttemptAt: number } }
  | { kind: "unknown" };

/** A report's delivery with its schedule's round (redeliveries so far). */
export type RoundedDelivery = DeliveryRecord & { round: number };

const DEFAULT_PREFIX = "{predictor-runtime}:";
const DEFAULT_OWNER_TTL_MS = 15_000;
/** How often a process looks for work it did not write itself (tasks queued and reports scheduled elsewhere). */
const POLL_INTERVAL_MS = 100;
/** How many tasks the retention sweep deletes per script call: bounded work per step. */
const SWEEP_CHUNK = 500;
/**
 * Most tasks one console list or count reads in its script (each script blocks Redis while it runs): a list whose
 * filter matches little shows what the newest LIST_MAX_SCAN tasks hold, and counts of finished tasks cover the
 * newest COUNT_MAX_SCAN finished ones.
 */
const LIST_MAX_SCAN = CONSOLE_SCAN_ROWS;
const COUNT_MAX_SCAN = CONSOLE_SCAN_ROWS;
/** Backoff of the writes retried until Redis answers (finishing a task, recording an attempt). */
const RETRY_DELAYS_MS = [100, 250, 500, 1000, 2000];

type ScriptCommands = { [name in RedisScriptName]: (...args: (string | number)[]) => Promise<unknown> };
type Client = Redis & ScriptCommands;

/** A task as the scripts return it: the task hash as a flat list, and its delivery's state fields. */
type TaskReply = [string[], (string | null)[]];

/**
 * The task store on a Redis server shared by any number of `serve` processes on any machines: `--engine redis`.
 * Every operation is one Lua script (runtime/store/redis-scripts.ts), atomic on the server, on one connection, so
 * operations take effect in the order they were called, as the TaskStore contract requires.
 *
 * Each store is an owner with a heartbeat key: the tasks it claims and the reports it leases carry its id. When a
 * process dies, its heartbeat expires and any other process takes its running tasks back to the queue (they run
 * again: at least once) and its leases become due; `recover()` at start-up does the same at once.
 *
 * Durability is Redis's: with `appendonly yes` and `appendfsync everysec` a Redis crash can lose about the last
 * second of writes; `appendfsync always` loses nothing acknowledged. `open()` checks and warns (README, "Redis
 * persistence").
 */
export class RedisTaskStore implements TaskStore {
  readonly #options: Required<Omit<RedisTaskStoreOptions, "log">> & Pick<RedisTaskStoreOptions, "log">;
  /** The key prefix, with its hash tag. */
  readonly prefix: string;
  readonly owner = randomUUID();
  /** Another process can queue tasks and schedule reports: the runtime polls this often for work. */
  readonly pollIntervalMs = POLL_INTERVAL_MS;
  #client: Client | undefined;
  #closed = false;
  #heartbeat: NodeJS.Timeout | undefined;
  /** What `open()` found about the server's settings that weakens the guarantees, with the fix. */
  warnings: readonly string[] = [];

  constructor(options: RedisTaskStoreOptions) {
    this.#options = { prefix: DEFAULT_PREFIX, ownerTtlMs: DEFAULT_OWNER_TTL_MS, heartbeat: true, ...options };
    this.prefix = this.#options.prefix;
  }

  async open(): Promise<void> {
    const client = new Redis(this.#options.url, {
      // A submit while Redis is unreachable fails at once (503 with Retry-After) instead of waiting in a queue.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      lazyConnect: true,
      // Reconnect forever, at most every 2 s: a restarted Redis is picked up by itself.
      retryStrategy: (times) => Math.min(100 * times, 2000),
      connectionName: `predictor-runtime:${this.owner}`,
    }) as Client;
    // Connection errors are reported by the operations that fail; without a listener ioredis prints each one.
    client.on("error", () => undefined);
    for (const [name, lua] of Object.entries(REDIS_SCRIPTS)) client.defineCommand(name, { numberOfKeys: 0, lua });
    try {
      await client.connect();
    } catch (error) {
      client.disconnect();
      throw storageError(`could not connect to Redis at ${redactUrl(this.#options.url)}: ${messageOf(error)}; start redis-server or pass the right --redis-url`, error);
    }
    this.#client = client;
    this.warnings = await this.#checkServer(client);
    if (!this.#options.heartbeat) return;
    await this.#beat();
    this.#heartbeat = setInterval(() => {
      void this.#beat()
        .then(() => this.#takeOverAbandoned())
        .catch(() => undefined);
    }, Math.max(1000, Math.floor(this.#options.ownerTtlMs / 3))).unref();
  }

  async createTask(task: NewTask): Promise<CreateTaskResult> {
    const [created, reply] = (await this.#run("prCreateTask", [
      task.id,
      task.api,
      task.format,
      task.idempotencyKey ?? "",
      task.payloadJson,
      task.callback === undefined ? "" : JSON.stringify(task.callback),
      task.createdAt,
      task.startedAt ?? "",
      this.owner,
      task.batch === true ? "1" : "0",
    ])) as [number, TaskReply];
    const record = toTaskRecord(reply);
    return { task: record, created: created === 1 };
  }

  async getTaskByIdempotencyKey(api: string, idempotencyKey: string): Promise<TaskRecord | undefined> {
    const reply = (await this.#run("prGetTaskByKey", [api, idempotencyKey])) as TaskReply | null;
    return reply === null ? undefined : toTaskRecord(reply);
  }

  async getTask(id: string): Promise<TaskRecord | undefined> {
    const reply = (await this.#run("prGetTask", [id])) as TaskReply | null;
    return reply === null ? undefined : toTaskRecord(reply);
  }

  async taskStatuses(ids: readonly string[]): Promise<Array<TaskStatus | undefined>> {
    if (ids.length === 0) return [];
    const statuses = (await this.#run("prTaskStatuses", [...ids])) as Array<string | null>;
    return ids.map((_, index) => (statuses[index] ?? undefined) as TaskStatus | undefined);
  }

  async claimQueued(api: string, limit: number, now: number): Promise<TaskRecord[]> {
    const hashes = (await this.#run("prClaimQueued", [api, limit, now, this.owner])) as string[][];
    return hashes.map((hash) => toTaskRecord([hash, []]));
  }

  /**
   * The open connection, for BullMQ's queues to add jobs on (they share its fail-fast settings: an add while Redis
   * is away fails at once). Its scripts and commands stay this store's.
   */
  get connection(): Redis {
    if (this.#client === undefined || this.#closed) throw storageError("the Redis task store is not open");
    return this.#client;
  }

  /** Claims the task of a BullMQ job whose lock this process holds (see CLAIM_TASK in redis-scripts.ts). */
  async claimTask(id: string, now: number): Promise<TaskClaim> {
    const reply = (await this.#run("prClaimTask", [id, now, this.owner])) as [string, ...unknown[]];
    if (reply[0] === "run") return { kind: "run", task: toTaskRecord([reply[1] as string[], []]) };
    if (reply[0] === "unknown") return { kind: "unknown" };
    const [, status, round, nextAttemptAt] = reply as string[];
    if (!status) return { kind: "finished" };
    return { kind: "finished", delivery: { status: status as DeliveryRecord["status"], round: Number(round), nextAttemptAt: Number(nextAttemptAt) } };
  }

  /** A task's report as it is now, or undefined when it has none. */
  async getDelivery(taskId: string): Promise<RoundedDelivery | undefined> {
    const flat = (await this.#run("prGetDelivery", [taskId])) as string[] | null;
    if (flat === null) return undefined;
    return { ...toDeliveryRecord(taskId, flat), round: Number(hashToObject(flat).round ?? 0) };
  }

  /** Puts a task this process runs back in the queue (it is stopping before the task finished). */
  async releaseTask(id: string): Promise<void> {
    await this.#run("prReleaseTask", [id]);
  }

  /** Reports waiting for an attempt. */
  async countPendingDeliveries(): Promise<number> {
    return this.#command((client) => client.zcard(`${this.prefix}due`));
  }

  /** Every API that ever had a task here. */
  async apiNames(): Promise<string[]> {
    return this.#command((client) => client.smembers(`${this.prefix}apis`));
  }

  /** Pending reports due before `before` (epoch ms), the longest overdue first, at most `limit`. */
  async overdueReports(before: number, limit: number): Promise<Array<{ taskId: string; api: string; round: number; nextAttemptAt: number }>> {
    const flat = (await this.#run("prOverdueReports", [before, limit])) as string[];
    const reports = [];
    for (let index = 0; index + 3 < flat.length; index += 4) {
      reports.push({ taskId: flat[index]!, api: flat[index + 1]!, round: Number(flat[index + 2]), nextAttemptAt: Number(flat[index + 3]) });
    }
    return reports;
  }

  /** Ids of an API's queued tasks, oldest first, `count` from `start`. */
  async queuedTaskIds(api: string, start: number, count: number): Promise<string[]> {
    return this.#command((client) => client.zrange(`${this.prefix}queue:${api}`, String(start), String(start + count - 1)));
  }

  async finishTask(id: string, outcome: TaskOutcome, delivery: NewDelivery | null): Promise<boolean> {
    // The outcome exists only in this process until stored: while Redis is away, keep trying (finishing twice
    // changes nothing, so a retry of a write that did land is harmless).
    return (await this.#runRetried("prFinishTask", this.#outcomeArgs(id, outcome, delivery))) === 1;
  }

  async cancelTask(id: string, outcome: TaskOutcome, delivery: NewDelivery | null): Promise<TaskStatus | undefined> {
    // Not retried: the client that asked is told Redis did not answer, and may ask again.
    const before = (await this.#run("prCancelTask", this.#outcomeArgs(id, outcome, delivery))) as TaskStatus | null;
    return before ?? undefined;
  }

  async redeliver(id: string, now: number): Promise<RedeliverStoreResult> {
    return (await this.#run("prRedeliver", [id, now])) as RedeliverStoreResult;
  }

  async redeliverFailed(api: string, finishedSince: number, now: number, limit: number): Promise<string[]> {
    if (limit <= 0) return [];
    return (await this.#run("prRedeliverFailed", [api, finishedSince, now, limit])) as string[];
  }

  /** The arguments of finish_task (runtime/store/redis-scripts.ts) after the prefix. */
  #outcomeArgs(id: string, outcome: TaskOutcome, delivery: NewDelivery | null): (string | number)[] {
    const pending = delivery?.status === "pending" ? delivery : undefined;
    const args = [
      id,
      outcome.status,
      outcome.finishedAt,
      serializeOutcome(outcome),
      delivery?.status === "skipped" ? delivery.reason : "",
      pending ? "1" : "0",
      pending?.url ?? "",
      pending?.auth === undefined ? "" : JSON.stringify(pending.auth),
      pending?.body ?? "",
      pending?.webhookId ?? "",
      pending?.headers === undefined ? "" : JSON.stringify(pending.headers),
      pending?.ignoreTimeout === undefined ? "" : String(pending.ignoreTimeout),
      pending?.nextAttemptAt ?? "",
      pending?.leaseExpiresAt ?? "",
      this.owner,
    ];
    return args;
  }

  async countUnfinished(api: string): Promise<number> {
    return (await this.#run("prCountUnfinished", [api])) as number;
  }

  async recover(): Promise<RecoverySummary> {
    // Called at start-up, before this process claimed anything: whatever its own id holds is from before.
    const [requeued, queued, pendingDeliveries] = (await this.#run("prRecover", [this.owner, "1"])) as number[];
    return { requeued: requeued!, queued: queued!, pendingDeliveries: pendingDeliveries! };
  }

  async leaseDueDeliveries(now: number, limit: number, leaseMs: number): Promise<DeliveryRecord[]> {
    const leased = (await this.#run("prLeaseDue", [now, limit, now + leaseMs, this.owner])) as [string, string[]][];
    const records = leased.map(([taskId, hash]) => toDeliveryRecord(taskId, hash));
    return records.sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || (a.taskId < b.taskId ? -1 : 1));
  }

  async recordAttempt(taskId: string, update: DeliveryUpdate, attempt?: AttemptRecord): Promise<void> {
    await this.#runRetried("prRecordAttempt", [
      taskId,
      update.status,
      update.attempts,
      update.nextAttemptAt ?? "",
      update.lastStatusCode ?? "",
      update.lastError ?? "",
      attempt === undefined ? "" : JSON.stringify(attempt),
    ]);
  }

  async listAttempts(taskId: string): Promise<AttemptRecord[]> {
    const items = (await this.#run("prListAttempts", [taskId])) as string[];
    return items.map((item) => JSON.parse(item) as AttemptRecord);
  }

  async listTasks(query: TaskQuery): Promise<TaskSummary[]> {
    const limit = Math.min(Math.max(1, Math.floor(query.limit ?? 50)), 500);
    const rows = (await this.#run("prListTasks", [
      query.api ?? "",
      query.status ?? "",
      query.webhookStatus ?? "",
      query.idPrefix ?? "",
      query.before ?? "",
      limit,
      LIST_MAX_SCAN,
    ])) as string[][];
    return rows.map(([id, api, status, createdAt, finishedAt, webhookStatus, webhookAttempts]) => {
      const summary: TaskSummary = { id: id!, api: api!, status: status as TaskStatus, createdAt: Number(createdAt) };
      if (finishedAt) summary.finishedAt = Number(finishedAt);
      if (webhookStatus) {
        summary.webhookStatus = webhookStatus as WebhookStatus;
        summary.webhookAttempts = Number(webhookAttempts || 0);
      }
      return summary;
    });
  }

  async countTasks(api: string): Promise<ApiCounts> {
    const [inQueue, inProgress, completed, failed, cancelled, pending, delivered, reportsFailed] = (await this.#run("prCounts", [api, COUNT_MAX_SCAN])) as number[];
    return {
      tasks: { in_queue: inQueue!, in_progress: inProgress!, completed: completed!, failed: failed!, cancelled: cancelled! },
      reports: { pending: pending!, delivered: delivered!, failed: reportsFailed! },
    };
  }

  async activity(api: string, since: number, until: number, bucketMs: number): Promise<ActivityBucket[]> {
    const rows = (await this.#run("prActivity", [api, since, COUNT_MAX_SCAN])) as string[][];
    const tasks: FinishedTaskTimes[] = rows.map(([finishedAt, createdAt, deliveredAt]) => {
      const times: FinishedTaskTimes = { finishedAt: Number(finishedAt), createdAt: Number(createdAt) };
      if (deliveredAt) times.deliveredAt = Number(deliveredAt);
      return times;
    });
    return bucketActivity(tasks, since, until, bucketMs);
  }

  async nextDeliveryDueAt(): Promise<number | undefined> {
    const due = (await this.#run("prNextDue", [])) as string | null;
    return due === null ? undefined : Number(due);
  }

  async sweepFinished(finishedBefore: number): Promise<number> {
    let removed = 0;
    let kept = 0;
    for (;;) {
      const [deleted, skipped] = (await this.#run("prSweep", [finishedBefore, kept, SWEEP_CHUNK])) as number[];
      removed += deleted!;
      kept += skipped!;
      if (deleted! + skipped! < SWEEP_CHUNK) return removed;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    const client = this.#client;
    if (client === undefined) return;
    try {
      // Without its heartbeat, what this process still holds goes back to the queue for the other processes at
      // once, rather than when the heartbeat would have expired; QUIT answers after every command sent before it.
      if (client.status === "ready") await client.del(`${this.#options.prefix}owner:${this.owner}`);
      await client.quit();
    } catch {
      client.disconnect();
    }
  }

  /** Renews this owner's heartbeat. */
  async #beat(): Promise<void> {
    await this.#client!.set(`${this.#options.prefix}owner:${this.owner}`, "1", "PX", this.#options.ownerTtlMs);
  }

  /** Requeues the tasks and releases the leases of processes that stopped (their heartbeat expired). */
  async #takeOverAbandoned(): Promise<void> {
    if (this.#closed) return;
    const [requeued, , , released] = (await this.#run("prRecover", [this.owner, "0"])) as number[];
    if (requeued! > 0 || released! > 0) {
      this.#options.log?.warn({ requeued, releasedLeases: released }, "took over the work of a stopped process: its running tasks run again, its reports are due again");
    }
  }

  /** Refuses a server that may evict keys; returns warnings about its persistence. */
  async #checkServer(client: Client): Promise<string[]> {
    const warnings: string[] = [];
    let policy: string | undefined;
    let appendonly: string | undefined;
    try {
      policy = ((await client.config("GET", "maxmemory-policy")) as string[])[1];
      appendonly = ((await client.config("GET", "appendonly")) as string[])[1];
    } catch {
      warnings.push("could not read the Redis server's settings (CONFIG GET is disabled): make sure maxmemory-policy is noeviction and appendonly is yes");
      return warnings;
    }
    if (policy !== undefined && policy !== "noeviction") {
      client.disconnect();
      throw storageError(
        `the Redis server's maxmemory-policy is ${policy}: it may evict tasks and reports under memory pressure, losing them; set it to noeviction (redis-cli CONFIG SET maxmemory-policy noeviction, and in redis.conf)`,
      );
    }
    if (appendonly !== "yes") {
      warnings.push(
        "the Redis server does not use the append-only file (appendonly no): a Redis restart loses every task and report since its last snapshot; set appendonly yes and appendfsync everysec (or always)",
      );
    }
    return warnings;
  }

  #run(name: RedisScriptName, args: (string | number)[]): Promise<unknown> {
    return this.#command((client) => client[name](this.#options.prefix, ...args));
  }

  async #command<T>(call: (client: Client) => Promise<T>): Promise<T> {
    const client = this.#client;
    if (this.#closed || client === undefined) throw storageError("the Redis task store is closed");
    try {
      return await call(client);
    } catch (error) {
      throw redisUnanswered(error);
    }
  }

  async #runRetried(name: RedisScriptName, args: (string | number)[]): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#run(name, args);
      } catch (error) {
        if (this.#closed) throw error;
        await new Promise((resolve) => setTimeout(resolve, RETRY_DELAYS_MS[Math.min(attempt, RETRY_DELAYS_MS.length - 1)]));
      }
    }
  }
}

/** A Redis call that failed, as a storage error (a request answers 503 with Retry-After). */
export function redisUnanswered(error: unknown): RuntimeError {
  return storageError(`Redis did not answer (${messageOf(error)}); it may be restarting: try again shortly`, error);
}

function storageError(message: string, cause?: unknown): RuntimeError {
  return new RuntimeError(ErrorCode.storage, message, cause === undefined ? undefined : { cause });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(an unparsable URL)";
  }
}

function hashToObject(flat: string[]): Record<string, string> {
  const object: Record<string, string> = {};
  for (let index = 0; index < flat.length; index += 2) object[flat[index]!] = flat[index + 1]!;
  return object;
}

function toTaskRecord([flat, delivery]: TaskReply): TaskRecord {
  const hash = hashToObject(flat);
  const record: TaskRecord = {
    id: hash.id!,
    api: hash.api!,
    format: formatOf(hash.format),
    payloadJson: hash.payload!,
    createdAt: Number(hash.created_at),
    status: hash.status as TaskStatus,
  };
  if (hash.idem !== undefined) record.idempotencyKey = hash.idem;
  if (hash.batch === "1") record.batch = true;
  if (hash.callback !== undefined) record.callback = JSON.parse(hash.callback) as CallbackTarget;
  if (hash.started_at !== undefined) record.startedAt = Number(hash.started_at);
  if (hash.outcome !== undefined) record.outcome = parseStoredOutcome(hash.outcome);
  const [status, attempts, lastStatusCode, lastError] = delivery;
  if (status) {
    record.webhook = webhookStateOf({
      status: status as DeliveryRecord["status"],
      attempts: Number(attempts ?? 0),
      lastStatusCode: lastStatusCode ? Number(lastStatusCode) : undefined,
      lastError: lastError ?? undefined,
    });
  } else if (hash.skip_reason !== undefined) {
    record.webhook = { status: "skipped", attempts: 0, lastError: hash.skip_reason };
  }
  return record;
}

function toDeliveryRecord(taskId: string, flat: string[]): DeliveryRecord {
  const hash = hashToObject(flat);
  const record: DeliveryRecord = {
    taskId,
    api: hash.api!,
    url: hash.url!,
    body: hash.body!,
    webhookId: hash.webhook_id!,
    status: hash.status as DeliveryRecord["status"],
    attempts: Number(hash.attempts),
    nextAttemptAt: Number(hash.next_attempt_at),
  };
  if (hash.auth !== undefined && hash.auth !== "erased") record.auth = JSON.parse(hash.auth) as DeliveryRecord["auth"];
  if (hash.headers !== undefined) record.headers = JSON.parse(hash.headers) as Record<string, string>;
  if (hash.ignore_timeout !== undefined) record.ignoreTimeout = hash.ignore_timeout === "true";
  if (hash.last_status_code !== undefined) record.lastStatusCode = Number(hash.last_status_code);
  if (hash.last_error !== undefined) record.lastError = hash.last_error;
  return record;
}
