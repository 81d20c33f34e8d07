import { readFileSync } from "node:fs";

/** The package version, sent in `user-agent: predictor-runtime/VERSION`. */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;
