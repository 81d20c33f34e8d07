/**
 * A real redis-server for one test suite or bench run: a free loopback port, a temp dir for its AOF, stopped and
 * removed on `stop()`. Nothing relies on a Redis already running.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and, unless `keepDir`, removes its directory. */
  stop(options?: { keepDir?: boolean }): Promise<void>;
  /** SIGKILLs the server, keeping its directory, and starts it again on the same port from its AOF. */
  restart(): Promise<void>;
}

/** Whether a redis-server binary is on PATH. */
export function redisServerAvailable(): boolean {
  return spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status === 0;
}

/**
 * Whether a suite that needs redis-server can run: when it cannot, says so loudly (naming `what` the suite is) and
 * the suite skips, except under REQUIRE_REDIS_TESTS=1 (CI), where a missing redis-server is an error.
 */
export function redisSuiteCanRun(what: string): boolean {
  if (redisServerAvailable()) return true;
  if (process.env.REQUIRE_REDIS_TESTS === "1") throw new Error("REQUIRE_REDIS_TESTS=1 but redis-server is not installed (apt-get install redis-server)");
  console.warn(`\n*** SKIPPED: ${what} needs redis-server (apt-get install redis-server); .ci/run installs it ***\n`);
  return false;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Starts redis-server with AOF (`appendfsync everysec`, the setting the README recommends) and noeviction. */
export async function startRedisServer(options: { appendfsync?: "always" | "everysec" | "no" } = {}): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), "redis-"));
  const port = await freePort();
  const args = [
    "--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "",
    "--appendonly", "yes", "--appendfsync", options.appendfsync ?? "everysec",
    "--maxmemory-policy", "noeviction", "--protected-mode", "yes", "--loglevel", "warning",
  ];
  let child = await launch(args);
  return {
    port,
    dir,
    url: `redis://127.0.0.1:${port}`,
    async stop({ keepDir = false } = {}) {
      await terminate(child, "SIGTERM");
      if (!keepDir) rmSync(dir, { recursive: true, force: true });
    },
    async restart() {
      await terminate(child, "SIGKILL");
      child = await launch(args);
    },
  };
}

async function launch(args: string[]): Promise<ChildProcess> {
  const child = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`redis-server did not get ready within 10 s:\n${output}`));
    }, 10_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString("utf8");
      // With loglevel warning the ready line is not printed; ask the server instead (below).
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited (${code}) before it was ready:\n${output}`));
    });
    const portIndex = args.indexOf("--port") + 1;
    const port = Number(args[portIndex]);
    void (async () => {
      for (let tries = 0; tries < 200; tries++) {
        if (await pingRedis(port)) {
          clearTimeout(timer);
          child.removeAllListeners("exit");
          resolve();
          return;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
  });
  return child;
}

async function terminate(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}

/** One PING over a raw socket: whether the server on `port` answers yet. */
async function pingRedis(port: number): Promise<boolean> {
  const { connect } = await import("node:net");
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (data) => done(data.toString().startsWith("+PONG")));
  });
}
