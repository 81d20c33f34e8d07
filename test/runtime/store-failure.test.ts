import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import request from "supertest";
import { afterEach, describe, expect, it } from "vitest";
import { ErrorCode, RuntimeError } from "../../runtime/errors.js";
import { SqliteTaskStore } from "../../runtime/store/sqlite-task-store.js";
import { api, FIXTURE_PREDICTORS, startTestRuntime, type TestRuntime } from "../helpers/runtime-fixture.js";
import { newTask } from "../store/task-store-contract.js";

// The SQLite engine runs in a worker thread. If that thread dies (a bug, an out-of-memory in its isolate), nothing
// can be stored any more: the runtime must say so and stop taking work, so a supervisor restarts it.

const echo = join(FIXTURE_PREDICTORS, "echo.ts");
const folders: string[] = [];
let t: TestRuntime | undefined;
afterEach(async () => {
  await t?.close(0);
  t = undefined;
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

function dataDir(): string {
  const folder = mkdtempSync(join(tmpdir(), "store-failure-"));
  folders.push(folder);
  return folder;
}

/** Whether `promise` settled within `ms`. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return Promise.race([promise.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))]);
}

describe("the SQLite engine's thread dying", () => {
  it("resolves the store's failure, and every later operation fails with STORAGE_ERROR", async () => {
    const store = new SqliteTaskStore({ dataDir: dataDir() });
    await store.open();
    await store.createTask(newTask({ api: "a" }));
    await store.simulateEngineCrash();

    const failure = await store.failure;
    expect(failure).toBeInstanceOf(RuntimeError);
    expect((failure as RuntimeError).code).toBe(ErrorCode.storage);
    expect(failure.message).toMatch(/worker thread exited/);
    await expect(store.createTask(newTask({ api: "a" }))).rejects.toMatchObject({ code: ErrorCode.storage });
    await store.close();
  });

  it("leaves the failure unsettled when the store is closed normally", async () => {
    const store = new SqliteTaskStore({ dataDir: dataDir() });
    await store.open();
    await store.createTask(newTask({ api: "a" }));
    await store.close();
    expect(await settlesWithin(store.failure, 200)).toBe(false);
  });

  it("fails /healthz and /readyz, refuses new tasks with 503, and closes without hanging", async () => {
    const store = new SqliteTaskStore({ dataDir: dataDir() });
    t = await startTestRuntime({
      yaml: api(`name: echo\nkind: AsyncAPI\npredictor: { type: typescript, path: ${echo} }`),
      store,
    });
    await request(t.url).post("/echo").set("content-type", "application/json").send("{}").expect(202);
    await request(t.url).get("/healthz").expect(200);

    await store.simulateEngineCrash();
    const cause = await t.runtime.failed;
    expect(cause.message).toMatch(/worker thread exited/);

    const health = await request(t.url).get("/healthz").expect(503);
    expect(health.body).toEqual({ status: "failed", error: cause.message });
    const ready = await request(t.url).get("/readyz").expect(503);
    expect(ready.body).toMatchObject({ ready: false, error: cause.message });
    const refused = await request(t.url).post("/echo").set("content-type", "application/json").send("{}").expect(503);
    expect(refused.body.error).toMatch(/takes no new work/);
    expect(t.logLines.some((line) => line.includes('"level":"fatal"') && line.includes("the task store stopped"))).toBe(true);

    expect(await settlesWithin(t.runtime.close(0), 5000)).toBe(true);
  });
});
