import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Router, type Request } from "express";
import type { ApiConfig } from "../config/api-config.js";
import type { Engine, TaskQuery } from "../engine/engine.js";
import { ErrorCode, RequestError } from "../errors.js";
import { selfOnlyContentSecurityPolicy } from "../http/content-security-policy.js";
import { requestPath } from "../http/request-log.js";
import { CONSOLE_SCAN_ROWS } from "../store/task-store.js";
import type { TaskStatus, WebhookStatus } from "../tasks/task.js";
import { consoleAccess, type ConsoleAccess } from "./console-access.js";
import { activityView, apiView, summaryView, taskDetailJson } from "./console-views.js";
import { ThrottledReads } from "./throttled-reads.js";

/** Options of {@link consoleRoutes}. */
export interface ConsoleOptions {
  /** Holds the tasks; the page names it (sqlite, redis). */
  engine: Pick<Engine, "name" | "counts" | "activity" | "list" | "get" | "attempts">;
  apis: ReadonlyMap<string, ApiConfig>;
  access: ConsoleAccess;
  now?: () => number;
}

/**
 * The page's files, served as they are: no build step, no CDN. Sent with `root`, so only the file name is checked
 * for dot segments: the installed package may sit under a dot folder (`npx` runs it from ~/.npm/_npx/...).
 */
const ASSETS_DIR = join(dirname(fileURLToPath(import.meta.url)), "assets");
const ASSETS: Readonly<Record<string, string>> = { "console.js": "js", "console.css": "css", "json-view.js": "js" };

/** Scripts and styles from this runtime only, no inline script: data rendered by the page can never run. */
const CONTENT_SECURITY_POLICY = selfOnlyContentSecurityPolicy();

const TASK_STATUSES: readonly TaskStatus[] = ["in_queue", "in_progress", "completed", "failed", "cancelled"];
const WEBHOOK_STATUSES: readonly WebhookStatus[] = ["pending", "delivered", "failed", "skipped"];
/** The chart: this many one-minute slices, the newest still filling. */
const ACTIVITY_MINUTES = 15;
const MINUTE_MS = 60_000;

/**
 * `GET /console` (a static page) and its JSON under `/console/api/`. Mounted at `/console`. The page's actions
 * (cancel, redeliver) call the runtime's own routes, the ones the CLI uses; the console adds no route that writes.
 */
export function consoleRoutes(options: ConsoleOptions): Router {
  const { engine, apis, access } = options;
  const now = options.now ?? Date.now;
  const router = Router();
  const guard = consoleAccess(access);
  const reads = new ThrottledReads();

  const page = (_req: Request, res: import("express").Response): void => {
    res.status(200).type("html").set("content-security-policy", CONTENT_SECURITY_POLICY).set("cache-control", "no-cache").sendFile("index.html", { root: ASSETS_DIR });
  };
  // With an admin key the page itself (no data in it) loads for anyone, since a browser cannot send a Bearer token
  // when it navigates; it asks for the key, and every JSON answer needs it. Loopback-only: all of it is guarded.
  const shellGuard = access.kind === "loopback" ? guard : (_req: Request, _res: unknown, next: () => void) => next();
  router.get("/", shellGuard, (req, res) => {
    // "/console/" would make the page's relative links point under /console/console/.
    if (requestPath(req).endsWith("/")) {
      res.redirect(301, "../console");
      return;
    }
    page(req, res);
  });
  for (const [file, type] of Object.entries(ASSETS)) {
    router.get(`/assets/${file}`, shellGuard, (_req, res, next) => {
      res.type(type).set("cache-control", "no-cache").sendFile(file, { root: ASSETS_DIR }, (error) => error && next(error));
    });
  }

  const api = Router();
  api.use(guard);
  api.get("/overview", async (_req, res) => {
    const at = now();
    const views = await Promise.all([...apis.values()].map(async (config) => apiView(config, await reads.read(`counts:${config.name}`, at, () => engine.counts(config.name)))));
    res.status(200).json({ engine: engine.name, now: now(), finished_window: CONSOLE_SCAN_ROWS, apis: views });
  });
  api.get("/activity", async (req, res) => {
    const name = knownApi(apis, query(req, "api"));
    const until = now();
    const since = Math.floor(until / MINUTE_MS) * MINUTE_MS - (ACTIVITY_MINUTES - 1) * MINUTE_MS;
    const buckets = await reads.read(`activity:${name}`, until, () => engine.activity(name, since, since + ACTIVITY_MINUTES * MINUTE_MS, MINUTE_MS));
    res.status(200).json({ api: name, bucket_ms: MINUTE_MS, now: until, buckets: buckets.map(activityView) });
  });
  api.get("/tasks", async (req, res) => {
    const filter: TaskQuery = {};
    const apiName = query(req, "api");
    if (apiName !== undefined) filter.api = knownApi(apis, apiName);
    const status = query(req, "status");
    if (status !== undefined) filter.status = oneOf("status", status, TASK_STATUSES);
    const webhookStatus = query(req, "webhook_status");
    if (webhookStatus !== undefined) filter.webhookStatus = oneOf("webhook_status", webhookStatus, WEBHOOK_STATUSES);
    const id = query(req, "id");
    if (id !== undefined && id.trim() !== "") filter.idPrefix = id.trim();
    const before = query(req, "before");
    if (before !== undefined) filter.before = before;
    const limit = query(req, "limit");
    if (limit !== undefined) {
      if (!/^\d{1,3}$/.test(limit) || Number(limit) < 1 || Number(limit) > 500) throw new RequestError(ErrorCode.badRequest, 400, "limit must be a whole number from 1 to 500");
      filter.limit = Number(limit);
    }
    const tasks = await engine.list(filter);
    res.status(200).json({ tasks: tasks.map(summaryView) });
  });
  api.get("/tasks/:id", async (req, res) => {
    const id = String(req.params.id);
    const [task, attempts] = await Promise.all([engine.get(id), engine.attempts(id)]);
    if (task === undefined) {
      res.status(404).json({ error: `no task ${id}; it may have been swept (finished tasks are kept 7 days)` });
      return;
    }
    res.status(200).type("application/json").send(taskDetailJson(task, attempts, apis.get(task.api)));
  });
  api.use((req, res) => {
    res.status(404).json({ error: `no console route ${req.method} ${requestPath(req)}; see /console/api/overview, /activity?api=NAME, /tasks and /tasks/ID` });
  });
  router.use("/api", api);
  router.use((req, res) => {
    res.status(404).json({ error: `no console route ${req.method} ${requestPath(req)}; the console is at GET /console` });
  });
  return router;
}

function query(req: Request, name: string): string | undefined {
  const value = req.query[name];
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw new RequestError(ErrorCode.badRequest, 400, `give the ${name} query parameter once, as a plain string`);
  return value;
}

function knownApi(apis: ReadonlyMap<string, ApiConfig>, name: string | undefined): string {
  if (name === undefined || !apis.has(name)) {
    throw new RequestError(ErrorCode.badRequest, 400, `api must name a configured API (${[...apis.keys()].join(", ") || "none"})`);
  }
  return name;
}

function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new RequestError(ErrorCode.badRequest, 400, `${name} must be one of ${allowed.join(", ")}`);
  return value as T;
}
