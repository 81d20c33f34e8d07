import express, { type Express } from "express";
import type { Logger } from "pino";
import type { ApiRuntime, TaskService } from "../tasks/task-service.js";
import { cortexRoutes } from "./cortex-routes.js";
import { errorHandler, notFound } from "./error-handler.js";
import { DEFAULT_BODY_LIMIT_BYTES } from "./json-body.js";
import { launchRoutes } from "./launch-routes.js";
import { opsRoutes } from "./ops-routes.js";
import { requestLog } from "./request-log.js";

/** Options of {@link createApp}. */
export interface AppOptions {
  service: TaskService;
  apis: ReadonlyMap<string, ApiRuntime>;
  log: Logger;
  /** @defaultValue 10 MiB */
  bodyLimitBytes?: number;
  /** Extra routes mounted before the API routes (metrics, OpenAPI, docs). */
  extraRoutes?: express.Router[];
}

/** The HTTP surface: operations routes, the Launch surface, the Cortex surface, and JSON errors for the rest. */
export function createApp(options: AppOptions): Express {
  const { service, apis, log } = options;
  const bodyLimitBytes = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.use(requestLog(log));
  app.use(opsRoutes(apis));
  for (const router of options.extraRoutes ?? []) app.use(router);
  app.use(launchRoutes(service, bodyLimitBytes));
  app.use(cortexRoutes(service, bodyLimitBytes));
  app.use(notFound(() => service.apiNames));
  app.use(errorHandler(log));
  return app;
}
