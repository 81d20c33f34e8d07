import { readFileSync } from "node:fs";

/**
 * The package's package.json: one folder up from the source (runtime/version.ts), two from the build the package
 * ships (dist/runtime/version.js).
 */
function readPackageVersion(): string {
  for (const candidate of ["../package.json", "../../package.json"]) {
    let text: string;
    try {
      text = readFileSync(new URL(candidate, import.meta.url), "utf8");
    } catch {
      continue;
    }
    const manifest = JSON.parse(text) as { name?: string; version?: string };
    if (manifest.name === "predictor-runtime" && typeof manifest.version === "string") return manifest.version;
  }
  throw new Error(`predictor-runtime: no package.json of predictor-runtime above ${import.meta.url}; reinstall the package`);
}

/** The package version, sent in `user-agent: predictor-runtime/VERSION`. */
export const VERSION: string = readPackageVersion();
