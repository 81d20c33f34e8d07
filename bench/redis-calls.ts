/**
 * `npm run bench -- --redis-calls`: what one task costs Redis, for the BullMQ peer and the runtime on `--engine
 * redis`, each on a fresh redis-server: commands per task by name (from `INFO commandstats`, so scripts show as
 * evalsha) and redis-server's CPU per task. Unlike tasks/s these counts do not move with the machine's background
 * load, so they show where a Redis engine's cost goes even on a busy box.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Redis } from "ioredis";
import { Agent } from "undici";
import { benchConfig, runtimeServeArgs } from "./bench-config.js";
import { startBenchReceiver, type BenchReceiver } from "./receiver.js";
import { startServerProcess, type ServerProcess } from "./server-process.js";
import { round } from "./stats.js";
import { startRedisServer } from "../test/helpers/redis-server.js";

const REPO_ROOT = resolve(import.meta.dirname, "..");
/** Submits in flight at once: enough to keep both systems busy, few enough to stay below saturation. */
const CONCURRENCY = 32;

export interface RedisCallsOptions {
  tasks: number;
  /** More `serve` arguments for the runtime. */
  serveArgs?: readonly string[];
}

/** One JSON line per system: calls per task by command, total calls per task, Redis CPU and the process's CPU per task. */
export async function runRedisCalls(options: RedisCallsOptions): Promise<Array<Record<string, unknown>>> {
  const lines: Array<Record<string, unknown>> = [];
  const receiver = await startBenchReceiver();
  try {
    for (const system of ["bullmq", "runtime:redis"] as const) {
      const redis = await startRedisServer();
      const workDir = mkdtempSync(join(tmpdir(), "bench-redis-calls-"));
      let server: ServerProcess | undefined;
      const client = new Redis(redis.url, { lazyConnect: true });
      try {
        server = await startSystem(system, redis.url, receiver, workDir, options.serveArgs ?? []);
        await client.connect();
        // Warm-up (connections, scripts loaded, JIT), then counters from zero.
        await submitAll(server, receiver, Math.min(500, options.tasks));
        await client.config("RESETSTAT");
        const redisCpuBefore = await redisCpuMs(client);
        const cpuBefore = server.cpuMs();
        await submitAll(server, receiver, options.tasks);
        const cpuMs = server.cpuMs() - cpuBefore;
        const redisMs = (await redisCpuMs(client)) - redisCpuBefore;
        const calls = parseCommandStats(await client.info("commandstats"));
        // The stats read and reset themselves are not the system's.
        calls.delete("info");
        calls.delete("config|resetstat");
        calls.delete("config");
        const perTask = [...calls.entries()].sort((a, b) => b[1] - a[1]).map(([command, count]) => [command, round(count / options.tasks)] as const);
        lines.push({
          bench: "redis-calls",
          system,
          tasks: options.tasks,
          calls_per_task: round([...calls.values()].reduce((sum, count) => sum + count, 0) / options.tasks),
          by_command: Object.fromEntries(perTask.filter(([, count]) => count >= 0.01)),
          redis_cpu_us_per_task: round((1000 * redisMs) / options.tasks),
          process_cpu_us_per_task: round((1000 * cpuMs) / options.tasks),
        });
      } finally {
        client.disconnect();
        await server?.stop("SIGTERM", 15_000);
        await redis.stop();
        rmSync(workDir, { recursive: true, force: true });
      }
    }
  } finally {
    await receiver.close();
  }
  return lines;
}

function startSystem(system: "bullmq" | "runtime:redis", redisUrl: string, receiver: BenchReceiver, workDir: string, serveArgs: readonly string[]): Promise<ServerProcess> {
  if (system === "bullmq") {
    return startServerProcess({ args: [join(REPO_ROOT, "bin/run-ts.js"), join(REPO_ROOT, "bench/bullmq-peer-server.ts"), "--callback-url", receiver.url, "--redis-url", redisUrl], cwd: workDir });
  }
  writeFileSync(join(workDir, "cortex.yaml"), benchConfig(receiver.url, "noop.ts", { threads: 64, maxQueue: 100_000 }));
  return startServerProcess({ args: runtimeServeArgs(workDir, ["--engine", "redis", "--redis-url", redisUrl, ...serveArgs]), cwd: workDir, stdoutFile: join(workDir, "runtime.log") });
}

/** Submits `count` tasks, CONCURRENCY at a time, and resolves once the receiver got a report for each. */
async function submitAll(server: ServerProcess, receiver: BenchReceiver, count: number): Promise<void> {
  const target = receiver.received + count;
  const agent = new Agent({ connections: CONCURRENCY });
  let next = 0;
  const user = async (): Promise<void> => {
    while (next < count) {
      next++;
      const response = await agent.request({ origin: server.url, path: "/noop", method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ t: 0, u: 0 }) });
      await response.body.dump();
      if (response.statusCode !== 202) throw new Error(`a submit answered ${response.statusCode}`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, user));
  const deadline = Date.now() + 120_000;
  while (receiver.received < target) {
    if (Date.now() > deadline) throw new Error(`${target - receiver.received} reports missing after 120 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await agent.close();
}

async function redisCpuMs(client: Redis): Promise<number> {
  const info = await client.info("cpu");
  const field = (name: string): number => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return 1000 * (field("used_cpu_sys") + field("used_cpu_user"));
}

/** `cmdstat_evalsha:calls=12,usec=...` lines as command -> calls. */
function parseCommandStats(info: string): Map<string, number> {
  const calls = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(match[1]!, Number(match[2]));
  return calls;
}
