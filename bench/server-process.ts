import { spawn, type ChildProcess } from "node:child_process";
import { openSync, closeSync, readdirSync, readFileSync } from "node:fs";
import { once } from "node:events";

/** The line `serve` (and the floor server) print to stderr once they listen. */
const SERVING_LINE = /serving (http:\/\/[^\s]+)/;

/** Options of {@link startServerProcess}. */
export interface ServerProcessOptions {
  /** Arguments after `node`: a script and its own arguments. */
  args: string[];
  /** Flags for node itself (`--cpu-prof`, ...). */
  nodeFlags?: string[];
  cwd: string;
  /** File receiving the child's stdout (its JSON log); /dev/null when undefined. */
  stdoutFile?: string;
  env?: NodeJS.ProcessEnv;
  /** @defaultValue 30 s */
  startTimeoutMs?: number;
}

/** A server running as a child process, so its CPU and memory are its own. */
export interface ServerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Base URL it printed, such as `http://127.0.0.1:40123`. */
  readonly url: string;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /** Resident set size now and at its peak, in bytes, from /proc. */
  memory(): { rssBytes: number; peakRssBytes: number };
  /** CPU time used so far (user + system), in ms, from /proc. */
  cpuMs(): number;
  /** CPU time of its main thread (the event loop) alone, in ms: what limits a Node server's throughput. */
  mainThreadCpuMs(): number;
  /** CPU time of each of its threads (thread id to ms), from /proc: where the rest of {@link cpuMs} goes. */
  threadCpuMs(): Map<number, number>;
  /** Sends `signal` and waits up to `timeoutMs` for the exit, then SIGKILLs. Resolves to the exit code or signal. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | NodeJS.Signals | null>;
}

/** Spawns `node [flags] args...` and resolves once it printed the URL it serves on. */
export async function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  const stdoutFd = openSync(options.stdoutFile ?? "/dev/null", "a");
  const child = spawn(process.execPath, [...(options.nodeFlags ?? []), ...options.args], {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ["ignore", stdoutFd, "pipe"],
  });
  closeSync(stdoutFd);
  let stderr = "";
  child.stderr!.setEncoding("utf8");
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`server did not print its URL within ${options.startTimeoutMs ?? 30_000} ms; stderr:\n${stderr}`));
    }, options.startTimeoutMs ?? 30_000);
    child.stderr!.on("data", (chunk: string) => {
      stderr += chunk;
      const match = SERVING_LINE.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code ?? signal}) before serving; stderr:\n${stderr}`));
    });
  });
  const exited = once(child, "exit").then(([code, signal]) => (code ?? signal) as number | NodeJS.Signals | null);
  const pid = child.pid!;
  return {
    child,
    pid,
    url,
    stderr: () => stderr,
    memory: () => readMemory(pid),
    cpuMs: () => readCpuMs(`/proc/${pid}/stat`),
    mainThreadCpuMs: () => readCpuMs(`/proc/${pid}/task/${pid}/stat`),
    threadCpuMs: () => readThreadCpuMs(pid),
    stop: async (signal = "SIGTERM", timeoutMs = 15_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}

/** VmRSS and VmHWM (the kernel's high-water mark of resident memory) of a live process. */
export function readMemory(pid: number): { rssBytes: number; peakRssBytes: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024;
  return { rssBytes: kib("VmRSS"), peakRssBytes: kib("VmHWM") };
}

/** CPU ms of each live thread of a process; a thread that exits between the listing and the read is left out. */
export function readThreadCpuMs(pid: number): Map<number, number> {
  const threads = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      threads.set(Number(tid), readCpuMs(`/proc/${pid}/task/${tid}/stat`));
    } catch {
      // exited meanwhile
    }
  }
  return threads;
}

/** utime + stime in ms from a /proc stat file, of a process or of one thread (clock ticks are 100 Hz on Linux). */
export function readCpuMs(statFile: string): number {
  const stat = readFileSync(statFile, "utf8");
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks * 10;
}
