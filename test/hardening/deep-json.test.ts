/**
 * Poison pills (issue 12): JSON nested 2,000 and 100,000 levels deep, sent to every surface (Cortex, Launch, Modelbit), produced by predict(),
 * and left in the database by an older version (queued, completed, with a pending report), against `serve` as a
 * child process that is stopped and restarted. The runtime refuses what is too deep with a 400, fails what it
 * cannot carry with a clear error, and keeps answering throughout.
 */
import Database from "better-sqlite3";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIXTURE_PREDICTORS } from "../helpers/runtime-fixture.js";
import { startRuntimeProcess, type RuntimeProcess } from "../helpers/runtime-process.js";
import { waitUntil } from "../helpers/wait-until.js";

/** `{"a":{"a":...1...}}`, `levels` objects deep, as text (building it as a value would need recursion to send). */
function nestedText(levels: number): string {
  return '{"a":'.repeat(levels) + "1" + "}".repeat(levels);
}

const dir = mkdtempSync(join(tmpdir(), "deep-json-"));
const dataDir = join(dir, "data");
const configPath = join(dir, "cortex.yaml");
let runtime: RuntimeProcess;
let receiver: Server;
let receiverUrl: string;
const received: string[] = [];

async function call(path: string, init: { method?: string; body?: string } = {}): Promise<{ status: number; text: string }> {
  const response = await fetch(runtime.url + path, {
    method: init.method ?? (init.body === undefined ? "GET" : "POST"),
    ...(init.body === undefined ? {} : { body: init.body, headers: { "content-type": "application/json" } }),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, text: await response.text() };
}

async function start(): Promise<void> {
  runtime = await startRuntimeProcess({ config: configPath, dataDir, logFile: join(dir, "runtime.log") });
}

/** The runtime answers: health, a submit and its completion. */
async function expectAnswering(): Promise<void> {
  expect((await call("/healthz")).status).toBe(200);
  const submitted = await call("/deepen", { body: '{"levels": 3}' });
  expect(submitted.status).toBe(202);
  const id = (JSON.parse(submitted.text) as { id: string }).id;
  const done = await waitUntil("a small task completes", async () => {
    const status = JSON.parse((await call(`/deepen/${id}`)).text) as { status: string; result?: unknown };
    return status.status === "completed" ? status : undefined;
  });
  expect(done.result).toEqual({ a: { a: { a: 1 } } });
}

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (body += chunk));
    req.on("end", () => {
      received.push(body);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  writeFileSync(
    configPath,
    `
- name: deepen
  kind: AsyncAPI
  predictor: { type: typescript, path: ${join(FIXTURE_PREDICTORS, "deepen.ts")} }
  webhook:
    post_inference_hooks: [callback]
    default_callback_url: ${receiverUrl}
    allow_networks: [127.0.0.0/8]
    retry_schedule_s: [0, 0.2]
- name: deepen-now
  kind: RealtimeAPI
  predictor: { type: typescript, path: ${join(FIXTURE_PREDICTORS, "deepen.ts")} }
`,
  );
  await start();
}, 60_000);

afterAll(async () => {
  await runtime?.kill("SIGKILL");
  await new Promise((resolve) => receiver?.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

describe("JSON deeper than 256 levels", () => {
  for (const levels of [2_000, 100_000]) {
    it(`is refused with 400 on every surface at ${levels} levels, and the runtime keeps answering`, async () => {
      const body = nestedText(levels);
      for (const [path, sent] of [
        ["/deepen", body],
        ["/deepen-now", body],
        ["/v1/async-tasks?model_endpoint_name=deepen", `{"args":${body}}`],
        ["/v1/deepen/latest", `{"data":${body}}`],
        ["/v1/deepen-now/latest", `{"data":${body}}`],
      ] as const) {
        const answer = await call(path, { body: sent });
        expect(answer.status, path).toBe(400);
        expect(JSON.parse(answer.text).error, path).toMatch(/more than 256 levels/);
      }
      await expectAnswering();
    });
  }

  it("is accepted at exactly 256 levels, as sent (Launch's args wrapper counts as one)", async () => {
    const submitted = await call("/deepen", { body: nestedText(256) });
    expect(submitted.status).toBe(202);
    const launch = await call("/v1/async-tasks?model_endpoint_name=deepen", { body: `{"args":${nestedText(255)}}` });
    expect(launch.status).toBe(200);
    expect((await call("/v1/async-tasks?model_endpoint_name=deepen", { body: `{"args":${nestedText(256)}}` })).status).toBe(400);
    const id = (JSON.parse(submitted.text) as { id: string }).id;
    const done = await waitUntil("the 256-level task completes", async () => {
      const status = await call(`/deepen/${id}`);
      return status.text.includes('"completed"') ? status : undefined;
    });
    expect(done.text).toContain(nestedText(256));
  });

  for (const levels of [2_000, 100_000]) {
    it(`fails a task whose predict() returns ${levels} levels, with a clear error, and a report`, async () => {
      const submitted = await call("/deepen", { body: JSON.stringify({ levels }) });
      const id = (JSON.parse(submitted.text) as { id: string }).id;
      const failed = await waitUntil("the task fails", async () => {
        const status = JSON.parse((await call(`/deepen/${id}`)).text) as { status: string; error?: string; webhook?: { status: string } };
        return status.status === "failed" && status.webhook?.status === "delivered" ? status : undefined;
      });
      expect(failed.error).toMatch(/nested more than 256 levels|JSON cannot carry/);
      expect(received.some((report) => report.includes(id) && report.includes('"failed"'))).toBe(true);
      const realtime = await call("/deepen-now", { body: JSON.stringify({ levels }) });
      expect(realtime.status).toBeGreaterThanOrEqual(400);
      expect(realtime.status).toBeLessThan(600);
      expect(JSON.parse(realtime.text).error).toMatch(/nested more than 256 levels|JSON cannot carry/);
      // Modelbit answers a failed predict() with 200 {"error"}, as Modelbit does.
      const modelbit = await call("/v1/deepen-now/latest", { body: JSON.stringify({ data: { levels } }) });
      expect(modelbit.status).toBe(200);
      expect(JSON.parse(modelbit.text).error).toMatch(/nested more than 256 levels|JSON cannot carry/);
      await expectAnswering();
    });
  }
});

describe("deep JSON already in the database (written by an older version)", () => {
  it("fails queued tasks, serves completed ones and delivers their reports, across restarts", async () => {
    await runtime.kill("SIGTERM");
    const deep = nestedText(100_000);
    const db = new Database(join(dataDir, "runtime.sqlite"));
    const now = Date.now();
    const insertTask = db.prepare(
      "INSERT INTO tasks (id, api, format, payload, status, created_at, started_at, finished_at, outcome) VALUES (?, 'deepen', ?, ?, ?, ?, ?, ?, ?)",
    );
    const insertCortexTask = (...values: unknown[]): unknown => insertTask.run(values[0], "cortex", ...values.slice(1));
    insertCortexTask("queued-deep", deep, "in_queue", now, null, null, null);
    insertTask.run("queued-deep-launch", "launch", deep, "in_queue", now, null, null, null);
    insertCortexTask("running-deep", `{"b":${nestedText(2_000)}}`, "in_progress", now, now, null, null);
    insertCortexTask("queued-small", '{"levels": 1}', "in_queue", now, null, null, null);
    insertCortexTask("completed-deep", "{}", "completed", now, now, now, `{"status":"completed","result":${deep},"finishedAt":${now}}`);
    db.prepare(
      "INSERT INTO deliveries (task_id, api, url, body, webhook_id, status, attempts, next_attempt_at) VALUES ('completed-deep', 'deepen', ?, ?, 'msg_completed-deep', 'pending', 0, ?)",
    ).run(receiverUrl, `{"id":"completed-deep","status":"completed","result":${deep}}`, now);
    db.close();

    for (let restart = 0; restart < 2; restart++) {
      if (restart > 0) await runtime.kill("SIGKILL");
      await start();
      for (const id of ["queued-deep", "running-deep"]) {
        const failed = await waitUntil(`${id} fails`, async () => {
          const status = JSON.parse((await call(`/deepen/${id}`)).text) as { status: string; error?: string };
          return status.status === "failed" ? status : undefined;
        });
        expect(failed.error).toMatch(/more than 256 levels/);
      }
      const launchFailed = await waitUntil("the deep Launch task fails", async () => {
        const status = JSON.parse((await call("/v1/async-tasks/queued-deep-launch")).text) as { status: string; traceback?: string };
        return status.status === "FAILURE" ? status : undefined;
      });
      expect(launchFailed.traceback).toMatch(/more than 256 levels/);
      const small = await waitUntil("the small queued task completes", async () => {
        const status = JSON.parse((await call("/deepen/queued-small")).text) as { status: string; result?: unknown };
        return status.status === "completed" ? status : undefined;
      });
      expect(small.result).toEqual({ a: 1 });
      const completed = await call("/deepen/completed-deep");
      expect(completed.status).toBe(200);
      expect(completed.text).toContain(deep);
      const launch = await call("/v1/async-tasks/completed-deep");
      expect(launch.status).toBe(200);
      expect(launch.text.length).toBeGreaterThan(deep.length);
      await waitUntil("the deep report is delivered", () => received.some((report) => report.includes('"completed-deep"')));
      await expectAnswering();
    }
  }, 60_000);
});
