import { existsSync, readFileSync } from "node:fs";
import { dirname, extname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { require as tsxRequire } from "tsx/cjs/api";
import { tsImport } from "tsx/esm/api";
import { ErrorCode, RuntimeError } from "../errors.js";
import type { Predictor, PredictorClass } from "./predictor.js";

/** A predictor that could not be loaded or constructed; the message names the file and the cause. */
export class PredictorLoadError extends RuntimeError {
  override readonly name = "PredictorLoadError";

  constructor(
    readonly file: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(ErrorCode.predictorLoad, `cannot load predictor ${file}: ${reason}`, options);
  }
}

/**
 * Imports a predictor's TypeScript source as it is (tsx, no build step) and constructs its class with `config`.
 * The class is the default export or the named export `Predictor`.
 */
export async function loadPredictor(file: string, config: Readonly<Record<string, unknown>>): Promise<Predictor> {
  let module: Record<string, unknown>;
  try {
    // A file Node would treat as CommonJS is required as such, from its own path: imported, tsx would run it from a
    // data: URL holding its whole transpiled source, which then named every frame of every traceback.
    module = isCommonJsFile(file)
      ? { default: tsxRequire(file, import.meta.url) as unknown }
      : ((await tsImport(pathToFileURL(file).href, import.meta.url)) as Record<string, unknown>);
  } catch (error) {
    throw new PredictorLoadError(file, `importing it failed: ${describeImportError(error)}`, { cause: error });
  }
  const PredictorClass = findPredictorClass(module);
  if (PredictorClass === undefined) {
    const exported = exportedNames(module);
    throw new PredictorLoadError(
      file,
      `it exports no class as default or as "Predictor" (it exports: ${exported.join(", ") || "nothing"}); ` +
        `write \`export default class MyPredictor { predict(payload, requestId) { ... } }\``,
    );
  }
  if (typeof PredictorClass.prototype?.predict !== "function") {
    throw new PredictorLoadError(file, `class ${PredictorClass.name || "(anonymous)"} has no predict(payload, requestId) method`);
  }
  try {
    // A fresh copy, so one API's predictor cannot change what another API sharing the object sees.
    return new PredictorClass(structuredClone({ ...config }));
  } catch (error) {
    throw new PredictorLoadError(file, `new ${PredictorClass.name || "Predictor"}(config) threw: ${firstLine(error)}`, { cause: error });
  }
}

/** Whether Node would load `file` as CommonJS: `.cts`, or `.ts`/`.tsx` without `"type": "module"` in the nearest package.json. */
function isCommonJsFile(file: string): boolean {
  const extension = extname(file);
  if (extension === ".cts") return true;
  if (extension === ".mts") return false;
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest)) {
      try {
        return (JSON.parse(readFileSync(manifest, "utf8")) as { type?: unknown }).type !== "module";
      } catch {
        return true; // Node refuses an unreadable package.json too; the require then says why.
      }
    }
    if (dirname(dir) === dir) return true;
  }
}

/**
 * Finds the class whichever way the module was compiled. Without `"type": "module"` in the nearest package.json, tsx
 * compiles the file to CommonJS and importing it wraps the exports once more: the class arrives as `default.default`.
 */
function findPredictorClass(module: Record<string, unknown>): PredictorClass | undefined {
  const inner = module.default as Record<string, unknown> | undefined;
  const candidates = [module.default, module.Predictor, inner?.default, inner?.Predictor];
  return candidates.find((candidate): candidate is PredictorClass => typeof candidate === "function");
}

/**
 * esbuild reports "Transform failed with 1 error:" first and the useful part on the next line
 * (`/path/p.ts:1:43: ERROR: Expected "}"`); say `line 1:43: Expected "}"` instead.
 */
function describeImportError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const compileError = /:(\d+):(\d+): ERROR: (.+)/.exec(message);
  if (compileError) return `line ${compileError[1]}:${compileError[2]}: ${compileError[3]}`;
  return firstLine(error);
}

/** The names a module exports, seen through the CommonJS wrapping tsx applies without "type": "module". */
function exportedNames(module: Record<string, unknown>): string[] {
  const inner = module.default;
  const wrapped = inner !== null && typeof inner === "object";
  const names = new Set(Object.keys(module).filter((key) => key !== "module.exports" && !(wrapped && key === "default")));
  if (wrapped) for (const key of Object.keys(inner as object)) names.add(key);
  return [...names];
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n").find((line) => line.trim() !== "")?.trim() ?? "unknown error";
}
