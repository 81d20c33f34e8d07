// Entry of a predictor worker thread. Worker threads do not inherit the main thread's TypeScript loader, so this
// file (plain JavaScript, like bin/) registers tsx and then loads the worker itself: from its TypeScript source in
// a checkout, or compiled beside this file when the package runs from JavaScript.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { register } from "tsx/esm/api";

register();
const source = new URL("./thread-main.ts", import.meta.url);
await import(existsSync(fileURLToPath(source)) ? source.href : new URL("./thread-main.js", import.meta.url).href);
