import type Database from "better-sqlite3";
import { ErrorCode, RuntimeError } from "../errors.js";

/**
 * The task database's shape, as an ordered list of migrations: `MIGRATIONS[n]` takes a database from version n to
 * n + 1. A new database runs them all, so a fresh file and an upgraded one are always the same shape.
 */
const MIGRATIONS: readonly string[] = [
  // 0 -> 1: tasks, their outcomes, and the outbox of webhook reports.
  `
  CREATE TABLE tasks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,   -- claim order; AUTOINCREMENT so a swept seq is never reused
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
  CREATE UNIQUE INDEX tasks_by_idempotency_key ON tasks(api, idempotency_key) WHERE idempotency_key IS NOT NULL;
  CREATE INDEX tasks_queued ON tasks(api, seq) WHERE status = 'in_queue';
  CREATE INDEX tasks_by_finish ON tasks(finished_at) WHERE finished_at IS NOT NULL;
  CREATE TABLE deliveries (
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
  CREATE INDEX deliveries_due ON deliveries(next_attempt_at) WHERE status = 'pending';
  `,
  // 1 -> 2: a lease is its own column, so start-up can release the leases of a killed process without losing the
  // retry schedule (before, a lease overwrote next_attempt_at and a crash delayed those reports by the lease);
  // in-progress tasks get an index, so recovery and the capacity count do not scan finished tasks.
  `
  ALTER TABLE deliveries ADD COLUMN lease_expires_at INTEGER;
  DROP INDEX deliveries_due;
  CREATE INDEX deliveries_due ON deliveries(coalesce(lease_expires_at, next_attempt_at)) WHERE status = 'pending';
  CREATE INDEX tasks_running ON tasks(api) WHERE status = 'in_progress';
  `,
  // 2 -> 3: every attempt of a report, for the console's delivery timeline. Written in the transaction that records
  // the attempt's outcome on its delivery, and deleted with its task by the sweep (ON DELETE CASCADE). Holds the
  // target's origin only: a URL's path or query can carry a receiver's token.
  `
  CREATE TABLE attempts (
    task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    origin TEXT NOT NULL,
    outcome TEXT NOT NULL,
    status_code INTEGER,
    error TEXT,
    next_attempt_at INTEGER
  );
  CREATE INDEX attempts_by_task ON attempts(task_id);
  `,
  // 3 -> 4: Modelbit requests: a task may be a batch (one predict() per item), and a report may carry extra headers
  // (x-mb-batch-id) and its own ignore_timeout (response_webhook_ignore_timeout).
  `
  ALTER TABLE tasks ADD COLUMN batch INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE deliveries ADD COLUMN headers TEXT;
  ALTER TABLE deliveries ADD COLUMN ignore_timeout INTEGER;
  `,
];

/** The schema version this runtime reads and writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the database to {@link SCHEMA_VERSION} in one transaction, recording the version in `meta`. A database
 * written by a newer runtime is refused rather than guessed at.
 */
export function migrate(db: Database.Database, location: string): void {
  db.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
  const row = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value: string } | undefined;
  const version = row === undefined ? 0 : Number(row.value);
  if (!Number.isInteger(version) || version < 0 || version > SCHEMA_VERSION) {
    throw new RuntimeError(
      ErrorCode.storage,
      `the task database ${location} has schema version ${row?.value}, and this runtime knows versions up to ${SCHEMA_VERSION}; ` +
        `run the newer runtime that wrote it, or point --data-dir at another folder`,
    );
  }
  if (version === SCHEMA_VERSION) return;
  db.transaction(() => {
    for (const migration of MIGRATIONS.slice(version)) db.exec(migration);
    db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(
      String(SCHEMA_VERSION),
    );
  })();
}
