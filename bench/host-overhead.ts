/**
 * `npm run bench -- --host-overhead`: the cost of the host alone, without HTTP or storage. A no-op predictor runs
 * 20,000 predictions through the event-loop host and through the worker-thread host, with 1 prediction in flight
 * (every one crosses the thread on its own) and with 64 (they cross in batches). Reports predictions per second and
 * CPU per prediction of the whole process (both threads).
 */
import { cpuUsage } from "node:process";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { EventLoopHost } from "../runtime/hosts/event-loop-host.js";
import type { PredictorHost } from "../runtime/hosts/host.js";
import { IsolatedHost } from "../runtime/hosts/isolated-host.js";
import { spawnThreadWorker } from "../runtime/hosts/thread-worker.js";
import { loadPredictor } from "../runtime/predictor/load-predictor.js";
import { round } from "./stats.js";

const NOOP = fileURLToPath(new URL("./predictors/noop.ts", import.meta.url));
const PREDICTIONS = 20_000;
/** About the bench's e2e payload: a small JSON object. */
const PAYLOAD = JSON.stringify({ pad: "x".repeat(64), n: 1 });

async function measure(host: PredictorHost, inFlight: number): Promise<{ perS: number; cpuUs: number }> {
  let started = 0;
  const cpuBefore = cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (started < PREDICTIONS) {
        started++;
        // As the API worker does: each prediction has its own abort signal.
        await host.predict(PAYLOAD, "bench", new AbortController().signal);
      }
    }),
  );
  const elapsedMs = performance.now() - t0;
  const cpu = cpuUsage(cpuBefore);
  return { perS: (PREDICTIONS / elapsedMs) * 1000, cpuUs: (cpu.user + cpu.system) / PREDICTIONS };
}

/** One line per host and concurrency; the best of 3 rounds (the machine is shared). */
export async function runHostOverhead(): Promise<Record<string, unknown>[]> {
  const lines: Record<string, unknown>[] = [];
  const hosts: Array<[string, () => PredictorHost]> = [
    ["in_process", () => new EventLoopHost({ predictor: () => loadPredictor(NOOP, {}), concurrency: 64 })],
    ["thread", () => new IsolatedHost({ api: "noop", file: NOOP, workers: 1, concurrency: 64, spawn: () => spawnThreadWorker({ path: NOOP, config: {} }), log: pino({ level: "silent" }) })],
  ];
  for (const [name, create] of hosts) {
    const host = create();
    await host.load();
    await host.setup();
    for (const inFlight of [1, 64]) {
      const rounds = [];
      for (let round = 0; round < 3; round++) rounds.push(await measure(host, inFlight));
      const best = rounds.reduce((a, b) => (b.cpuUs < a.cpuUs ? b : a));
      lines.push({ bench: "host_overhead", host: name, in_flight: inFlight, predictions_per_s: round(best.perS), cpu_us_per_prediction: round(best.cpuUs) });
    }
    await host.close();
  }
  return lines;
}
