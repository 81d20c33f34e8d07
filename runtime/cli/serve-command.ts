import { InvalidArgumentError, Option, type Command } from "commander";
import { setFlagsFromString } from "node:v8";
import { loadConfig } from "../config/load-config.js";
import { ConfigError, ErrorCode, RuntimeError } from "../errors.js";
import { createLogger, LOG_LEVELS } from "../log.js";
import { PredictorRuntime } from "../runtime.js";
import { BullmqEngine } from "../engine/bullmq-engine.js";
import type { RegisterCommand } from "./commands.js";
import { ExitCode } from "./exit-code.js";

/** Parses a whole number within [min, max] for a CLI option. */
export function integerOption(min: number, max: number) {
  return (value: string): number => {
    const number = Number(value);
    if (!/^\d+$/.test(value.trim()) || number < min || number > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    }
    return number;
  };
}

interface ServeOptions {
  config: string;
  port: number;
  host: string;
  dataDir: string;
  fsync: "commit" | "interval";
  webhookThread: "worker" | "main";
  logLevel: (typeof LOG_LEVELS)[number];
  gracePeriodS: number;
  maxBodyMib: number;
  adminKeyEnv?: string;
  engine: "sqlite" | "redis";
  redisUrl: string;
  role: "all" | "api" | "worker";
}

/** `predictor-runtime serve`: runs the runtime on a config until SIGINT/SIGTERM, then shuts down gracefully. */
export const registerServeCommand: RegisterCommand = (program: Command) => {
  program
    .command("serve")
    .description("serve the APIs of a cortex.yaml over HTTP")
    .option("--config <file>", "the API config", "cortex.yaml")
    .option("--port <port>", "TCP port to listen on (0 picks a free one)", integerOption(0, 65535), 8888)
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("--data-dir <dir>", "folder of the durable task store", ".runtime")
    .addOption(
      new Option(
        "--fsync <when>",
        "when the task store syncs to disk: at least once a second (a power cut can lose about the last second) or every commit (a power cut loses nothing accepted); both survive a killed process",
      )
        .choices(["interval", "commit"])
        .default("interval"),
    )
    .addOption(
      new Option(
        "--webhook-thread <where>",
        "where webhook attempts are made: a thread of their own, which keeps the event loop free for submits and predict() (best with 2 or more cores), or the main thread (saves the thread's CPU and memory on a single core)",
      )
        .choices(["worker", "main"])
        .default("worker"),
    )
    .addOption(new Option("--log-level <level>", "least severe log level written").choices(LOG_LEVELS).default("info"))
    .option("--grace-period-s <seconds>", "on SIGTERM, how long to let running predictions and due reports finish", integerOption(0, 3600), 30)
    .option("--max-body-mib <mib>", "largest request body accepted", integerOption(1, 1024), 10)
    .option(
      "--admin-key-env <name>",
      "name of an environment variable holding the key /console asks for (Authorization: Bearer KEY); without it the console answers loopback clients only",
    )
    .addOption(
      new Option(
        "--engine <engine>",
        "where tasks and reports are kept: sqlite (one process, under --data-dir, no setup) or redis (shared by any number of serve processes on any machines)",
      )
        .choices(["sqlite", "redis"])
        .default("sqlite"),
    )
    .addOption(new Option("--redis-url <url>", "the Redis server of --engine redis").env("PREDICTOR_RUNTIME_REDIS_URL").default("redis://127.0.0.1:6379/0"))
    .addOption(
      new Option("--role <role>", "with --engine redis: api serves HTTP only, worker predicts and delivers only (and serves /healthz, /readyz, /metrics), all does both")
        .choices(["all", "api", "worker"])
        .default("all"),
    )
    .action(async (options: ServeOptions) => {
      process.exitCode = await serve(options);
    });
};

/**
 * How far V8 lets the heap grow past what survived the last full GC before it collects again, in percent: 50 (a
 * factor of 1.5) where V8 picks up to 4 on its own.
 *
 * A submit's request objects (express's router closures, the body, the response) live for a group commit, long
 * enough to survive two scavenges, so under load about 13 KB of every request is promoted to the old generation and
 * dies there. With V8's own factor the old generation then filled with up to 80 MB of that garbage over a 24 MB live
 * set before each full GC: measured with `npm run bench -- --depth`, RSS peaked near 300 MB whatever the depth
 * (302 MB at 100,000 tasks, 289 MB at 300,000). With 1.5 it peaked at 223 to 240 MB; the full GCs come more often but stay
 * short (the live set is small).
 */
const HEAP_GROWING_PERCENT = 50;

/**
 * Applies {@link HEAP_GROWING_PERCENT} unless the user chose their own with `node --heap-growing-percent=N` (Node
 * refuses it in NODE_OPTIONS).
 */
function limitHeapGrowth(): void {
  const chosen = process.execArgv.some((arg) => /heap[-_]growing[-_]percent/.test(arg));
  if (!chosen) setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}

async function serve(options: ServeOptions): Promise<number> {
  limitHeapGrowth();
  const log = createLogger({ level: options.logLevel });
  let runtime: PredictorRuntime;
  let adminKey: string | undefined;
  if (options.adminKeyEnv !== undefined) {
    adminKey = process.env[options.adminKeyEnv];
    // A name given but empty would silently leave the console open to loopback only; say so and stop instead.
    if (adminKey === undefined || adminKey.trim().length < 16) {
      process.stderr.write(
        `--admin-key-env ${options.adminKeyEnv}: the environment variable ${options.adminKeyEnv} is ${adminKey === undefined ? "not set" : "shorter than 16 characters"}; ` +
          `set it to a long random key (openssl rand -hex 32) or leave --admin-key-env out to allow loopback clients only\n`,
      );
      return ExitCode.usage;
    }
    adminKey = adminKey.trim();
  }
  try {
    const config = loadConfig(options.config);
    if (options.role !== "all" && options.engine !== "redis") {
      process.stderr.write(`--role ${options.role} needs a task store other processes share: add --engine redis (with --redis-url)\n`);
      return ExitCode.usage;
    }
    runtime = await PredictorRuntime.start({
      ...(options.engine === "redis" ? { engine: (context) => new BullmqEngine({ ...context, url: options.redisUrl }) } : {}),
      role: options.role,
      config,
      port: options.port,
      host: options.host,
      dataDir: options.dataDir,
      fsync: options.fsync,
      webhookThread: options.webhookThread,
      log,
      gracePeriodMs: options.gracePeriodS * 1000,
      bodyLimitBytes: options.maxBodyMib * 1024 * 1024,
      ...(adminKey === undefined ? {} : { adminKey }),
    });
  } catch (error) {
    log.flush();
    if (error instanceof ConfigError) {
      process.stderr.write(`invalid config:\n${error.message}\n`);
      return ExitCode.usage;
    }
    if (error instanceof RuntimeError) {
      process.stderr.write(`${error.message}\n`);
      // A port in use is bad usage (pick another port), as for `receiver`: both exit 2.
      return error.code === ErrorCode.predictorLoad || error.code === ErrorCode.listenFailed ? ExitCode.usage : ExitCode.failed;
    }
    throw error;
  }
  // "serving" only once every setup() succeeded: a setup() that fails ends the process without ever claiming to serve.
  let announced = false;
  const announceTimer = setTimeout(() => {
    if (!announced) process.stderr.write(`predictor-runtime listening on ${runtime.url}; waiting for every predictor's setup() (GET /readyz answers 200 once done)\n`);
  }, 1000);
  void runtime.ready.then(
    () => {
      announced = true;
      clearTimeout(announceTimer);
      process.stderr.write(`predictor-runtime serving ${runtime.url} (Ctrl-C stops it)\n`);
    },
    () => clearTimeout(announceTimer),
  );

  // A predictor's stray promise or timer callback must not take every other task down with it.
  const onStray = (error: unknown): void => log.error({ err: error }, "an error escaped predictor or runtime code; the runtime keeps serving");
  process.on("unhandledRejection", onStray);
  process.on("uncaughtException", onStray);

  const exitCode = await new Promise<number>((resolve) => {
    const stopFailed = (message: string): void => {
      process.stderr.write(`${message}\n`);
      void runtime.close(0).then(() => resolve(ExitCode.failed));
    };
    // A predictor that cannot set up is a start-up error like one that cannot load: exit 2 with its message.
    runtime.ready.catch((error: unknown) => {
      process.stderr.write(`${(error as Error).message}\n`);
      void runtime.close(0).then(() => resolve(ExitCode.usage));
    });
    // Nothing can be stored any more: exit, so a supervisor starts a runtime that resumes every committed task.
    void runtime.failed.then((error) => stopFailed(`${error.message}; exiting so the runtime can be restarted (committed tasks resume then)`));
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals): void => {
      signals++;
      if (signals > 1) {
        process.stderr.write(`second ${signal}: exiting now; unfinished work resumes on the next start\n`);
        process.exit(130);
      }
      process.stderr.write(`${signal}: finishing running predictions and due reports (up to ${options.gracePeriodS} s; ${signal} again to exit now)\n`);
      void runtime.close().then(() => resolve(ExitCode.ok));
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
  process.off("unhandledRejection", onStray);
  process.off("uncaughtException", onStray);
  return exitCode;
}
