import { execFile, spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterEach } from "vitest";

const execFileAsync = promisify(execFile);
const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

/** The independent receiver written in Python (standard library only). */
export const pythonReceiverPath = fileURLToPath(new URL("../../fixtures/receivers/conformant_receiver.py", import.meta.url));

/** What a finished CLI run printed and how it exited. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `node bin/predictor-runtime.js ARGS` to completion (bounded by 90 s), with extra environment variables. */
export async function runCli(args: readonly string[], env: Record<string, string> = {}): Promise<CliRun> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, ["bin/predictor-runtime.js", ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      timeout: 90_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === "number" ? failed.code : -1, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
}

/** Starts child processes that are killed after each test, pass or fail. */
export function usePythonReceivers(): (args: readonly string[]) => Promise<{ port: number; output: () => string }> {
  const children: ChildProcess[] = [];
  afterEach(async () => {
    await Promise.all(
      children.splice(0).map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once("exit", () => resolve());
            child.kill("SIGTERM");
          }),
      ),
    );
  });
  return async (args) => {
    const child = spawn("python3", [pythonReceiverPath, "--port", "0", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the Python receiver printed no port within 10 s:\n${output}`)), 10_000);
      const look = (): void => {
        const match = /listening on (\d+)/.exec(output);
        if (match?.[1] !== undefined) {
          clearTimeout(timer);
          child.stdout?.off("data", look);
          resolve(Number(match[1]));
        }
      };
      child.stdout?.on("data", look);
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`the Python receiver exited with ${code} before listening:\n${output}`));
      });
    });
    return { port, output: () => output };
  };
}
