import Database from "better-sqlite3";
import { join } from "node:path";
import request from "supertest";
import { afterEach, describe, expect, it } from "vitest";
import { api, FIXTURE_PREDICTORS, startTestRuntime, type TestRuntime } from "../helpers/runtime-fixture.js";
import { waitUntil } from "../helpers/wait-until.js";

const echo = join(FIXTURE_PREDICTORS, "echo.ts");
let t: TestRuntime | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe("payloads stored as they arrived", () => {
  it("stores a Cortex body's JSON text as sent (no second serialization), and predict() still gets the parsed value", async () => {
    t = await startTestRuntime({ yaml: api(`name: echo\nkind: AsyncAPI\npredictor: { type: typescript, path: ${echo} }`) });
    const sent = '{\n  "image": "aGVsbG8=",\n  "n": 1.50\n}';
    const id = (await request(t.url).post("/echo").set("content-type", "application/json").send(sent).expect(202)).body.id as string;
    const done = await waitUntil("the task finished", async () => {
      const status = (await request(t!.url).get(`/echo/${id}`)).body as { status: string; result?: unknown };
      return status.status === "completed" && status;
    });
    expect(done.result).toMatchObject({ payload: { image: "aGVsbG8=", n: 1.5 } });
    await t.runtime.close(); // The database is locked while the runtime runs; t.close() then removes the folder.
    const db = new Database(join(t.dataDir, "runtime.sqlite"), { readonly: true });
    try {
      expect((db.prepare("SELECT payload FROM tasks WHERE id = ?").get(id) as { payload: string }).payload).toBe(sent);
    } finally {
      db.close();
    }
  });
});
