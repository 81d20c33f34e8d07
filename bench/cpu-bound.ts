/**
 * A CPU-bound predictor (20 ms of busy work per task) on each host, at a steady load of about half a core, while
 * /healthz is probed back to back: the probe latencies show whether predict() stalls the server's event loop.
 * On in_process every probe waits behind whole predictions; on the worker-thread host it should not.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { request } from "undici";
import { runtimeServeArgs } from "./bench-config.js";
import { startServerProcess } from "./server-process.js";
import { quantile, round } from "./stats.js";

const REPO_ROOT = resolve(import.meta.dirname, "..");
const BUSY_MS = 20;
/** Tasks per second: 25 x 20 ms = half a core of predict(). */
const RATE_PER_S = 25;

function config(inProcess: boolean): string {
  return `- name: busy
  kind: AsyncAPI
  predictor:
    type: typescript
    path: ${join(REPO_ROOT, "bench/predictors/busy.ts")}
    config: { busy_ms: ${BUSY_MS} }
    in_process: ${inProcess}
`;
}

/** Runs the CPU-bound workload on both hosts; one line each. */
export async function runCpuBound(options: { quick: boolean; serveArgs: string[] }): Promise<Record<string, unknown>[]> {
  const measureMs = options.quick ? 3000 : 8000;
  const lines: Record<string, unknown>[] = [];
  for (const host of ["thread", "in_process"] as const) {
    const workDir = mkdtempSync(join(tmpdir(), `bench-cpu-bound-${host}-`));
    writeFileSync(join(workDir, "cortex.yaml"), config(host === "in_process"));
    const server = await startServerProcess({ args: runtimeServeArgs(workDir, options.serveArgs), cwd: workDir });
    try {
      await waitReady(server.url);
      let stop = false;
      let submitted = 0;
      let submitErrors = 0;
      const submitter = (async () => {
        const started = performance.now();
        while (!stop) {
          const due = started + (submitted * 1000) / RATE_PER_S;
          const wait = due - performance.now();
          if (wait > 0) await sleep(wait);
          submitted++;
          request(`${server.url}/busy`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })
            .then((response) => response.body.dump())
            .catch(() => submitErrors++);
        }
      })();
      const probes: number[] = [];
      const until = performance.now() + measureMs;
      await sleep(300); // Let the load start.
      while (performance.now() < until) {
        const started = performance.now();
        const response = await request(`${server.url}/healthz`);
        await response.body.dump();
        probes.push(performance.now() - started);
        await sleep(5);
      }
      stop = true;
      await submitter;
      lines.push({
        bench: "cpu_bound",
        host,
        busy_ms_per_task: BUSY_MS,
        offered_per_s: RATE_PER_S,
        submit_errors: submitErrors,
        healthz_probes: probes.length,
        healthz_p50_ms: round(quantile(probes, 0.5)),
        healthz_p99_ms: round(quantile(probes, 0.99)),
        healthz_max_ms: round(Math.max(...probes)),
      });
    } finally {
      await server.stop("SIGKILL", 5000);
      rmSync(workDir, { recursive: true, force: true });
    }
  }
  return lines;
}

async function waitReady(url: string): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt++) {
    const response = await request(`${url}/readyz`).catch(() => undefined);
    await response?.body.dump();
    if (response?.statusCode === 200) return;
    await sleep(100);
  }
  throw new Error(`${url} never became ready`);
}
