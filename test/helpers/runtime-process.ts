import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { once } from "node:events";
import { join } from "node:path";
import { REPO_ROOT } from "./runtime-fixture.js";

/** `serve` running as a child process, as a user runs it. */
export interface RuntimeProcess {
  child: ChildProcess;
  /** Base URL it printed on stderr, such as `http://127.0.0.1:40123`. */
  url: string;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /** Sends `signal` and resolves once it exited. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** Options of {@link startRuntimeProcess}. */
export interface RuntimeProcessOptions {
  config: string;
  dataDir: string;
  /** File receiving its stdout: the JSON log. */
  logFile: string;
  extraArgs?: string[];
  /** @defaultValue 30 s */
  startTimeoutMs?: number;
}

/** Spawns `node bin/predictor-runtime.js serve` on port 0 and resolves once it printed the URL it serves on. */
export async function startRuntimeProcess(options: RuntimeProcessOptions): Promise<RuntimeProcess> {
  const log = openSync(options.logFile, "a");
  const child = spawn(
    process.execPath,
    [join(REPO_ROOT, "bin/predictor-runtime.js"), "serve", "--config", options.config, "--port", "0", "--data-dir", options.dataDir, ...(options.extraArgs ?? [])],
    { cwd: REPO_ROOT, stdio: ["ignore", log, "pipe"] },
  );
  closeSync(log);
  const exited = once(child, "exit");
  let stderr = "";
  child.stderr!.setEncoding("utf8");
  const url = await new Promise<string>((resolve, reject) => {
    const timeoutMs = options.startTimeoutMs ?? 30_000;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`serve did not start within ${timeoutMs} ms; stderr:\n${stderr}`));
    }, timeoutMs);
    child.stderr!.on("data", (chunk: string) => {
      stderr += chunk;
      // serve prints "predictor-runtime serving http://127.0.0.1:PORT (Ctrl-C stops it)" once it listens.
      const match = /predictor-runtime serving (http:\/\/\S+)/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`serve exited (${code ?? signal}) before serving; stderr:\n${stderr}`));
    });
  });
  return {
    child,
    url,
    stderr: () => stderr,
    kill: async (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
