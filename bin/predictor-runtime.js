#!/usr/bin/env node
// From a checkout the CLI runs its TypeScript source on tsx (no build step); the installed package has no source
// and runs the JavaScript that `npm pack` built into dist/. Predictors load from their .ts source either way.
import { existsSync } from "node:fs";

const source = new URL("../runtime/cli/main.ts", import.meta.url);
let main;
if (existsSync(source)) {
  const { register } = await import("tsx/esm/api");
  register();
  ({ main } = await import(source.href));
} else {
  ({ main } = await import("../dist/runtime/cli/main.js"));
}
process.exitCode = await main(process.argv.slice(2));
