import { createRequire } from "node:module";
import { dirname } from "node:path";
import { Router } from "express";
import { selfOnlyContentSecurityPolicy } from "./content-security-policy.js";
import { requestPath } from "./request-log.js";

/** swagger-ui-dist's files this page uses; nothing else of the package is served. */
const ASSETS = ["swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png", "favicon-16x16.png"] as const;

/** Swagger UI sets inline styles, hence 'unsafe-inline' for styles (never for scripts). */
const CONTENT_SECURITY_POLICY = selfOnlyContentSecurityPolicy({ inlineStyles: true });

// Paths are relative to /docs, so the page keeps working behind a proxy that mounts the runtime under a prefix.
const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>predictor-runtime API</title>
    <link rel="stylesheet" href="docs/assets/swagger-ui.css">
    <link rel="icon" type="image/png" sizes="32x32" href="docs/assets/favicon-32x32.png">
    <link rel="icon" type="image/png" sizes="16x16" href="docs/assets/favicon-16x16.png">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="docs/assets/swagger-ui-bundle.js"></script>
    <script src="docs/init.js"></script>
  </body>
</html>
`;

// A script file, not an inline script, so the policy can forbid inline scripts. validatorUrl: null stops Swagger UI
// from sending the document to validator.swagger.io; BaseLayout has no top bar for loading other URLs.
const INIT_SCRIPT = `window.ui = SwaggerUIBundle({
  url: "openapi.json",
  dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  deepLinking: true,
  validatorUrl: null,
  defaultModelsExpandDepth: 0,
});
`;

/**
 * Where swagger-ui-dist's files are. Resolved, not imported: the package's main module loads its 1 MB browser
 * bundle into the server, which costs start-up time and memory for files that are only ever served.
 */
function swaggerUiDir(): string {
  return dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
}

/** `GET /docs`: Swagger UI showing `/openapi.json`, served from swagger-ui-dist's files (no CDN). Mounted at `/docs`. */
export function docsRoutes(): Router {
  const dir = swaggerUiDir();
  const router = Router();
  router.get("/", (req, res) => {
    // "/docs/" would make the page's relative links point under /docs/docs/.
    if (requestPath(req).endsWith("/")) {
      res.redirect(301, "../docs");
      return;
    }
    res.status(200).type("html").set("content-security-policy", CONTENT_SECURITY_POLICY).set("cache-control", "no-cache").send(PAGE);
  });
  router.get("/init.js", (_req, res) => {
    res.status(200).type("js").set("cache-control", "no-cache").send(INIT_SCRIPT);
  });
  for (const asset of ASSETS) {
    router.get(`/assets/${asset}`, (_req, res, next) => {
      // root: only the asset's name is checked for dot segments; node_modules may sit under a dot folder (npx's cache).
      res.sendFile(asset, { root: dir, maxAge: "1d" }, (error) => error && next(error));
    });
  }
  return router;
}
