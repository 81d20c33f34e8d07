import { setTimeout as sleep } from "node:timers/promises";
import { Pool } from "undici";
import type { BenchPayload, BenchReceiver, ReceivedReport } from "./receiver.js";
import { quantile } from "./stats.js";

/** Where tasks are submitted: `POST origin + path` with a JSON payload. */
export interface SubmitTarget {
  origin: string;
  path: string;
}

/** What one load phase measured, over its measurement window only. */
export interface PhaseResult {
  /** Reports received for tasks submitted in the window, per second of window. */
  throughputPerS: number;
  /** Submit-to-webhook latency, ms. */
  p50Ms: number;
  p99Ms: number;
  /** Reports counted in the window. */
  completed: number;
  /** Submits answered with a non-2xx status or a connection error. */
  submitErrors: number;
  /** Tasks submitted in the window whose report had not arrived when the phase ended. */
  incomplete: number;
  /** Harness CPU time / wall time over the window: near 1, the harness itself may be the limit. */
  harnessCpu: number;
  windowMs: number;
}

/** Timing of a phase. */
export interface PhaseTiming {
  warmupMs: number;
  measureMs: number;
  /** After the window, how long to wait for stragglers before the next phase. */
  drainMs: number;
}

/** Options shared by both load shapes. */
export interface LoadOptions extends PhaseTiming {
  target: SubmitTarget;
  receiver: BenchReceiver;
  /** Keep-alive connections the client opens to the system under test. */
  connections: number;
  /** Filler per payload, in characters. */
  padChars: number;
}

/** The load generator's client: one keep-alive pool, the same for every system under test. */
class Submitter {
  readonly #pool: Pool;
  readonly #path: string;
  readonly #pad: string;
  errors = 0;

  constructor(options: LoadOptions) {
    this.#pool = new Pool(options.target.origin, { connections: options.connections, pipelining: 1, keepAliveTimeout: 60_000 });
    this.#path = options.target.path;
    this.#pad = "x".repeat(options.padChars);
  }

  /** Submits one task; resolves true on a 2xx. Never throws. */
  async submit(payload: BenchPayload): Promise<boolean> {
    if (this.#pad) payload.pad = this.#pad;
    try {
      const response = await this.#pool.request({
        path: this.#path,
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(payload),
      });
      await response.body.dump();
      if (response.statusCode >= 200 && response.statusCode < 300) return true;
    } catch {
      // Counted below.
    }
    this.errors++;
    return false;
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}

/** Identifies one submitted task: its user and its due time. */
function keyOf(payload: Pick<BenchPayload, "t" | "u">): string {
  return `${payload.u}|${payload.t}`;
}

/** Collects latencies of tasks whose submit time falls in [from, to). */
class Window {
  readonly latencies: number[] = [];
  /** Keys (see {@link keyOf}) of tasks submitted in the window whose report has not arrived yet. */
  readonly outstanding = new Set<string>();
  from = Number.POSITIVE_INFINITY;
  to = Number.POSITIVE_INFINITY;

  inWindow(t: number): boolean {
    return t >= this.from && t < this.to;
  }
}

/**
 * Closed loop: `users` virtual users each submit a task and submit the next only when its webhook arrived, so
 * `users` tasks are always in flight end to end. With enough users this is the system's saturation throughput.
 */
export async function closedLoop(options: LoadOptions & { users: number }): Promise<PhaseResult> {
  const submitter = new Submitter(options);
  const window = new Window();
  const sequence = new Float64Array(options.users);
  let running = true;

  const submitNext = (user: number): void => {
    if (!running) return;
    const t = performance.now();
    sequence[user] = t;
    if (window.inWindow(t)) window.outstanding.add(keyOf({ t, u: user }));
    void submitter.submit({ t, u: user }).then(async (accepted) => {
      if (accepted) return;
      window.outstanding.delete(keyOf({ t, u: user }));
      await sleep(10); // The system refused: back off a little, then the same user tries again.
      submitNext(user);
    });
  };
  options.receiver.onReport(({ payload, receivedAt }: ReceivedReport) => {
    const user = payload.u;
    if (user < 0 || user >= options.users || sequence[user] !== payload.t) return; // A duplicate report.
    if (window.outstanding.delete(keyOf(payload))) window.latencies.push(receivedAt - payload.t);
    submitNext(user);
  });

  for (let user = 0; user < options.users; user++) submitNext(user);
  return measure(options, window, submitter, () => {
    running = false;
  });
}

/**
 * Open loop: tasks are submitted at `ratePerS` whatever the system does, and latency is counted from when each
 * task was due, so a system that falls behind shows it (no coordinated omission).
 */
export async function openLoop(options: LoadOptions & { ratePerS: number }): Promise<PhaseResult> {
  const submitter = new Submitter(options);
  const window = new Window();
  const started = performance.now();
  const intervalMs = 1000 / options.ratePerS;
  let sent = 0;
  options.receiver.onReport(({ payload, receivedAt }: ReceivedReport) => {
    if (window.outstanding.delete(keyOf(payload))) window.latencies.push(receivedAt - payload.t);
  });
  const tick = setInterval(() => {
    const due = Math.floor((performance.now() - started) / intervalMs);
    for (; sent < due; sent++) {
      const t = started + sent * intervalMs;
      if (window.inWindow(t)) window.outstanding.add(keyOf({ t, u: -1 }));
      void submitter.submit({ t, u: -1 }).then((accepted) => {
        if (!accepted) window.outstanding.delete(keyOf({ t, u: -1 }));
      });
    }
  }, 1);
  return measure(options, window, submitter, () => clearInterval(tick));
}

async function measure(timing: LoadOptions, window: Window, submitter: Submitter, stopLoad: () => void): Promise<PhaseResult> {
  await sleep(timing.warmupMs);
  const errorsBefore = submitter.errors;
  const cpuBefore = process.cpuUsage();
  window.from = performance.now();
  window.to = window.from + timing.measureMs;
  await sleep(timing.measureMs);
  const cpu = process.cpuUsage(cpuBefore);
  const windowMs = performance.now() - window.from;
  stopLoad();
  const drainUntil = performance.now() + timing.drainMs;
  while (window.outstanding.size > 0 && performance.now() < drainUntil) await sleep(20);
  await submitter.close();
  timing.receiver.onReport(() => undefined);
  return {
    throughputPerS: window.latencies.length / (timing.measureMs / 1000),
    p50Ms: quantile(window.latencies, 0.5),
    p99Ms: quantile(window.latencies, 0.99),
    completed: window.latencies.length,
    submitErrors: submitter.errors - errorsBefore,
    incomplete: window.outstanding.size,
    harnessCpu: (cpu.user + cpu.system) / 1000 / windowMs,
    windowMs,
  };
}
