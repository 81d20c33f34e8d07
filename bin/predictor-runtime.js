#!/usr/bin/env node
// Predictors are loaded from their TypeScript source, so the CLI itself runs on tsx: no build step anywhere.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../runtime/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
