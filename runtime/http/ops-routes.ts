import { Router } from "express";
import type { ApiRuntime } from "../tasks/task-service.js";

/** `GET /healthz` (the process serves) and `GET /readyz` (every predictor's setup() finished). */
export function opsRoutes(apis: ReadonlyMap<string, ApiRuntime>): Router {
  const router = Router();
  router.get("/healthz", (_req, res) => {
    res.status(200).json({ status: "ok" });
  });
  router.get("/readyz", (_req, res) => {
    const waiting = [...apis.values()].filter((api) => !api.ready).map((api) => api.config.name);
    if (waiting.length === 0) res.status(200).json({ ready: true });
    else res.status(503).json({ ready: false, waiting_for_setup: waiting });
  });
  return router;
}
