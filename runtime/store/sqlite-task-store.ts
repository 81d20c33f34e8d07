import Database from "better-sqlite3";
import { chmodSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { ErrorCode, RuntimeError } from "../errors.js";
import type { DeliveryRecord, DeliveryUpdate, NewDelivery } from "../tasks/delivery.js";
import { webhookStateOf } from "../tasks/delivery.js";
import type { CallbackTarget, NewTask, TaskOutcome, TaskRecord, TaskStatus } from "../tasks/task.js";
import type { CreateTaskResult, RecoverySummary, TaskStore } from "./task-store.js";

/** Bumped whenever the tables change shape; a data dir written by another version is refused, not guessed at. */
const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  api TEXT NOT NULL,
  format TEXT NOT NULL,
  idempotency_key TEXT,
  payload TEXT NOT NULL,
  callback TEXT,
  status TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER,
  outcome TEXT,
  webhook_skip_reason TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS tasks_by_idempotency_key ON tasks(api, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS tasks_queued ON tasks(api, seq) WHERE status = 'in_queue';
CREATE INDEX IF NOT EXISTS tasks_by_finish ON tasks(finished_at) WHERE finished_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS deliveries (
  task_id TEXT PRIMARY KEY REFERENCES tasks(id) ON DELETE CASCADE,
  api TEXT NOT NULL,
  url TEXT NOT NULL,
  auth TEXT,
  body TEXT NOT NULL,
  webhook_id TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  last_status_code INTEGER,
  last_error TEXT
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries(next_attempt_at) WHERE status = 'pending';
`;

interface TaskRow {
  seq: number;
  id: string;
  api: string;
  format: string;
  idempotency_key: string | null;
  payload: string;
  callback: string | null;
  status: string;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  outcome: string | null;
  webhook_skip_reason: string | null;
}

interface DeliveryRow {
  task_id: string;
  api: string;
  url: string;
  auth: string | null;
  body: string;
  webhook_id: string;
  status: string;
  attempts: number;
  next_attempt_at: number;
  last_status_code: number | null;
  last_error: string | null;
}

type TaskWithDeliveryRow = TaskRow & {
  d_status: string | null;
  d_attempts: number | null;
  d_last_status_code: number | null;
  d_last_error: string | null;
};

/** Options of {@link SqliteTaskStore}. */
export interface SqliteTaskStoreOptions {
  /** Folder holding `runtime.sqlite`; created (mode 0700) when missing. `":memory:"` keeps everything in RAM (tests). */
  dataDir: string;
}

/**
 * The embedded engine: one SQLite file in WAL mode. Statements are prepared once in {@link open}.
 * Per-request callback credentials are stored with their task (a retry after a restart needs them), so the file is
 * created readable by its owner only.
 */
export class SqliteTaskStore implements TaskStore {
  readonly #options: SqliteTaskStoreOptions;
  #db: Database.Database | undefined;
  #statements: ReturnType<typeof prepareStatements> | undefined;
  #finishTransaction: ((id: string, outcome: TaskOutcome, delivery: NewDelivery | null) => void) | undefined;

  constructor(options: SqliteTaskStoreOptions) {
    this.#options = options;
  }

  /** Path of the database file, or `:memory:`. */
  get location(): string {
    return this.#options.dataDir === ":memory:" ? ":memory:" : join(this.#options.dataDir, "runtime.sqlite");
  }

  async open(): Promise<void> {
    const location = this.location;
    if (location !== ":memory:") {
      mkdirSync(this.#options.dataDir, { recursive: true, mode: 0o700 });
    }
    const isNew = location === ":memory:" || !existsSync(location);
    let db: Database.Database;
    try {
      db = new Database(location);
    } catch (error) {
      throw new RuntimeError(ErrorCode.storage, `cannot open the task database at ${location}: ${(error as Error).message}`, { cause: error });
    }
    if (isNew && location !== ":memory:") chmodSync(location, 0o600);
    db.pragma("journal_mode = WAL");
    // NORMAL in WAL mode: a commit survives the process being killed (it is in the OS page cache at once);
    // only a power cut or kernel crash can lose the commits since the last WAL checkpoint's fsync.
    db.pragma("synchronous = NORMAL");
    db.pragma("foreign_keys = ON");
    db.pragma("busy_timeout = 5000");
    db.exec(SCHEMA);
    const version = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value: string } | undefined;
    if (version === undefined) {
      db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?)").run(String(SCHEMA_VERSION));
    } else if (Number(version.value) !== SCHEMA_VERSION) {
      db.close();
      throw new RuntimeError(
        ErrorCode.storage,
        `the data dir ${this.#options.dataDir} holds schema version ${version.value}, this runtime uses ${SCHEMA_VERSION}; ` +
          `point --data-dir at a new folder or run the matching runtime version to drain it`,
      );
    }
    this.#db = db;
    const statements = prepareStatements(db);
    this.#statements = statements;
    this.#finishTransaction = db.transaction((id: string, outcome: TaskOutcome, delivery: NewDelivery | null) => {
      const skipReason = delivery?.status === "skipped" ? delivery.reason : null;
      const changed = statements.finishTask.run(outcome.status, outcome.finishedAt, JSON.stringify(outcome), skipReason, id);
      if (changed.changes === 0) return; // Already finished (a re-run after recovery): the first outcome stands.
      const task = statements.getTaskRow.get(id) as TaskRow;
      if (delivery?.status === "pending") {
        statements.insertDelivery.run(
          id,
          task.api,
          delivery.url,
          delivery.auth === undefined ? null : JSON.stringify(delivery.auth),
          delivery.body,
          delivery.webhookId,
          delivery.nextAttemptAt,
        );
      }
    });
  }

  async createTask(task: NewTask): Promise<CreateTaskResult> {
    const statements = this.#use();
    if (task.idempotencyKey !== undefined) {
      const existing = statements.getTaskByKey.get(task.api, task.idempotencyKey) as TaskWithDeliveryRow | undefined;
      if (existing) return { task: toTaskRecord(existing), created: false };
    }
    statements.insertTask.run(
      task.id,
      task.api,
      task.format,
      task.idempotencyKey ?? null,
      JSON.stringify(task.payload),
      task.callback === undefined ? null : JSON.stringify(task.callback),
      task.createdAt,
    );
    return { task: { ...task, status: "in_queue" }, created: true };
  }

  async getTask(id: string): Promise<TaskRecord | undefined> {
    const row = this.#use().getTask.get(id) as TaskWithDeliveryRow | undefined;
    return row === undefined ? undefined : toTaskRecord(row);
  }

  async claimQueued(api: string, limit: number, now: number): Promise<TaskRecord[]> {
    if (limit <= 0) return [];
    const rows = this.#use().claimQueued.all(now, api, limit) as TaskRow[];
    rows.sort((a, b) => a.seq - b.seq);
    return rows.map((row) => toTaskRecord({ ...row, d_status: null, d_attempts: null, d_last_status_code: null, d_last_error: null }));
  }

  async finishTask(id: string, outcome: TaskOutcome, delivery: NewDelivery | null): Promise<void> {
    this.#use();
    this.#finishTransaction!(id, outcome, delivery);
  }

  async countUnfinished(api: string): Promise<number> {
    return (this.#use().countUnfinished.get(api) as { n: number }).n;
  }

  async recover(): Promise<RecoverySummary> {
    const statements = this.#use();
    const requeued = statements.requeueInProgress.run().changes;
    const queued = (statements.countQueued.get() as { n: number }).n;
    const pendingDeliveries = (statements.countPendingDeliveries.get() as { n: number }).n;
    return { requeued, queued, pendingDeliveries };
  }

  async leaseDueDeliveries(now: number, limit: number, leaseMs: number): Promise<DeliveryRecord[]> {
    if (limit <= 0) return [];
    const rows = this.#use().leaseDue.all(now + leaseMs, now, limit) as DeliveryRow[];
    // The lease moved next_attempt_at; hand out the due time the row had, oldest first, as callers expect.
    rows.sort((a, b) => a.task_id.localeCompare(b.task_id));
    return rows.map(toDeliveryRecord);
  }

  async recordAttempt(taskId: string, update: DeliveryUpdate): Promise<void> {
    this.#use().recordAttempt.run(
      update.status,
      update.attempts,
      update.nextAttemptAt ?? 0,
      update.lastStatusCode ?? null,
      update.lastError ?? null,
      taskId,
    );
  }

  async nextDeliveryDueAt(): Promise<number | undefined> {
    const row = this.#use().nextDue.get() as { due: number | null };
    return row.due ?? undefined;
  }

  async sweepFinished(finishedBefore: number): Promise<number> {
    return this.#use().sweep.run(finishedBefore).changes;
  }

  async close(): Promise<void> {
    const db = this.#db;
    this.#db = undefined;
    this.#statements = undefined;
    this.#finishTransaction = undefined;
    db?.close();
  }

  #use(): ReturnType<typeof prepareStatements> {
    if (this.#statements === undefined) {
      throw new RuntimeError(ErrorCode.storage, "the task store is not open (it was closed, or open() was not awaited)");
    }
    return this.#statements;
  }
}

function prepareStatements(db: Database.Database) {
  const selectTaskWithDelivery = `
    SELECT t.*, d.status AS d_status, d.attempts AS d_attempts,
           d.last_status_code AS d_last_status_code, d.last_error AS d_last_error
    FROM tasks t LEFT JOIN deliveries d ON d.task_id = t.id`;
  return {
    insertTask: db.prepare(
      `INSERT INTO tasks (id, api, format, idempotency_key, payload, callback, status, created_at)
       VALUES (?, ?, ?, ?, ?, ?, 'in_queue', ?)`,
    ),
    getTask: db.prepare(`${selectTaskWithDelivery} WHERE t.id = ?`),
    getTaskByKey: db.prepare(`${selectTaskWithDelivery} WHERE t.api = ? AND t.idempotency_key = ?`),
    getTaskRow: db.prepare("SELECT * FROM tasks WHERE id = ?"),
    claimQueued: db.prepare(
      `UPDATE tasks SET status = 'in_progress', started_at = ?
       WHERE seq IN (SELECT seq FROM tasks WHERE api = ? AND status = 'in_queue' ORDER BY seq LIMIT ?)
       RETURNING *`,
    ),
    finishTask: db.prepare(
      `UPDATE tasks SET status = ?, finished_at = ?, outcome = ?, webhook_skip_reason = ?
       WHERE id = ? AND status IN ('in_queue', 'in_progress')`,
    ),
    insertDelivery: db.prepare(
      `INSERT INTO deliveries (task_id, api, url, auth, body, webhook_id, status, attempts, next_attempt_at)
       VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?)`,
    ),
    countUnfinished: db.prepare("SELECT count(*) AS n FROM tasks WHERE api = ? AND status IN ('in_queue', 'in_progress')"),
    countQueued: db.prepare("SELECT count(*) AS n FROM tasks WHERE status = 'in_queue'"),
    countPendingDeliveries: db.prepare("SELECT count(*) AS n FROM deliveries WHERE status = 'pending'"),
    requeueInProgress: db.prepare("UPDATE tasks SET status = 'in_queue', started_at = NULL WHERE status = 'in_progress'"),
    leaseDue: db.prepare(
      `UPDATE deliveries SET next_attempt_at = ?
       WHERE task_id IN (SELECT task_id FROM deliveries WHERE status = 'pending' AND next_attempt_at <= ?
                         ORDER BY next_attempt_at LIMIT ?)
       RETURNING *`,
    ),
    recordAttempt: db.prepare(
      `UPDATE deliveries SET status = ?, attempts = ?, next_attempt_at = ?, last_status_code = ?, last_error = ?
       WHERE task_id = ?`,
    ),
    nextDue: db.prepare("SELECT min(next_attempt_at) AS due FROM deliveries WHERE status = 'pending'"),
    sweep: db.prepare(
      `DELETE FROM tasks WHERE finished_at IS NOT NULL AND finished_at < ?
       AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.task_id = tasks.id AND d.status = 'pending')`,
    ),
  };
}

function toTaskRecord(row: TaskWithDeliveryRow): TaskRecord {
  const record: TaskRecord = {
    id: row.id,
    api: row.api,
    format: row.format === "launch" ? "launch" : "cortex",
    payload: JSON.parse(row.payload) as unknown,
    createdAt: row.created_at,
    status: row.status as TaskStatus,
  };
  if (row.idempotency_key !== null) record.idempotencyKey = row.idempotency_key;
  if (row.callback !== null) record.callback = JSON.parse(row.callback) as CallbackTarget;
  if (row.started_at !== null) record.startedAt = row.started_at;
  if (row.outcome !== null) record.outcome = JSON.parse(row.outcome) as TaskOutcome;
  if (row.d_status !== null) {
    record.webhook = webhookStateOf({
      status: row.d_status as DeliveryRecord["status"],
      attempts: row.d_attempts ?? 0,
      lastStatusCode: row.d_last_status_code ?? undefined,
      lastError: row.d_last_error ?? undefined,
    });
  } else if (row.webhook_skip_reason !== null) {
    record.webhook = { status: "skipped", attempts: 0, lastError: row.webhook_skip_reason };
  }
  return record;
}

function toDeliveryRecord(row: DeliveryRow): DeliveryRecord {
  const record: DeliveryRecord = {
    taskId: row.task_id,
    api: row.api,
    url: row.url,
    body: row.body,
    webhookId: row.webhook_id,
    status: row.status as DeliveryRecord["status"],
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
  };
  if (row.auth !== null) record.auth = JSON.parse(row.auth) as DeliveryRecord["auth"];
  if (row.last_status_code !== null) record.lastStatusCode = row.last_status_code;
  if (row.last_error !== null) record.lastError = row.last_error;
  return record;
}
