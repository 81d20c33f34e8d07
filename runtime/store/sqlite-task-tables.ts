import type Database from "better-sqlite3";
import type { ApiCounts, TaskQuery, TaskSummary } from "../engine/engine.js";
import type { AttemptRecord, DeliveryRecord, DeliveryUpdate } from "../tasks/delivery.js";
import type { TaskRecord, TaskStatus } from "../tasks/task.js";
import { bucketActivity, CONSOLE_SCAN_ROWS, type ActivityBucket, type RecoverySummary, type RedeliverStoreResult } from "./task-store.js";
import {
  toAttemptRecord,
  toDeliveryRecord,
  toTaskRecord,
  toTaskSummary,
  type AttemptRow,
  type DeliveryRow,
  type TaskRow,
  type TaskSummaryRow,
  type TaskWithDeliveryRow,
} from "./sqlite-rows.js";

/** A task as `tasks` stores it: JSON already serialized, so a value JSON cannot carry fails before it is queued. */
export interface TaskInsert {
  id: string;
  api: string;
  format: string;
  idempotencyKey: string | null;
  payload: string;
  callback: string | null;
  /** 1: the payload is a batch of [ID, payload] items. */
  batch: number;
  createdAt: number;
  /** Set: stored in_progress, already claimed by its caller. */
  startedAt: number | null;
}

/** A finished task's outcome as it is stored. */
export interface OutcomeUpdate {
  status: string;
  finishedAt: number;
  outcome: string;
  /** Set when no report is sent, with the reason shown to the user. */
  webhookSkipReason: string | null;
}

/** A report for `deliveries`, its credentials serialized. */
export interface DeliveryInsert {
  url: string;
  auth: string | null;
  body: string;
  webhookId: string;
  /** JSON of extra report headers, or null. */
  headers: string | null;
  /** 1 or 0 overriding the API's ignore_timeout, or null. */
  ignoreTimeout: number | null;
  nextAttemptAt: number;
  /** Set: stored leased to its caller until then. */
  leaseExpiresAt: number | null;
}

/**
 * What a settled report's per-request credentials become: erased, but marked, so a redelivery that would have to
 * send them is refused rather than sent without them.
 */
export const ERASED_AUTH = '"erased"';

/** Which rows are due for a delivery attempt: pending, scheduled by now, and not leased (or the lease ran out). */
const DUE = "coalesce(lease_expires_at, next_attempt_at)";

/**
 * The synchronous SQL of the task store, one method per operation, over one open connection. Every statement is
 * prepared once, here. Methods run inside a group-commit transaction and never begin or commit one themselves; a
 * method with several writes (finishTask) is atomic because a failing operation rolls back its whole batch.
 */
export class SqliteTaskTables {
  readonly #insertTask: Database.Statement;
  readonly #getTask: Database.Statement;
  readonly #getTaskByKey: Database.Statement;
  readonly #claimQueued: Database.Statement;
  readonly #finishTask: Database.Statement;
  readonly #insertDelivery: Database.Statement;
  readonly #countUnfinished: Database.Statement;
  readonly #taskStatus: Database.Statement;
  readonly #deliveryStatus: Database.Statement;
  readonly #redeliver: Database.Statement;
  readonly #redeliverFailed: Database.Statement;
  readonly #requeueInProgress: Database.Statement;
  readonly #releaseLeases: Database.Statement;
  readonly #countQueued: Database.Statement;
  readonly #countPendingDeliveries: Database.Statement;
  readonly #leaseDue: Database.Statement;
  readonly #recordAttempt: Database.Statement;
  readonly #nextDue: Database.Statement;
  readonly #sweep: Database.Statement;
  readonly #insertAttempt: Database.Statement;
  readonly #attempts: Database.Statement;
  readonly #taskCounts: Database.Statement;
  readonly #reportCounts: Database.Statement;
  readonly #finishedSince: Database.Statement;
  readonly #db: Database.Database;

  constructor(db: Database.Database) {
    this.#db = db;
    const taskWithDelivery = `
      SELECT t.*, d.status AS d_status, d.attempts AS d_attempts,
             d.last_status_code AS d_last_status_code, d.last_error AS d_last_error
      FROM tasks t LEFT JOIN deliveries d ON d.task_id = t.id`;
    // A repeat of (api, idempotency key) inserts nothing; the caller then reads the first task. A clash on the
    // task id itself is not covered by this clause and fails loudly.
    this.#insertTask = db.prepare(
      `INSERT INTO tasks (id, api, format, idempotency_key, payload, callback, batch, status, created_at, started_at)
       VALUES (@id, @api, @format, @idempotencyKey, @payload, @callback, @batch,
               CASE WHEN @startedAt IS NULL THEN 'in_queue' ELSE 'in_progress' END, @createdAt, @startedAt)
       ON CONFLICT (api, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING`,
    );
    this.#getTask = db.prepare(`${taskWithDelivery} WHERE t.id = ?`);
    this.#getTaskByKey = db.prepare(`${taskWithDelivery} WHERE t.api = ? AND t.idempotency_key = ?`);
    this.#claimQueued = db.prepare(
      `UPDATE tasks SET status = 'in_progress', started_at = ?
       WHERE seq IN (SELECT seq FROM tasks WHERE api = ? AND status = 'in_queue' ORDER BY seq LIMIT ?)
       RETURNING *`,
    );
    this.#finishTask = db.prepare(
      // The request's credentials leave the task row once it finishes: its report (if any) keeps its own copy.
      `UPDATE tasks SET status = ?, finished_at = ?, outcome = ?, webhook_skip_reason = ?,
              callback = CASE WHEN callback IS NULL THEN NULL ELSE json_remove(callback, '$.auth') END
       WHERE id = ? AND status IN ('in_queue', 'in_progress')
       RETURNING api`,
    );
    this.#insertDelivery = db.prepare(
      `INSERT INTO deliveries (task_id, api, url, auth, body, webhook_id, headers, ignore_timeout, status, attempts, next_attempt_at, lease_expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)`,
    );
    this.#countUnfinished = db.prepare(
      `SELECT (SELECT count(*) FROM tasks WHERE api = @api AND status = 'in_queue')
            + (SELECT count(*) FROM tasks WHERE api = @api AND status = 'in_progress') AS n`,
    );
    this.#taskStatus = db.prepare("SELECT status FROM tasks WHERE id = ?");
    this.#deliveryStatus = db.prepare("SELECT status, auth FROM deliveries WHERE task_id = ?");
    // A fresh schedule: the retry policy counts attempts, so 0 starts it again from its first wait.
    const freshSchedule = `status = 'pending', attempts = 0, next_attempt_at = @now, last_status_code = NULL, last_error = NULL, lease_expires_at = NULL`;
    this.#redeliver = db.prepare(`UPDATE deliveries SET ${freshSchedule} WHERE task_id = @id AND status != 'pending'`);
    this.#redeliverFailed = db.prepare(
      `UPDATE deliveries SET ${freshSchedule}
       WHERE task_id IN (
         SELECT d.task_id FROM deliveries d JOIN tasks t ON t.id = d.task_id
         WHERE d.api = @api AND d.status = 'failed' AND t.finished_at >= @finishedSince
           AND (d.auth IS NULL OR d.auth != '${ERASED_AUTH}')
         ORDER BY t.finished_at, t.seq LIMIT @limit)
       RETURNING task_id`,
    );
    this.#requeueInProgress = db.prepare("UPDATE tasks SET status = 'in_queue', started_at = NULL WHERE status = 'in_progress'");
    this.#releaseLeases = db.prepare("UPDATE deliveries SET lease_expires_at = NULL WHERE status = 'pending' AND lease_expires_at IS NOT NULL");
    this.#countQueued = db.prepare("SELECT count(*) AS n FROM tasks WHERE status = 'in_queue'");
    this.#countPendingDeliveries = db.prepare("SELECT count(*) AS n FROM deliveries WHERE status = 'pending'");
    this.#leaseDue = db.prepare(
      `UPDATE deliveries SET lease_expires_at = ?
       WHERE task_id IN (SELECT task_id FROM deliveries WHERE status = 'pending' AND ${DUE} <= ? ORDER BY ${DUE} LIMIT ?)
       RETURNING *`,
    );
    this.#recordAttempt = db.prepare(
      // Per-request credentials (a basic password, an mTLS key) are erased once the report is delivered or has
      // finally failed: nothing will send them again, so they are not kept until the 7-day sweep.
      `UPDATE deliveries SET status = ?, attempts = ?, next_attempt_at = coalesce(?, next_attempt_at),
              last_status_code = ?, last_error = ?, lease_expires_at = NULL,
              auth = CASE WHEN ? = 'pending' OR auth IS NULL THEN auth ELSE '${ERASED_AUTH}' END
       WHERE task_id = ?`,
    );
    this.#nextDue = db.prepare(`SELECT min(${DUE}) AS due FROM deliveries WHERE status = 'pending'`);
    // Oldest first, a bounded chunk at a time; deliveries go with their task (ON DELETE CASCADE).
    this.#sweep = db.prepare(
      `DELETE FROM tasks WHERE seq IN (
         SELECT seq FROM tasks WHERE finished_at < ?
           AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.task_id = tasks.id AND d.status = 'pending')
         ORDER BY finished_at LIMIT ?)`,
    );
    this.#insertAttempt = db.prepare(
      `INSERT INTO attempts (task_id, attempt, started_at, duration_ms, origin, outcome, status_code, error, next_attempt_at)
       VALUES (@taskId, @attempt, @startedAt, @durationMs, @origin, @outcome, @statusCode, @error, @nextAttemptAt)`,
    );
    this.#attempts = db.prepare("SELECT * FROM attempts WHERE task_id = ? ORDER BY rowid");
    // Queued and running through their partial indexes, pending reports through deliveries_due's: exact and cheap.
    this.#taskCounts = db.prepare(
      `SELECT (SELECT count(*) FROM tasks WHERE api = @api AND status = 'in_queue') AS in_queue,
              (SELECT count(*) FROM tasks WHERE api = @api AND status = 'in_progress') AS in_progress,
              (SELECT count(*) FROM deliveries WHERE status = 'pending' AND api = @api) AS pending`,
    );
    // Finished tasks and settled reports: of the newest @scan finished tasks of every API (through tasks_by_finish),
    // so a week of tasks costs a bounded read, not a scan of the table in the engine's thread.
    this.#reportCounts = db.prepare(
      `SELECT t.status AS status, d.status AS d_status, count(*) AS n
       FROM (SELECT id, api, status FROM tasks WHERE finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT @scan) t
       LEFT JOIN deliveries d ON d.task_id = t.id
       WHERE t.api = @api GROUP BY t.status, d.status`,
    );
    // The window's newest finished tasks of every API (bounded the same way), each with when its report was delivered.
    this.#finishedSince = db.prepare(
      `SELECT t.finished_at AS finished_at, t.created_at AS created_at,
              (SELECT a.started_at + a.duration_ms FROM attempts a WHERE a.task_id = t.id AND a.outcome = 'delivered' ORDER BY a.rowid DESC LIMIT 1) AS delivered_at
       FROM (SELECT id, api, finished_at, created_at FROM tasks WHERE finished_at >= @since ORDER BY finished_at DESC LIMIT @scan) t
       WHERE t.api = @api`,
    );
  }

  /** Inserts a task and returns null, or returns the task already holding its (api, idempotency key). */
  createTask(task: TaskInsert): TaskRecord | null {
    const inserted = this.#insertTask.run(task);
    if (inserted.changes === 1) return null;
    // Only a repeated (api, idempotency key) inserts nothing, so the key is set and its task exists.
    return this.getTaskByKey(task.api, task.idempotencyKey!)!;
  }

  getTaskByKey(api: string, idempotencyKey: string): TaskRecord | undefined {
    const row = this.#getTaskByKey.get(api, idempotencyKey) as TaskWithDeliveryRow | undefined;
    return row === undefined ? undefined : toTaskRecord(row);
  }

  getTask(id: string): TaskRecord | undefined {
    const row = this.#getTask.get(id) as TaskWithDeliveryRow | undefined;
    return row === undefined ? undefined : toTaskRecord(row);
  }

  taskStatuses(ids: readonly string[]): Array<TaskStatus | undefined> {
    return ids.map((id) => (this.#taskStatus.get(id) as { status: TaskStatus } | undefined)?.status);
  }

  claimQueued(api: string, limit: number, now: number): TaskRecord[] {
    const rows = this.#claimQueued.all(now, api, limit) as TaskRow[];
    // RETURNING gives no order; callers get the queue's order.
    rows.sort((a, b) => a.seq - b.seq);
    return rows.map(toTaskRecord);
  }

  /** The outcome and its report, and true; false and a no-op for a task that is unknown or already finished. */
  finishTask(id: string, outcome: OutcomeUpdate, delivery: DeliveryInsert | null): boolean {
    const finished = this.#finishTask.get(outcome.status, outcome.finishedAt, outcome.outcome, outcome.webhookSkipReason, id) as { api: string } | undefined;
    if (finished === undefined) return false; // Unknown, or already finished (a re-run after recovery): the first outcome stands.
    if (delivery !== null) {
      this.#insertDelivery.run(
        id,
        finished.api,
        delivery.url,
        delivery.auth,
        delivery.body,
        delivery.webhookId,
        delivery.headers,
        delivery.ignoreTimeout,
        delivery.nextAttemptAt,
        delivery.leaseExpiresAt,
      );
    }
    return true;
  }

  /** The task's status before; cancelled (with its report) only when it was queued or running. */
  cancelTask(id: string, outcome: OutcomeUpdate, delivery: DeliveryInsert | null): TaskStatus | undefined {
    const before = this.#taskStatus.get(id) as { status: TaskStatus } | undefined;
    if (before === undefined) return undefined;
    if (before.status === "in_queue" || before.status === "in_progress") this.finishTask(id, outcome, delivery);
    return before.status;
  }

  redeliver(id: string, now: number): RedeliverStoreResult {
    const task = this.#taskStatus.get(id) as { status: TaskStatus } | undefined;
    if (task === undefined) return "unknown";
    if (task.status === "in_queue" || task.status === "in_progress") return "unfinished";
    const delivery = this.#deliveryStatus.get(id) as { status: string; auth: string | null } | undefined;
    if (delivery === undefined) return "no-report";
    if (delivery.status === "pending") return "pending";
    if (delivery.auth === ERASED_AUTH) return "credentials-erased";
    this.#redeliver.run({ id, now });
    return "scheduled";
  }

  redeliverFailed(api: string, finishedSince: number, now: number, limit: number): string[] {
    const rows = this.#redeliverFailed.all({ api, finishedSince, now, limit }) as Array<{ task_id: string }>;
    return rows.map((row) => row.task_id);
  }

  countUnfinished(api: string): number {
    return (this.#countUnfinished.get({ api }) as { n: number }).n;
  }

  recover(): RecoverySummary {
    const requeued = this.#requeueInProgress.run().changes;
    // Leases were held by the process that stopped (a data dir has one owner at a time): its attempts are not
    // running any more, so their reports are due again on their own schedule rather than when the lease would end.
    this.#releaseLeases.run();
    const queued = (this.#countQueued.get() as { n: number }).n;
    const pendingDeliveries = (this.#countPendingDeliveries.get() as { n: number }).n;
    return { requeued, queued, pendingDeliveries };
  }

  leaseDue(now: number, limit: number, leaseMs: number): DeliveryRecord[] {
    const rows = this.#leaseDue.all(now + leaseMs, now, limit) as DeliveryRow[];
    rows.sort((a, b) => a.next_attempt_at - b.next_attempt_at || (a.task_id < b.task_id ? -1 : 1));
    return rows.map(toDeliveryRecord);
  }

  /** The delivery's new state and, in the same transaction, the attempt for its timeline. */
  recordAttempt(taskId: string, update: DeliveryUpdate, attempt: AttemptRecord | null): void {
    const changed = this.#recordAttempt.run(update.status, update.attempts, update.nextAttemptAt ?? null, update.lastStatusCode ?? null, update.lastError ?? null, update.status, taskId);
    if (attempt === null || changed.changes === 0) return; // A swept task keeps no history.
    this.#insertAttempt.run({
      taskId,
      attempt: attempt.attempt,
      startedAt: attempt.startedAt,
      durationMs: attempt.durationMs,
      origin: attempt.origin,
      outcome: attempt.outcome,
      statusCode: attempt.statusCode ?? null,
      error: attempt.error ?? null,
      nextAttemptAt: attempt.nextAttemptAt ?? null,
    });
  }

  attempts(taskId: string): AttemptRecord[] {
    return (this.#attempts.all(taskId) as AttemptRow[]).map(toAttemptRecord);
  }

  /** Tasks newest first (claim order), filtered; built per query, as the filters vary. */
  listTasks(query: TaskQuery): TaskSummary[] {
    const where: string[] = [];
    const params: Record<string, string | number> = {};
    if (query.api !== undefined) {
      where.push("t.api = @api");
      params.api = query.api;
    }
    if (query.status !== undefined) {
      where.push("t.status = @status");
      params.status = query.status;
    }
    if (query.webhookStatus === "skipped") {
      where.push("d.status IS NULL AND t.webhook_skip_reason IS NOT NULL");
    } else if (query.webhookStatus !== undefined) {
      where.push("d.status = @webhookStatus");
      params.webhookStatus = query.webhookStatus;
    }
    if (query.idPrefix !== undefined && query.idPrefix !== "") {
      // A range rather than LIKE: no escaping of % and _, and the unique index on id serves it.
      where.push("t.id >= @idFrom AND t.id < @idTo");
      params.idFrom = query.idPrefix;
      params.idTo = query.idPrefix + "\u{10FFFF}";
    }
    if (query.before !== undefined) {
      where.push("t.seq < coalesce((SELECT seq FROM tasks WHERE id = @before), 0)");
      params.before = query.before;
    }
    if (params.idFrom === undefined) {
      // Without an id to seek to, a filter that matches little would walk the whole table: look at the newest
      // CONSOLE_SCAN_ROWS tasks (before the page's start) only, as the Redis engine does.
      where.push("t.seq > coalesce((SELECT seq FROM tasks WHERE id = @anchor), (SELECT max(seq) + 1 FROM tasks), 0) - @scan");
      params.anchor = query.before ?? "";
      params.scan = CONSOLE_SCAN_ROWS;
    }
    params.limit = Math.min(Math.max(1, Math.floor(query.limit ?? 50)), 500);
    const sql = `SELECT t.id, t.api, t.status, t.created_at, t.finished_at, t.webhook_skip_reason,
                        d.status AS d_status, d.attempts AS d_attempts
                 FROM tasks t LEFT JOIN deliveries d ON d.task_id = t.id
                 ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
                 ORDER BY t.seq DESC LIMIT @limit`;
    return (this.#db.prepare(sql).all(params) as TaskSummaryRow[]).map(toTaskSummary);
  }

  counts(api: string): ApiCounts {
    const counts: ApiCounts = {
      tasks: { in_queue: 0, in_progress: 0, completed: 0, failed: 0, cancelled: 0 },
      reports: { pending: 0, delivered: 0, failed: 0 },
    };
    const unfinished = this.#taskCounts.get({ api }) as { in_queue: number; in_progress: number; pending: number };
    counts.tasks.in_queue = unfinished.in_queue;
    counts.tasks.in_progress = unfinished.in_progress;
    counts.reports.pending = unfinished.pending;
    for (const row of this.#reportCounts.all({ api, scan: CONSOLE_SCAN_ROWS }) as Array<{ status: string; d_status: string | null; n: number }>) {
      if (row.status === "completed" || row.status === "failed" || row.status === "cancelled") counts.tasks[row.status] += row.n;
      if (row.d_status === "delivered" || row.d_status === "failed") counts.reports[row.d_status] += row.n;
    }
    return counts;
  }

  /**
   * Per `bucketMs` since `since`, oldest first: tasks finished, and p50/p99 of submit-to-report latency of the
   * reports delivered. Reads at most `maxRows` of the newest finished tasks, so a busy API costs a bounded query.
   */
  activity(api: string, since: number, until: number, bucketMs: number, maxRows: number): ActivityBucket[] {
    const rows = this.#finishedSince.all({ since, api, scan: maxRows }) as Array<{ finished_at: number; created_at: number; delivered_at: number | null }>;
    return bucketActivity(
      rows.map((row) => ({ finishedAt: row.finished_at, createdAt: row.created_at, deliveredAt: row.delivered_at ?? undefined })),
      since,
      until,
      bucketMs,
    );
  }

  nextDue(): number | undefined {
    const row = this.#nextDue.get() as { due: number | null };
    return row.due ?? undefined;
  }

  /** Deletes up to `limit` of the oldest finished tasks (and their deliveries) finished before `finishedBefore`. */
  sweepChunk(finishedBefore: number, limit: number): number {
    return this.#sweep.run(finishedBefore, limit).changes;
  }
}
