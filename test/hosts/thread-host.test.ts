import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import request from "supertest";
import { afterEach, describe, expect, it } from "vitest";
import { IsolatedHost } from "../../runtime/hosts/isolated-host.js";
import { spawnThreadWorker } from "../../runtime/hosts/thread-worker.js";
import { api, startTestRuntime, type TestRuntime } from "../helpers/runtime-fixture.js";
import { waitUntil } from "../helpers/wait-until.js";

/**
 * A predictor that appends to `config.log` on setup and on each predict, and on request busy-loops, or crashes (once
 * per marker file, or always).
 */
const BEHAVING_BADLY = `
import { appendFileSync, existsSync, writeFileSync } from "node:fs";
export default class BadlyBehaved {
  constructor(private readonly config: { log: string }) {}
  setup(): void { appendFileSync(this.config.log, "setup\\n"); }
  async predict(payload: { busy?: boolean; crash_once?: string; crash_always?: boolean; delay_ms?: number; n?: number }): Promise<unknown> {
    appendFileSync(this.config.log, "predict " + JSON.stringify(payload) + "\\n");
    if (payload.delay_ms) await new Promise((resolve) => setTimeout(resolve, payload.delay_ms));
    if (payload.busy) for (;;) {}
    if (payload.crash_always) process.exit(7);
    if (payload.crash_once && !existsSync(payload.crash_once)) { writeFileSync(payload.crash_once, ""); process.exit(3); }
    return { n: payload.n ?? null };
  }
}
`;

let t: TestRuntime | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function start(predictorYaml: string, kind = "AsyncAPI"): Promise<TestRuntime> {
  const dir = (await import("node:fs")).mkdtempSync(join((await import("node:os")).tmpdir(), "hosts-test-"));
  return startTestRuntime({
    dir,
    files: { "bad.ts": BEHAVING_BADLY },
    yaml: api(`
name: bad
kind: ${kind}
predictor:
  type: typescript
  path: bad.ts
  config: { log: ${join(dir, "calls.log")} }
${predictorYaml.trim().split("\n").map((line) => `  ${line}`).join("\n")}
`),
  });
}

const calls = (t: TestRuntime): string[] => readFileSync(join(t.dir, "calls.log"), "utf8").trim().split("\n");
const submit = (url: string, payload: unknown) => request(url).post("/bad").set("content-type", "application/json").send(JSON.stringify(payload)).expect(202);
async function finished(url: string, id: string): Promise<Record<string, unknown>> {
  return waitUntil(`task ${id} finished`, async () => {
    const body = (await request(url).get(`/bad/${id}`)).body as Record<string, unknown>;
    return body.status === "completed" || body.status === "failed" ? body : undefined;
  });
}

describe("worker-thread host", () => {
  it("stops a busy-looping predict() at predict_timeout_s while /healthz keeps answering, and replaces its worker", async () => {
    t = await start("predict_timeout_s: 1");
    const busy = (await submit(t.url, { busy: true })).body.id as string;
    // Probe health all the while the predict() spins: every probe must be answered, each well under a second.
    const probes: number[] = [];
    let status: Record<string, unknown> | undefined;
    while (status === undefined) {
      const started = performance.now();
      await request(t.url).get("/healthz").timeout(2000).expect(200);
      probes.push(performance.now() - started);
      const body = (await request(t.url).get(`/bad/${busy}`)).body as Record<string, unknown>;
      if (body.status === "failed" || body.status === "completed") status = body;
      else await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(status.error).toBe("predict() did not finish within predict_timeout_s (1 s)");
    // On the event loop not one probe would be answered while the loop spins; loose bounds for a loaded machine.
    expect(probes.length, `probes: ${probes.map(Math.round).join(", ")}`).toBeGreaterThan(5);
    expect(Math.max(...probes), `probes: ${probes.map(Math.round).join(", ")}`).toBeLessThan(1000);

    // The replacement ran setup() again and serves the next task.
    const next = (await submit(t.url, { n: 2 })).body.id as string;
    expect((await finished(t.url, next)).result).toEqual({ n: 2 });
    expect(calls(t).filter((line) => line === "setup")).toHaveLength(2);
    expect(t.logLines.some((line) => line.includes("predict() timed out after 1 s"))).toBe(true);
  });

  it("runs again the predictions that shared a worker that crashed, losing none", async () => {
    t = await start("threads_per_process: 3");
    const marker = join(t.dir, "crashed-once");
    const slow = (await submit(t.url, { delay_ms: 300, n: 1 })).body.id as string;
    const alsoSlow = (await submit(t.url, { delay_ms: 300, n: 2 })).body.id as string;
    const crashing = (await submit(t.url, { delay_ms: 50, crash_once: marker, n: 3 })).body.id as string;
    expect((await finished(t.url, crashing)).result).toEqual({ n: 3 });
    expect((await finished(t.url, slow)).result).toEqual({ n: 1 });
    expect((await finished(t.url, alsoSlow)).result).toEqual({ n: 2 });
    // Three predictions in the first worker, three again in its replacement.
    expect(calls(t).filter((line) => line.startsWith("predict"))).toHaveLength(6);
    expect(calls(t).filter((line) => line === "setup")).toHaveLength(2);
  });

  it("fails a task whose worker died twice under it, naming the exit code, backs off, and shows it on /readyz", async () => {
    t = await start("threads_per_process: 1");
    const doomed = (await submit(t.url, { crash_always: true })).body.id as string;
    const status = await finished(t.url, doomed);
    expect(status.status).toBe("failed");
    expect(status.error).toContain("died twice while running this task (last: exit code 7)");
    // The second death in a row waits before restarting; meanwhile the API has no ready worker.
    const readyz = await request(t.url).get("/readyz");
    expect(readyz.status).toBe(503);
    expect(readyz.body).toEqual({ ready: false, workers_restarting: ["bad"] });
    expect((await request(t.url).get("/metrics")).text).toContain('predictor_runtime_workers_ready{api="bad"} 0');
    expect(t.logLines.some((line) => line.includes("predictor worker keeps dying (2 times in a row, last: exit code 7); restarting it in 1 s"))).toBe(true);
    await waitUntil("the worker is back", async () => (await request(t!.url).get("/readyz")).status === 200);
    expect((await request(t.url).get("/metrics")).text).toContain('predictor_runtime_workers_ready{api="bad"} 1');
    const after = (await submit(t.url, { n: 5 })).body.id as string;
    expect((await finished(t.url, after)).result).toEqual({ n: 5 });
  });

  it("answers a RealtimeAPI from the worker, with a 504 at the timeout", async () => {
    t = await start("predict_timeout_s: 0.3", "RealtimeAPI");
    const ok = await request(t.url).post("/bad").set("content-type", "application/json").send('{"n": 4}').expect(200);
    expect(ok.body).toEqual({ n: 4 });
    const busy = await request(t.url).post("/bad").set("content-type", "application/json").send('{"busy": true}');
    expect(busy.status).toBe(504);
  });
});

describe("worker-thread host: abort", () => {
  const hosts: IsolatedHost[] = [];
  afterEach(async () => {
    for (const host of hosts.splice(0)) await host.close();
  });

  it("passes an abort to predict(), and replaces a worker whose predict() ignores it past the grace period", async () => {
    const dir = (await import("node:fs")).mkdtempSync(join((await import("node:os")).tmpdir(), "hosts-abort-"));
    const file = join(dir, "p.ts");
    (await import("node:fs")).writeFileSync(
      file,
      `export default class P {
        predict(payload: { honour: boolean }, _id: string, { signal }: { signal: AbortSignal }): Promise<string> | string {
          if (!payload.honour) { for (;;) {} }
          return new Promise((resolve) => signal.addEventListener("abort", () => resolve("stopped: " + signal.reason.message)));
        }
      }`,
    );
    const host = new IsolatedHost({ api: "p", file, workers: 1, concurrency: 2, spawn: () => spawnThreadWorker({ path: file, config: {} }), log: pino({ level: "silent" }), abortGraceMs: 300 });
    hosts.push(host);
    await host.load();
    await host.setup();

    const honours = new AbortController();
    const polite = host.predict('{"honour": true}', "a", honours.signal);
    await new Promise((resolve) => setTimeout(resolve, 100));
    honours.abort(new Error("cancelled by the client"));
    expect(await polite).toMatchObject({ status: "completed", resultJson: '"stopped: cancelled by the client"' });

    const ignores = new AbortController();
    const stubborn = host.predict('{"honour": false}', "b", ignores.signal);
    await new Promise((resolve) => setTimeout(resolve, 100));
    ignores.abort(new Error("cancelled by the client"));
    expect(await stubborn).toMatchObject({ status: "failed", error: "cancelled by the client" });
    await waitUntil("the replaced worker is ready", () => host.readyWorkers === 1);
    expect(await host.predict('{"honour": true}', "c", AbortSignal.timeout(50))).toMatchObject({ status: "completed" });
  });
});

describe("worker-thread host: start-up", () => {
  it("exits 2 with the predictor's message when setup() fails at start-up", async () => {
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const dir = mkdtempSync(join((await import("node:os")).tmpdir(), "hosts-setup-"));
    writeFileSync(join(dir, "p.ts"), `export default class P { setup() { throw new Error("weights file missing"); } predict() { return 1; } }`);
    writeFileSync(join(dir, "cortex.yaml"), "- name: p\n  kind: AsyncAPI\n  predictor: { type: typescript, path: p.ts }\n");
    const { spawnCli } = await import("../helpers/spawn-runtime.js");
    const cli = spawnCli(["serve", "--port", "0", "--config", join(dir, "cortex.yaml"), "--data-dir", join(dir, "data")]);
    const { code } = await cli.exited;
    expect(code).toBe(2);
    expect(cli.stderr()).toContain(`setup() of the predictor ${join(dir, "p.ts")} (API p) failed: weights file missing`);
  });
});

describe("hosts and --role", () => {
  it("starts no worker for predictions the process does not run: AsyncAPIs in an api process, RealtimeAPIs in a worker", async () => {
    const { mkdtempSync, rmSync, existsSync } = await import("node:fs");
    const dir = mkdtempSync(join((await import("node:os")).tmpdir(), "hosts-role-"));
    // Each predictor leaves a file when constructed.
    const predictor = (name: string) => `import { writeFileSync } from "node:fs"; export default class P { constructor() { writeFileSync(${JSON.stringify(join(dir, name))}, ""); } predict() { return "${name}"; } }`;
    const yaml = `
- name: queued
  kind: AsyncAPI
  predictor: { type: typescript, path: queued.ts }
- name: now
  kind: RealtimeAPI
  predictor: { type: typescript, path: now.ts }
`;
    t = await startTestRuntime({ dir, role: "api", files: { "queued.ts": predictor("queued-loaded"), "now.ts": predictor("now-loaded") }, yaml });
    expect(existsSync(join(dir, "now-loaded"))).toBe(true);
    expect(existsSync(join(dir, "queued-loaded"))).toBe(false);
    expect((await request(t.url).post("/now").set("content-type", "application/json").send("{}").expect(200)).body).toBe("now-loaded");
    await request(t.url).get("/readyz").expect(200);
    await t.close();
    rmSync(join(dir, "now-loaded"));
    t = await startTestRuntime({ dir, role: "worker", dataDir: join(dir, "data-worker"), yaml });
    expect(existsSync(join(dir, "queued-loaded"))).toBe(true);
    expect(existsSync(join(dir, "now-loaded"))).toBe(false);
  });
});
