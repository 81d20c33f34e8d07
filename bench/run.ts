/**
 * `npm run bench`: the runtime end to end (submit -> no-op predict -> webhook received) against a floor written here
 * (bench/floor-server.ts: express answers 202 and undici calls back, in memory), one run, side by side, with the
 * same load generator and receiver. Prints JSON lines; the `summary` line carries `ratio` = runtime / floor
 * throughput at saturation.
 *
 *   npm run bench                          full run (~80 s; each --variant adds ~35 s)
 *   npm run bench -- --quick               ~20 s
 *   npm run bench -- --depth               100,000 tasks queued behind a slow predictor: the runtime's RSS
 *   npm run bench -- --depth --depth-tasks 1000000   as many as asked (progress on stderr every 10 s)
 *   npm run bench -- --profile             CPU profiles of the children (node --cpu-prof), top items printed
 *   npm run bench -- --variant "full=--fsync=full"   also measure the runtime with other serve flags, same rounds;
 *                                          in a variant, `node:--flag` is a flag for node, `redis` means --engine
 *                                          redis on the bench's redis-server, `in_process` the in_process host
 *   npm run bench -- --only runtime        skip the floor (profiling; no ratio)
 *   npm run bench -- --baseline DIR        also measure the runtime of another checkout (git worktree add DIR REF;
 *                                          it needs its node_modules) in the same rounds: a before/after A/B (on
 *                                          --engine redis too, database 2, when the BullMQ peer's server runs)
 *   npm run bench -- --scaling             --engine redis: one --role api process and 1, 2, 3 --role worker processes
 *                                          on one redis-server, tasks/s each
 *   npm run bench -- --no-bullmq           skip the BullMQ peer (express + BullMQ on a redis-server it starts)
 *                                          and the runtime on --engine redis (same server, database 1)
 *   npm run bench -- --no-cpu-bound        skip the CPU-bound predictor's /healthz measurement
 *   npm run bench -- --host-overhead       only the hosts' own cost per prediction, no HTTP or storage (~10 s)
 *   npm run bench -- --redis-calls         Redis commands and redis-server CPU per task, BullMQ peer and --engine
 *                                          redis, each on a fresh server (counts that background load does not move)
 *
 * `runtime` is the default host (predict() in a worker thread); `runtime:in_process` the same config with
 * `in_process: true` (predict() on the event loop). The `hosts` line compares them, paired per round. Last, a
 * CPU-bound predictor (20 ms of busy work per task) runs on each host while /healthz is probed: its p99 shows what
 * isolation buys (bench/cpu-bound.ts).
 *
 * Both systems run as child processes (their CPU and RSS are their own, as a user would run them); the harness
 * process holds the load generator and the receiver. On 2 cores that gives the system under test one core and the
 * harness the other: a third process for the load generator would make three busy processes share two cores.
 *
 * The machine is shared, so background load comes and goes. Saturation is therefore measured in short interleaved
 * rounds (floor, runtime, then runtime, floor, ...), the ratio is taken within each round, where both systems saw
 * the same background, and the median of those ratios is reported.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { benchConfig, runtimeServeArgs } from "./bench-config.js";
import { summarizeCpuProfile } from "./cpu-profile-summary.js";
import { runCpuBound } from "./cpu-bound.js";
import { runDepth } from "./depth.js";
import { runHostOverhead } from "./host-overhead.js";
import { runRedisCalls } from "./redis-calls.js";
import { closedLoop, openLoop, type LoadOptions, type PhaseResult, type PhaseTiming } from "./load-generator.js";
import { startBenchReceiver, type BenchReceiver } from "./receiver.js";
import { startServerProcess, type ServerProcess } from "./server-process.js";
import { quantile, round } from "./stats.js";
import { redisServerAvailable, startRedisServer, type RedisServer } from "../test/helpers/redis-server.js";

const REPO_ROOT = resolve(import.meta.dirname, "..");

const { values: flags } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    depth: { type: "boolean", default: false },
    "depth-tasks": { type: "string", default: "100000" },
    profile: { type: "boolean", default: false },
    "serve-args": { type: "string", default: "" },
    variant: { type: "string", multiple: true, default: [] },
    only: { type: "string" },
    scaling: { type: "boolean", default: false },
    "no-bullmq": { type: "boolean", default: false },
    rounds: { type: "string" },
    users: { type: "string", default: "512" },
    "load-fraction": { type: "string", default: "0.5" },
    "no-cpu-bound": { type: "boolean", default: false },
    "host-overhead": { type: "boolean", default: false },
    baseline: { type: "string" },
    "redis-calls": { type: "boolean", default: false },
    "redis-calls-tasks": { type: "string", default: "5000" },
  },
});

/**
 * Closed-loop users at saturation: enough tasks in flight that neither system idles. Measured here: 128 left the
 * runtime latency-bound (each task passes five group commits in sequence, and a batch only grows with the tasks
 * in flight); 512 saturates both; 1024 raised neither.
 */
const USERS = Number(flags.users);
/** Keep-alive connections from the load generator to the system under test. */
const CONNECTIONS = 32;
/** Payload filler: a small JSON object of about 100 bytes, like a typical inference request. */
const PAD_CHARS = 64;
/** Interleaved saturation rounds, each measuring every system once. */
const ROUNDS = Number(flags.rounds ?? (flags.quick ? 2 : 5));
const SATURATION: PhaseTiming = flags.quick ? { warmupMs: 500, measureMs: 1500, drainMs: 3000 } : { warmupMs: 1000, measureMs: 4000, drainMs: 5000 };
const FIXED: PhaseTiming = flags.quick ? { warmupMs: 500, measureMs: 2000, drainMs: 3000 } : { warmupMs: 1000, measureMs: 8000, drainMs: 5000 };

/** Prints one JSON line on stdout: the bench's output format. */
function emit(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

/** A system under test: a name and how to start it. */
interface System {
  name: string;
  /** Starts it in `workDir`; with `profileDir`, under `node --cpu-prof` writing there. */
  start(receiver: BenchReceiver, workDir: string, profileDir: string | undefined): Promise<ServerProcess>;
}

const floor: System = {
  name: "floor",
  start: (receiver, workDir, profileDir) =>
    startServerProcess({
      nodeFlags: cpuProfileFlags(profileDir),
      args: [join(REPO_ROOT, "bin/run-ts.js"), join(REPO_ROOT, "bench/floor-server.ts"), "--callback-url", receiver.url],
      cwd: workDir,
    }),
};

/** The BullMQ peer (bench/bullmq-peer-server.ts) on its own redis-server, started by the bench. */
function bullmqPeer(redis: RedisServer): System {
  return {
    name: "bullmq",
    start: (receiver, workDir, profileDir) =>
      startServerProcess({
        nodeFlags: cpuProfileFlags(profileDir),
        args: [join(REPO_ROOT, "bin/run-ts.js"), join(REPO_ROOT, "bench/bullmq-peer-server.ts"), "--callback-url", receiver.url, "--redis-url", redis.url],
        cwd: workDir,
      }),
  };
}

/** The runtime as a user runs it: `serve` with its defaults, plus `serveArgs` (of another checkout, for --baseline). */
function runtime(name: string, extraArgs: string[], inProcess = false, checkout?: string): System {
  // `node:--flag` in a variant's arguments is a flag for node itself (`--variant "gc=node:--single-threaded-gc"`).
  const nodeFlags = extraArgs.filter((arg) => arg.startsWith("node:")).map((arg) => arg.slice("node:".length));
  const serveArgs = extraArgs.filter((arg) => !arg.startsWith("node:"));
  return {
    name,
    start: (receiver, workDir, profileDir) => {
      writeFileSync(join(workDir, "cortex.yaml"), benchConfig(receiver.url, "noop.ts", { threads: 64, maxQueue: 100_000, inProcess }));
      return startServerProcess({
        nodeFlags: [...nodeFlags, ...cpuProfileFlags(profileDir)],
        args: runtimeServeArgs(workDir, serveArgs, checkout),
        cwd: workDir,
        stdoutFile: join(workDir, "runtime.log"),
      });
    },
  };
}

function cpuProfileFlags(profileDir: string | undefined): string[] {
  return profileDir === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", profileDir];
}

function splitArgs(text: string): string[] {
  return text.split(" ").filter(Boolean);
}

/** A started system and everything measured on it. */
interface Running {
  system: System;
  server: ServerProcess;
  workDir: string;
  profileDir: string | undefined;
  saturation: PhaseResult[];
  saturationCpuMs: number;
  saturationMainThreadCpuMs: number;
  /** CPU ms per thread id over the saturation rounds. */
  saturationThreadCpuMs: Map<number, number>;
  fixed?: PhaseResult;
  fixedCpuMs?: number;
}

async function startAll(systems: System[], receiver: BenchReceiver): Promise<Running[]> {
  const running: Running[] = [];
  for (const system of systems) {
    const workDir = mkdtempSync(join(tmpdir(), `bench-${system.name}-`));
    const profileDir = flags.profile ? mkdtempSync(join(tmpdir(), `bench-profile-${system.name}-`)) : undefined;
    running.push({ system, server: await system.start(receiver, workDir, profileDir), workDir, profileDir, saturation: [], saturationCpuMs: 0, saturationMainThreadCpuMs: 0, saturationThreadCpuMs: new Map() });
  }
  return running;
}

function loadOptions(target: ServerProcess, receiver: BenchReceiver, timing: PhaseTiming): LoadOptions {
  return { ...timing, target: { origin: target.url, path: "/noop" }, receiver, connections: CONNECTIONS, padChars: PAD_CHARS };
}

/** Pools a system's saturation rounds into one line. */
function saturationLine(run: Running): Record<string, unknown> {
  const throughputs = run.saturation.map((phase) => phase.throughputPerS);
  const completed = run.saturation.reduce((sum, phase) => sum + phase.completed, 0);
  // Latency percentiles over all rounds, weighting each round's p50/p99 by its completions would need the raw
  // samples; the median of the rounds' percentiles is robust to one disturbed round.
  return {
    bench: "e2e",
    system: run.system.name,
    phase: "saturation",
    users: USERS,
    rounds: run.saturation.length,
    throughput_per_s: round(quantile(throughputs, 0.5)),
    throughput_per_s_rounds: throughputs.map(round),
    p50_ms: round(quantile(run.saturation.map((phase) => phase.p50Ms), 0.5)),
    p99_ms: round(quantile(run.saturation.map((phase) => phase.p99Ms), 0.5)),
    completed,
    submit_errors: run.saturation.reduce((sum, phase) => sum + phase.submitErrors, 0),
    cpu_us_per_task: round((run.saturationCpuMs * 1000) / Math.max(1, completed)),
    main_thread_cpu_us_per_task: round((run.saturationMainThreadCpuMs * 1000) / Math.max(1, completed)),
    // Threads are unnamed in Node; the busiest after the event loop are the worker threads (predictor, webhook,
    // SQLite), then V8's GC helpers and libuv's pool.
    other_threads_cpu_us_per_task: [...run.saturationThreadCpuMs]
      .filter(([tid]) => tid !== run.server.pid)
      .map(([, ms]) => round((ms * 1000) / Math.max(1, completed)))
      .sort((a, b) => b - a)
      .filter((us) => us > 0)
      .slice(0, 8),
    harness_cpu: round(quantile(run.saturation.map((phase) => phase.harnessCpu), 0.5)),
  };
}

function fixedLine(run: Running, rate: number): Record<string, unknown> {
  const fixed = run.fixed!;
  return {
    bench: "e2e",
    system: run.system.name,
    phase: "fixed",
    offered_per_s: round(rate),
    throughput_per_s: round(fixed.throughputPerS),
    p50_ms: round(fixed.p50Ms),
    p99_ms: round(fixed.p99Ms),
    completed: fixed.completed,
    submit_errors: fixed.submitErrors,
    incomplete: fixed.incomplete,
    cpu_us_per_task: round(((run.fixedCpuMs ?? 0) * 1000) / Math.max(1, fixed.completed)),
    harness_cpu: round(fixed.harnessCpu),
  };
}

async function main(): Promise<void> {
  emit({ bench: "machine", nproc: cpus().length, cpu: cpus()[0]?.model ?? "unknown", node: process.version, loadavg_1m: round(loadavg()[0] ?? 0) });
  if (flags.scaling) {
    await runScaling();
    return;
  }
  if (flags["host-overhead"]) {
    for (const line of await runHostOverhead()) emit(line);
    return;
  }
  if (flags["redis-calls"]) {
    for (const line of await runRedisCalls({ tasks: Number(flags["redis-calls-tasks"]), serveArgs: splitArgs(flags["serve-args"]) })) emit(line);
    return;
  }
  if (flags.depth) {
    emit(await runDepth({ tasks: Number(flags["depth-tasks"]), serveArgs: splitArgs(flags["serve-args"]) }));
    return;
  }
  const serveArgs = splitArgs(flags["serve-args"]);
  const variantSpecs = flags.variant.map((spec) => {
    const [name, ...args] = spec.split("=");
    return { name: name!, args: splitArgs(args.join("=")) };
  });
  let redis: RedisServer | undefined;
  // The BullMQ peer and the runtime on --engine redis share one redis-server.
  const wantsPeer = !flags["no-bullmq"] && (flags.only === undefined || ["bullmq", "runtime:redis"].some((name) => name.startsWith(flags.only!) || flags.only!.startsWith(name)));
  const wantsRedis = wantsPeer || variantSpecs.some((variant) => variant.args.includes("redis"));
  if (wantsRedis && redisServerAvailable()) redis = await startRedisServer();
  else if (wantsRedis) process.stderr.write("redis-server is not installed: the BullMQ peer and Redis variants are skipped (apt-get install redis-server)\n");
  // In a variant's arguments, `redis` stands for `--engine redis` on the bench's server (a database of its own) and
  // `in_process` for the config's `in_process: true`.
  const variants = variantSpecs.flatMap(({ name, args }, index) => {
    if (args.includes("redis") && redis === undefined) return [];
    const expanded = args.flatMap((arg) => (arg === "redis" ? ["--engine", "redis", "--redis-url", `${redis!.url}/${3 + index}`] : arg === "in_process" ? [] : [arg]));
    return [runtime(`runtime:${name}`, expanded, args.includes("in_process"))];
  });
  if (flags.baseline !== undefined) variants.push(runtime("runtime:baseline", serveArgs, false, resolve(flags.baseline)));
  const redisRuntime = redis && wantsPeer ? [runtime("runtime:redis", ["--engine", "redis", "--redis-url", `${redis.url}/1`, ...serveArgs])] : [];
  if (redis && wantsPeer && flags.baseline !== undefined) {
    redisRuntime.push(runtime("runtime:redis:baseline", ["--engine", "redis", "--redis-url", `${redis.url}/2`, ...serveArgs], false, resolve(flags.baseline)));
  }
  const systems = [floor, ...(redis && wantsPeer ? [bullmqPeer(redis)] : []), runtime("runtime", serveArgs), runtime("runtime:in_process", serveArgs, true), ...redisRuntime, ...variants].filter(
    (system) => flags.only === undefined || system.name.startsWith(flags.only),
  );
  const receiver = await startBenchReceiver();
  const running = await startAll(systems, receiver);
  try {
    for (let index = 0; index < ROUNDS; index++) {
      const order = index % 2 === 0 ? running : [...running].reverse();
      for (const run of order) {
        const cpuBefore = run.server.cpuMs();
        const mainBefore = run.server.mainThreadCpuMs();
        const threadsBefore = run.server.threadCpuMs();
        run.saturation.push(await closedLoop({ ...loadOptions(run.server, receiver, SATURATION), users: USERS }));
        run.saturationCpuMs += run.server.cpuMs() - cpuBefore;
        run.saturationMainThreadCpuMs += run.server.mainThreadCpuMs() - mainBefore;
        for (const [tid, ms] of run.server.threadCpuMs()) {
          run.saturationThreadCpuMs.set(tid, (run.saturationThreadCpuMs.get(tid) ?? 0) + ms - (threadsBefore.get(tid) ?? 0));
        }
      }
    }
    for (const run of running) emit(saturationLine(run));

    const floorRun = running.find((run) => run.system === floor);
    const peerRun = running.find((run) => run.system.name === "bullmq");
    const runtimes = running.filter((run) => run.system !== floor && run !== peerRun);
    // Below saturation: a fraction of the floor's throughput (of the first system's, without a floor).
    const rate = quantile((floorRun ?? running[0]!).saturation.map((phase) => phase.throughputPerS), 0.5) * Number(flags["load-fraction"]);
    for (const run of running) {
      const cpuBefore = run.server.cpuMs();
      run.fixed = await openLoop({ ...loadOptions(run.server, receiver, FIXED), ratePerS: rate });
      run.fixedCpuMs = run.server.cpuMs() - cpuBefore;
      emit(fixedLine(run, rate));
    }
    const peakRssMb = new Map(running.map((run) => [run.system.name, run.server.memory().peakRssBytes / 2 ** 20]));
    for (const [system, mb] of peakRssMb) emit({ bench: "e2e", system, peak_rss_mb: round(mb) });

    if (floorRun !== undefined) for (const run of [...(peerRun ? [peerRun] : []), ...runtimes]) emit(summaryLine(run, floorRun, peerRun, rate, peakRssMb));
    const threadHost = running.find((run) => run.system.name === "runtime");
    const inProcessHost = running.find((run) => run.system.name === "runtime:in_process");
    if (threadHost && inProcessHost) emit(hostsLine(threadHost, inProcessHost));
  } finally {
    for (const run of running) {
      const exit = await run.server.stop("SIGTERM", 15_000);
      if (exit !== 0) process.stderr.write(`${run.system.name} exited with ${String(exit)}; its stderr:\n${run.server.stderr()}\n`);
      rmSync(run.workDir, { recursive: true, force: true });
      if (run.profileDir !== undefined) emitProfile(run.system.name, run.profileDir);
    }
    await receiver.close();
    await redis?.stop();
  }
  if (!flags["no-cpu-bound"]) {
    for (const line of await runCpuBound({ quick: flags.quick, serveArgs })) emit(line);
  }
}

/** `--scaling`: the Redis engine with one API process and 1, 2 and 3 worker processes, each count on a fresh server. */
async function runScaling(): Promise<void> {
  if (!redisServerAvailable()) throw new Error("--scaling needs redis-server (apt-get install redis-server)");
  const receiver = await startBenchReceiver();
  try {
    for (const workers of [1, 2, 3]) {
      const redis = await startRedisServer();
      const workDir = mkdtempSync(join(tmpdir(), `bench-scaling-${workers}-`));
      writeFileSync(join(workDir, "cortex.yaml"), benchConfig(receiver.url, "noop.ts", { threads: 64, maxQueue: 100_000 }));
      const engineArgs = (role: string): string[] => ["--engine", "redis", "--redis-url", redis.url, "--role", role];
      const servers: ServerProcess[] = [];
      try {
        servers.push(await startServerProcess({ args: runtimeServeArgs(workDir, engineArgs("api")), cwd: workDir, stdoutFile: join(workDir, "api.log") }));
        for (let n = 0; n < workers; n++) servers.push(await startServerProcess({ args: runtimeServeArgs(workDir, engineArgs("worker")), cwd: workDir, stdoutFile: join(workDir, `worker-${n}.log`) }));
        const phase = await closedLoop({ ...loadOptions(servers[0]!, receiver, SATURATION), users: USERS });
        emit({ bench: "scaling", engine: "redis", api_processes: 1, worker_processes: workers, throughput_per_s: round(phase.throughputPerS), p50_ms: round(phase.p50Ms), p99_ms: round(phase.p99Ms), completed: phase.completed });
      } finally {
        for (const server of servers) await server.stop("SIGTERM", 15_000);
        await redis.stop();
        rmSync(workDir, { recursive: true, force: true });
      }
    }
  } finally {
    await receiver.close();
  }
}

/**
 * The default (worker thread) host against in_process on the no-op workload, paired per round: `ratio` is thread
 * throughput / in_process throughput (aim: at least 0.85).
 */
function hostsLine(thread: Running, inProcess: Running): Record<string, unknown> {
  const ratios = thread.saturation.map((phase, index) => phase.throughputPerS / inProcess.saturation[index]!.throughputPerS);
  return {
    bench: "hosts",
    workload: "noop",
    ratio: round(quantile(ratios, 0.5)),
    ratio_rounds: ratios.map(round),
    throughput_per_s: {
      thread: round(quantile(thread.saturation.map((p) => p.throughputPerS), 0.5)),
      in_process: round(quantile(inProcess.saturation.map((p) => p.throughputPerS), 0.5)),
    },
    fixed_p99_ms: { thread: round(thread.fixed!.p99Ms), in_process: round(inProcess.fixed!.p99Ms) },
    cpu_us_per_task: { thread: round(cpuPerTask(thread, "process") * 1000), in_process: round(cpuPerTask(inProcess, "process") * 1000) },
  };
}

/** The comparison of one runtime with the floor: `ratio` is the median over rounds of the paired throughput ratios. */
function summaryLine(run: Running, floorRun: Running, peerRun: Running | undefined, rate: number, peakRssMb: Map<string, number>): Record<string, unknown> {
  const pairedRatios = (baseline: Running): number[] => run.saturation.map((phase, index) => phase.throughputPerS / baseline.saturation[index]!.throughputPerS);
  const ratios = pairedRatios(floorRun);
  const peerRatios = peerRun !== undefined && peerRun !== run ? pairedRatios(peerRun) : undefined;
  return {
    bench: "summary",
    system: run.system.name,
    ratio: round(quantile(ratios, 0.5)),
    ratio_rounds: ratios.map(round),
    ...(peerRatios ? { ratio_vs_bullmq: round(quantile(peerRatios, 0.5)), ratio_vs_bullmq_rounds: peerRatios.map(round) } : {}),
    cpu_ratio: round(cpuPerTask(floorRun, "process") / cpuPerTask(run, "process")),
    main_thread_cpu_ratio: round(cpuPerTask(floorRun, "main") / cpuPerTask(run, "main")),
    throughput_per_s: { runtime: round(quantile(run.saturation.map((p) => p.throughputPerS), 0.5)), floor: round(quantile(floorRun.saturation.map((p) => p.throughputPerS), 0.5)) },
    fixed_load_per_s: round(rate),
    fixed_p50_ms: { runtime: round(run.fixed!.p50Ms), floor: round(floorRun.fixed!.p50Ms) },
    fixed_p99_ms: { runtime: round(run.fixed!.p99Ms), floor: round(floorRun.fixed!.p99Ms) },
    peak_rss_mb: { runtime: round(peakRssMb.get(run.system.name)!), floor: round(peakRssMb.get("floor")!) },
  };
}

/** CPU per task at saturation, of the whole process or of its event-loop thread. */
function cpuPerTask(run: Running, of: "process" | "main"): number {
  const cpuMs = of === "process" ? run.saturationCpuMs : run.saturationMainThreadCpuMs;
  return cpuMs / Math.max(1, run.saturation.reduce((sum, phase) => sum + phase.completed, 0));
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

await main();
