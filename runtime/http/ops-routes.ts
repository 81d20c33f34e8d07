import { Router } from "express";
import type { ApiRuntime } from "../tasks/task-service.js";

/**
 * `GET /healthz` (the process serves) and `GET /readyz` (every predictor's setup() finished). Both answer 503 once
 * the runtime can no longer work (`failure`), so a supervisor's liveness probe restarts it.
 */
export function opsRoutes(apis: ReadonlyMap<string, ApiRuntime>, failure: () => Error | undefined): Router {
  const router = Router();
  router.get("/healthz", (_req, res) => {
    const failed = failure();
    if (failed === undefined) res.status(200).json({ status: "ok" });
    else res.status(503).json({ status: "failed", error: failed.message });
  });
  router.get("/readyz", (_req, res) => {
    const failed = failure();
    if (failed !== undefined) {
      res.status(503).json({ ready: false, error: failed.message });
      return;
    }
    const waiting = [...apis.values()].filter((api) => !api.ready).map((api) => api.config.name);
    // Set up once, but every worker is dead or restarting now (a crash, a timeout, a worker that keeps dying).
    const restarting = [...apis.values()].filter((api) => api.ready && api.host.readyWorkers === 0).map((api) => api.config.name);
    if (waiting.length === 0 && restarting.length === 0) res.status(200).json({ ready: true });
    else res.status(503).json({ ready: false, ...(waiting.length > 0 ? { waiting_for_setup: waiting } : {}), ...(restarting.length > 0 ? { workers_restarting: restarting } : {}) });
  });
  return router;
}
