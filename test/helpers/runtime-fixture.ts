import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { Writable } from "node:stream";
import { loadConfig } from "../../runtime/config/load-config.js";
import { createLogger } from "../../runtime/log.js";
import { PredictorRuntime, type RuntimeOptions } from "../../runtime/runtime.js";

/** Root of the checkout, for paths to the example predictors and fixtures. */
export const REPO_ROOT = resolve(import.meta.dirname, "../..");
/** Folder of the test predictors. */
export const FIXTURE_PREDICTORS = join(REPO_ROOT, "test/fixtures/predictors");

/** A runtime started for a test, with everything it logged. */
export interface TestRuntime {
  runtime: PredictorRuntime;
  url: string;
  /** The folder holding cortex.yaml, the data dir and any extra files. */
  dir: string;
  dataDir: string;
  /** Every JSON log line, raw. */
  logLines: string[];
  close(gracePeriodMs?: number): Promise<void>;
}

/** Options of {@link startTestRuntime}. */
export interface TestRuntimeOptions extends Partial<Omit<RuntimeOptions, "config" | "log">> {
  /** cortex.yaml text; paths in it are relative to the temp folder (or absolute). */
  yaml: string;
  /** Extra files to write into the temp folder first, by relative path. */
  files?: Record<string, string>;
  env?: NodeJS.ProcessEnv;
  /** Reuse a folder (restart on the same data dir). */
  dir?: string;
  /** Wait for every setup() before resolving. @defaultValue true */
  waitReady?: boolean;
}

/** Writes a config to a temp folder and starts a runtime on 127.0.0.1, port 0, logging into memory. */
export async function startTestRuntime(options: TestRuntimeOptions): Promise<TestRuntime> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "predictor-runtime-test-"));
  for (const [path, text] of Object.entries(options.files ?? {})) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  writeFileSync(join(dir, "cortex.yaml"), options.yaml);
  const config = loadConfig(join(dir, "cortex.yaml"), { env: options.env ?? process.env });
  const logLines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logLines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      callback();
    },
  });
  // The production logger (redaction included), at debug, into memory.
  const log = createLogger({ level: "debug", destination });
  const dataDir = options.dataDir ?? join(dir, "data");
  const { yaml: _yaml, files: _files, env: _env, dir: _dir, waitReady = true, ...rest } = options;
  const runtime = await PredictorRuntime.start({ port: 0, gracePeriodMs: 2000, ...rest, config, log, dataDir });
  if (waitReady) await runtime.ready;
  let closed = false;
  return {
    runtime,
    url: runtime.url,
    dir,
    dataDir,
    logLines,
    close: async (gracePeriodMs?: number) => {
      if (closed) return;
      closed = true;
      await runtime.close(gracePeriodMs);
      if (options.dir === undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Indents a YAML block under a list item; keeps test configs readable. */
export function api(lines: string): string {
  return lines.trim().split("\n").map((line, index) => (index === 0 ? `- ${line}` : `  ${line}`)).join("\n") + "\n";
}
