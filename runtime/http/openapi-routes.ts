import { Router } from "express";
import type { OpenApiDocument } from "../openapi/openapi-types.js";

/** `GET /openapi.json`: the document, serialized once (the config it describes is frozen at start-up). */
export function openApiRoutes(document: OpenApiDocument): Router {
  const body = JSON.stringify(document);
  const router = Router();
  router.get("/openapi.json", (_req, res) => {
    res.status(200).type("application/json").set("cache-control", "no-cache").send(body);
  });
  return router;
}
