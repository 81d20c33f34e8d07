import { Router } from "express";
import type { RuntimeMetrics } from "../metrics/runtime-metrics.js";

/** `GET /metrics`: the runtime's Prometheus metrics, text format. */
export function metricsRoutes(metrics: RuntimeMetrics): Router {
  const router = Router();
  router.get("/metrics", async (_req, res) => {
    const text = await metrics.text();
    res.status(200).set("content-type", metrics.contentType).set("cache-control", "no-store").send(text);
  });
  return router;
}
