import express, { type Express } from "express";
import type { Logger } from "pino";
import type { ApiRuntime, TaskService } from "../tasks/task-service.js";
import { addCortexRoutes } from "./cortex-routes.js";
import { errorHandler, notFound } from "./error-handler.js";
import { DEFAULT_BODY_LIMIT_BYTES } from "./json-body.js";
import { launchRoutes } from "./launch-routes.js";
import { modelbitRoutes } from "./modelbit-routes.js";
import { opsRoutes } from "./ops-routes.js";
import { requestLog } from "./request-log.js";

/** Options of {@link createApp}. */
export interface AppOptions {
  service: TaskService;
  apis: ReadonlyMap<string, ApiRuntime>;
  log: Logger;
  /** Why the runtime can no longer work, once it cannot; /healthz and /readyz then answer 503. */
  failure?: () => Error | undefined;
  /** @defaultValue 10 MiB */
  bodyLimitBytes?: number;
  /** Routers mounted under a path prefix of their own, such as `{ "/docs": docsRoutes() }`. */
  prefixedRoutes?: Readonly<Record<string, express.Router>>;
  /**
   * False for a `--role worker` process: it serves only the operations routes, no API.
   * @defaultValue true
   */
  serveApis?: boolean;
  /** Extra operations routes: one-segment GET paths, such as `/metrics` (see the order in {@link createApp}). */
  extraRoutes?: express.Router[];
}

/**
 * The HTTP surface: the Launch surface, the Cortex surface, operations routes, and JSON errors for the rest.
 *
 * The order is the cheapest that keeps every route reachable. Routers with a prefix come first: any other request
 * skips each with one path test instead of walking its routes. The Cortex surface comes next because its two shapes
 * are the hot paths, and neither can be an operations route: those are one-segment GETs (`/healthz`, `/metrics`),
 * the Cortex surface has one-segment POSTs and two-segment GETs, and the reserved API names (`healthz`, `docs`,
 * `v1`, ...) keep an API from shadowing a prefix.
 */
export function createApp(options: AppOptions): Express {
  const { service, apis, log } = options;
  const bodyLimitBytes = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.use(requestLog(log));
  const serveApis = options.serveApis ?? true;
  if (serveApis) app.use("/v1", launchRoutes(service, bodyLimitBytes));
  if (serveApis) app.use("/v1", modelbitRoutes(service, bodyLimitBytes));
  for (const [prefix, router] of Object.entries(options.prefixedRoutes ?? {})) app.use(prefix, router);
  if (serveApis) addCortexRoutes(app, service, bodyLimitBytes);
  app.use(opsRoutes(apis, options.failure ?? (() => undefined)));
  for (const router of options.extraRoutes ?? []) app.use(router);
  app.use(notFound(() => service.apiNames));
  app.use(errorHandler(log));
  return app;
}
