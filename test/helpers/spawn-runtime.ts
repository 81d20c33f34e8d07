import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "./runtime-fixture.js";
import { waitUntil } from "./wait-until.js";

/** A `predictor-runtime` CLI process started by a test. */
export interface SpawnedCli {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (or 128 + signal number's name when killed). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs `node bin/predictor-runtime.js ...args` from the checkout, capturing its output. */
export function spawnCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): SpawnedCli {
  const child = spawn(process.execPath, [join(REPO_ROOT, "bin/predictor-runtime.js"), ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: { ...process.env, ...options.env },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Starts `serve` and resolves with its base URL once it listens (it prints `serving URL` on stderr). */
export async function spawnServe(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<SpawnedCli & { url: string }> {
  const cli = spawnCli(["serve", "--port", "0", ...args], options);
  let exitedEarly = false;
  void cli.exited.then(() => (exitedEarly = true));
  const url = await waitUntil(
    "the runtime prints its URL",
    () => {
      if (exitedEarly) throw new Error(`serve exited before listening:\n${cli.stderr()}`);
      return /serving (http:\/\/\S+)/.exec(cli.stderr())?.[1];
    },
    options.timeoutMs ?? 20_000,
  ).catch((error: unknown) => {
    // The test fails here and never gets the process to stop it: stop it now, or it outlives the suite.
    cli.child.kill("SIGKILL");
    throw error;
  });
  return { ...cli, url };
}
