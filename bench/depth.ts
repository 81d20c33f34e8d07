import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Pool } from "undici";
import { benchConfig, runtimeServeArgs } from "./bench-config.js";
import { startServerProcess } from "./server-process.js";
import { round } from "./stats.js";

/** Options of {@link runDepth}. */
export interface DepthOptions {
  /** Tasks to queue. @defaultValue 100,000 (issue 4) */
  tasks: number;
  serveArgs: string[];
}

/** RSS the runtime must stay under with 100,000 tasks queued (issue 4). */
const RSS_LIMIT_MB = 300;
/** Payload size: 1 KiB each, so 100,000 queued payloads would be ~100 MB if anything held them in memory. */
const PAYLOAD_PAD_CHARS = 1000;
/** Submits in flight at once while filling the queue. */
const IN_FLIGHT = 64;
/**
 * Bounds the fill whatever happens: 60 s plus 2 ms per task (100,000 tasks: 260 s; 1,000,000: 2,060 s), at most an
 * hour. Fills run at about 3,000 submits/s on 2 idle cores, and at 600/s on the same cores shared with a test suite.
 */
function fillDeadlineMs(tasks: number): number {
  return Math.min(60_000 + 2 * tasks, 3_600_000);
}
/** How often a running fill reports its progress to stderr. */
const PROGRESS_INTERVAL_MS = 10_000;

/**
 * Memory at depth: queues `tasks` 1 KiB tasks behind a predictor that sleeps for minutes, sampling the runtime
 * child's RSS throughout, and reports the peak against the 300 MB limit.
 */
export async function runDepth(options: DepthOptions): Promise<Record<string, unknown>> {
  const workDir = mkdtempSync(join(tmpdir(), "bench-depth-"));
  // Reports would go nowhere: the predictor never finishes within the run.
  writeFileSync(
    join(workDir, "cortex.yaml"),
    benchConfig("http://127.0.0.1:9/hook", "slow.ts", { threads: 1, maxQueue: options.tasks + 1000, predictorConfig: "{ delay_ms: 600000 }" }),
  );
  const server = await startServerProcess({
    args: runtimeServeArgs(workDir, ["--grace-period-s", "0", ...options.serveArgs]),
    cwd: workDir,
    stdoutFile: join(workDir, "runtime.log"),
  });
  const pool = new Pool(server.url, { connections: 16 });
  let maxRss = 0;
  const sampler = setInterval(() => {
    maxRss = Math.max(maxRss, server.memory().rssBytes);
  }, 100);
  const startRss = server.memory().rssBytes;
  const pad = "x".repeat(PAYLOAD_PAD_CHARS);
  let next = 0;
  let accepted = 0;
  let errors = 0;
  const started = performance.now();
  const deadline = started + fillDeadlineMs(options.tasks);
  // A long fill (1,000,000 tasks take minutes) says how far it got; stderr, so stdout stays the JSON result.
  const progress = setInterval(() => {
    const seconds = Math.round((performance.now() - started) / 1000);
    const rssMb = Math.round(server.memory().rssBytes / 2 ** 20);
    process.stderr.write(`depth: ${seconds} s, ${accepted.toLocaleString("en-US")} of ${options.tasks.toLocaleString("en-US")} accepted (${errors} errors), RSS ${rssMb} MB, peak ${Math.round(maxRss / 2 ** 20)} MB\n`);
  }, PROGRESS_INTERVAL_MS);
  try {
    const submitLoop = async (): Promise<void> => {
      while (next < options.tasks && performance.now() < deadline) {
        const n = next++;
        try {
          const response = await pool.request({
            path: "/noop",
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ n, pad }),
          });
          await response.body.dump();
          if (response.statusCode === 202) accepted++;
          else errors++;
        } catch {
          errors++;
        }
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, submitLoop));
    clearInterval(progress);
    const fillMs = performance.now() - started;
    // Let a sweep, a checkpoint and the GC run with the queue full, then read memory again.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    clearInterval(sampler);
    const memory = server.memory();
    maxRss = Math.max(maxRss, memory.rssBytes);
    const peakMb = Math.max(maxRss, memory.peakRssBytes) / 2 ** 20;
    return {
      bench: "depth",
      tasks: options.tasks,
      accepted,
      submit_errors: errors,
      payload_bytes: PAYLOAD_PAD_CHARS + 20,
      fill_s: round(fillMs / 1000),
      submit_per_s: round(accepted / (fillMs / 1000)),
      rss_start_mb: round(startRss / 2 ** 20),
      rss_end_mb: round(memory.rssBytes / 2 ** 20),
      peak_rss_mb: round(peakMb),
      limit_mb: RSS_LIMIT_MB,
      within_limit: peakMb < RSS_LIMIT_MB && accepted === options.tasks,
    };
  } finally {
    clearInterval(progress);
    clearInterval(sampler);
    await pool.close();
    await server.stop("SIGTERM", 10_000);
    rmSync(workDir, { recursive: true, force: true });
  }
}
