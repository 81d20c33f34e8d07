/**
 * `npm run bench`: the runtime end to end (submit -> no-op predict -> webhook received) against a floor written here
 * (bench/floor-server.ts: express answers 202 and undici calls back, in memory), one run, side by side, with the
 * same load generator and receiver. Prints JSON lines; the last one carries `ratio` = runtime / floor throughput.
 *
 *   npm run bench                  full run (~90 s)
 *   npm run bench -- --quick       ~25 s
 *   npm run bench -- --depth       100,000 tasks queued behind a slow predictor: the runtime's RSS
 *   npm run bench -- --profile     also writes a CPU profile of the runtime child and prints its top items
 *   npm run bench -- --serve-args "--log-level warn"   extra `serve` flags for the runtime child
 *
 * Both systems run as child processes (their CPU and RSS are their own, as a user would run them); the harness
 * process holds the load generator and the receiver. On 2 cores that gives the system under test one core and the
 * harness the other: a third process for the load generator would make three busy processes share two cores.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { summarizeCpuProfile } from "./cpu-profile-summary.js";
import { benchConfig } from "./bench-config.js";
import { runDepth } from "./depth.js";
import { closedLoop, openLoop, type PhaseResult, type PhaseTiming } from "./load-generator.js";
import { startBenchReceiver, type BenchReceiver } from "./receiver.js";
import { startServerProcess, type ServerProcess } from "./server-process.js";
import { round } from "./stats.js";

const REPO_ROOT = resolve(import.meta.dirname, "..");

const { values: flags } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    depth: { type: "boolean", default: false },
    "depth-tasks": { type: "string", default: "100000" },
    profile: { type: "boolean", default: false },
    "serve-args": { type: "string", default: "" },
    only: { type: "string" },
    users: { type: "string", default: "128" },
    "load-fraction": { type: "string", default: "0.5" },
  },
});

/** Closed-loop users at saturation: enough tasks in flight that neither system idles. */
const USERS = Number(flags.users);
/** Keep-alive connections from the load generator to the system under test. */
const CONNECTIONS = 32;
/** Payload filler: a small JSON object of about 100 bytes, like a typical inference request. */
const PAD_CHARS = 64;
const TIMING: PhaseTiming = flags.quick ? { warmupMs: 1000, measureMs: 3000, drainMs: 3000 } : { warmupMs: 2000, measureMs: 10_000, drainMs: 5000 };

/** Prints one JSON line on stdout: the bench's output format. */
function emit(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function machine(): Record<string, unknown> {
  return { bench: "machine", nproc: cpus().length, cpu: cpus()[0]?.model ?? "unknown", node: process.version, loadavg_1m: round(loadavg()[0] ?? 0) };
}

/** The system under test: how to start it and what path takes a task. */
interface System {
  name: "runtime" | "floor";
  /** Starts it; with `profileDir`, under `node --cpu-prof` writing there. */
  start(receiver: BenchReceiver, workDir: string, profileDir?: string): Promise<ServerProcess>;
  path: string;
}

const floor: System = {
  name: "floor",
  path: "/noop",
  start: (receiver, workDir, profileDir) =>
    startServerProcess({
      nodeFlags: cpuProfileFlags(profileDir),
      args: [join(REPO_ROOT, "bin/run-ts.js"), join(REPO_ROOT, "bench/floor-server.ts"), "--callback-url", receiver.url],
      cwd: workDir,
    }),
};

const runtime: System = {
  name: "runtime",
  path: "/noop",
  start: (receiver, workDir, profileDir) => {
    writeFileSync(join(workDir, "cortex.yaml"), benchConfig(receiver.url, "noop.ts", { threads: 64, maxQueue: 100_000 }));
    return startServerProcess({
      nodeFlags: cpuProfileFlags(profileDir),
      args: [
        join(REPO_ROOT, "bin/predictor-runtime.js"),
        "serve",
        "--config",
        join(workDir, "cortex.yaml"),
        "--port",
        "0",
        "--data-dir",
        join(workDir, "data"),
        ...flags["serve-args"].split(" ").filter(Boolean),
      ],
      cwd: workDir,
      stdoutFile: join(workDir, "runtime.log"),
    });
  },
};

function cpuProfileFlags(profileDir: string | undefined): string[] {
  return profileDir === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", profileDir];
}

/** One phase's JSON line. */
function phaseLine(system: string, phase: string, result: PhaseResult, cpuMs: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    bench: "e2e",
    system,
    phase,
    ...extra,
    throughput_per_s: round(result.throughputPerS),
    p50_ms: round(result.p50Ms),
    p99_ms: round(result.p99Ms),
    completed: result.completed,
    submit_errors: result.submitErrors,
    incomplete: result.incomplete,
    cpu_us_per_task: round((cpuMs * 1000) / Math.max(1, result.completed)),
    harness_cpu: round(result.harnessCpu),
  };
}

interface SystemResult {
  saturation: PhaseResult;
  fixed?: PhaseResult;
  saturationCpuMsPerTask: number;
  peakRssMb: number;
}

async function measureSystem(system: System, receiver: BenchReceiver, fixedRate: () => number | undefined): Promise<SystemResult> {
  const workDir = mkdtempSync(join(tmpdir(), `bench-${system.name}-`));
  const profileDir = flags.profile ? mkdtempSync(join(tmpdir(), `bench-profile-${system.name}-`)) : undefined;
  const server = await system.start(receiver, workDir, profileDir);
  try {
    const common = { ...TIMING, target: { origin: server.url, path: system.path }, receiver, connections: CONNECTIONS, padChars: PAD_CHARS };
    let cpuBefore = server.cpuMs();
    const saturation = await closedLoop({ ...common, users: USERS });
    const saturationCpu = server.cpuMs() - cpuBefore;
    emit(phaseLine(system.name, "saturation", saturation, saturationCpu, { users: USERS }));
    const rate = fixedRate() ?? saturation.throughputPerS * Number(flags["load-fraction"]);
    cpuBefore = server.cpuMs();
    const fixed = await openLoop({ ...common, ratePerS: rate });
    emit(phaseLine(system.name, "fixed", fixed, server.cpuMs() - cpuBefore, { offered_per_s: round(rate) }));
    const { peakRssBytes } = server.memory();
    const peakRssMb = peakRssBytes / 2 ** 20;
    emit({ bench: "e2e", system: system.name, peak_rss_mb: round(peakRssMb) });
    return { saturation, fixed, saturationCpuMsPerTask: saturationCpu / Math.max(1, saturation.completed), peakRssMb };
  } finally {
    const exit = await server.stop("SIGTERM", 15_000);
    if (exit !== 0 && exit !== "SIGTERM") process.stderr.write(`${system.name} exited with ${String(exit)}; its stderr:\n${server.stderr()}\n`);
    rmSync(workDir, { recursive: true, force: true });
    if (profileDir !== undefined) emitProfile(system.name, profileDir);
  }
}

/** Prints the top self-time items of the CPU profile a child wrote on exit. */
function emitProfile(system: string, profileDir: string): void {
  // node --cpu-prof writes one profile per thread (tsx's loader hooks run in a second one); the main thread's is
  // the one whose thread id, after the pid in the name, is 0.
  const file = readdirSync(profileDir).find((name) => /\.\d+\.0\.\d+\.cpuprofile$/.test(name));
  if (file === undefined) {
    process.stderr.write(`the ${system} child wrote no CPU profile (it must exit normally to write one)\n`);
    return;
  }
  emit({ bench: "profile", system, file: join(profileDir, file), ...summarizeCpuProfile(join(profileDir, file)) });
}

async function main(): Promise<void> {
  emit(machine());
  if (flags.depth) {
    emit(await runDepth({ repoRoot: REPO_ROOT, tasks: Number(flags["depth-tasks"]), serveArgs: flags["serve-args"].split(" ").filter(Boolean) }));
    return;
  }
  const receiver = await startBenchReceiver();
  try {
    let floorResult: SystemResult | undefined;
    if (flags.only !== "runtime") floorResult = await measureSystem(floor, receiver, () => undefined);
    let runtimeResult: SystemResult | undefined;
    if (flags.only !== "floor") {
      runtimeResult = await measureSystem(runtime, receiver, () =>
        floorResult ? floorResult.saturation.throughputPerS * Number(flags["load-fraction"]) : undefined,
      );
    }
    if (floorResult && runtimeResult) {
      emit({
        bench: "summary",
        ratio: round(runtimeResult.saturation.throughputPerS / floorResult.saturation.throughputPerS),
        cpu_ratio: round(floorResult.saturationCpuMsPerTask / runtimeResult.saturationCpuMsPerTask),
        runtime_throughput_per_s: round(runtimeResult.saturation.throughputPerS),
        floor_throughput_per_s: round(floorResult.saturation.throughputPerS),
        fixed_p50_ms: { runtime: round(runtimeResult.fixed!.p50Ms), floor: round(floorResult.fixed!.p50Ms) },
        fixed_p99_ms: { runtime: round(runtimeResult.fixed!.p99Ms), floor: round(floorResult.fixed!.p99Ms) },
        peak_rss_mb: { runtime: round(runtimeResult.peakRssMb), floor: round(floorResult.peakRssMb) },
        durability: "serve defaults",
      });
    }
  } finally {
    await receiver.close();
  }
}

await main();
