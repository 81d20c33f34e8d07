/**
 * A task store that stops answering (issue 12): the SQLite thread blocked, as a hung disk blocks it. Requests that
 * need the store fail with 503 after the deadline instead of hanging, /healthz and /readyz answer 503 meanwhile,
 * and everything recovers once the store answers again.
 */
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SqliteTaskStore } from "../../runtime/store/sqlite-task-store.js";
import { api, FIXTURE_PREDICTORS, startTestRuntime, type TestRuntime } from "../helpers/runtime-fixture.js";
import { waitUntil } from "../helpers/wait-until.js";

const echo = join(FIXTURE_PREDICTORS, "echo.ts");
let t: TestRuntime | undefined;
afterEach(async () => {
  await t?.close(0);
  t = undefined;
});

async function call(path: string, body?: string): Promise<{ status: number; json: Record<string, unknown>; retryAfter: string | null }> {
  const response = await fetch(t!.url + path, {
    method: body === undefined ? "GET" : "POST",
    ...(body === undefined ? {} : { body, headers: { "content-type": "application/json" } }),
    signal: AbortSignal.timeout(5_000),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown>, retryAfter: response.headers.get("retry-after") };
}

describe("a task store call past its deadline", () => {
  it("fails its request with 503, turns health to 503, and recovers when the store answers again", async () => {
    const store = new SqliteTaskStore({ dataDir: ":memory:", callDeadlineMs: 300 });
    t = await startTestRuntime({ yaml: api(`name: echo\nkind: AsyncAPI\npredictor: { type: typescript, path: ${echo} }`), store });
    const accepted = await call("/echo", '{"x": 1}');
    expect(accepted.status).toBe(202);

    const stall = store.simulateEngineStall(5_000);
    const started = Date.now();
    const submit = await call("/echo", '{"x": 2}');
    expect(submit.status).toBe(503);
    expect(submit.retryAfter).toBe("1");
    expect(String(submit.json.error)).toMatch(/task store failed or did not answer in time/);
    // Refused at the deadline, not when the store answers again: the request never hangs on a stuck store.
    expect(Date.now() - started).toBeLessThan(4_000);
    const read = await call(`/echo/${String(accepted.json.id)}`);
    expect(read.status).toBe(503);
    const health = await call("/healthz");
    expect(health.status).toBe(503);
    expect(String(health.json.error)).toMatch(/has not answered/);
    expect((await call("/readyz")).status).toBe(503);
    expect(t.logLines.some((line) => line.includes("has not answered"))).toBe(true);

    await stall;
    await waitUntil("health answers 200 again", async () => (await call("/healthz")).status === 200);
    expect((await call("/readyz")).status).toBe(200);
    const later = await call("/echo", '{"x": 3}');
    expect(later.status).toBe(202);
    await waitUntil("a task submitted after the stall completes", async () => (await call(`/echo/${String(later.json.id)}`)).json.status === "completed");
    expect((await call(`/echo/${String(accepted.json.id)}`)).status).toBe(200);
  });
});

describe("shutting down while the task store does not answer", () => {
  it("ends within the deadline instead of waiting for the store forever", async () => {
    const store = new SqliteTaskStore({ dataDir: ":memory:", callDeadlineMs: 300 });
    t = await startTestRuntime({ yaml: api(`name: echo\nkind: AsyncAPI\npredictor: { type: typescript, path: ${echo} }`), store });
    expect((await call("/echo", '{"x": 1}')).status).toBe(202);
    void store.simulateEngineStall(60_000).catch(() => undefined);
    expect((await call("/echo", '{"x": 2}')).status).toBe(503);
    const started = Date.now();
    await t.close(0);
    t = undefined;
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
