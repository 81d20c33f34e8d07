import { join } from "node:path";
import request from "supertest";
import { afterEach, describe, expect, it } from "vitest";
import { ErrorCode } from "../../runtime/errors.js";
import { PredictorsLoadError } from "../../runtime/runtime.js";
import { FIXTURE_PREDICTORS, startTestRuntime, type TestRuntime } from "../helpers/runtime-fixture.js";
import { waitUntil } from "../helpers/wait-until.js";

const slowSetup = join(FIXTURE_PREDICTORS, "slow-setup.ts");
let t: TestRuntime | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe("predictor setup and readiness", () => {
  it("answers /readyz 503 until every setup() finished, queues async work meanwhile, and runs it after", async () => {
    t = await startTestRuntime({
      waitReady: false,
      yaml: `
- name: slow-async
  kind: AsyncAPI
  predictor: { type: typescript, path: ${slowSetup}, config: { setup_ms: 800 } }
- name: slow-now
  kind: RealtimeAPI
  predictor: { type: typescript, path: ${slowSetup}, config: { setup_ms: 800 } }
`,
    });
    const notReady = await request(t.url).get("/readyz").expect(503);
    expect(notReady.body).toEqual({ ready: false, waiting_for_setup: ["slow-async", "slow-now"] });
    await request(t.url).get("/healthz").expect(200);

    const realtime = await request(t.url).post("/slow-now").set("content-type", "application/json").send("{}").expect(503);
    expect(realtime.body.error).toContain("still running its predictor's setup(); retry once GET /readyz answers 200");
    const queued = await request(t.url).post("/slow-async").set("content-type", "application/json").send("{}").expect(202);
    expect((await request(t.url).get(`/slow-async/${queued.body.id}`)).body.status).toBe("in_queue");

    await t.runtime.ready;
    await request(t.url).get("/readyz").expect(200);
    const done = await waitUntil("queued task ran after setup", async () => {
      const body = (await request(t!.url).get(`/slow-async/${queued.body.id}`)).body;
      return body.status === "completed" ? body : undefined;
    });
    expect(done.result).toBe("ready");
    expect((await request(t.url).post("/slow-now").set("content-type", "application/json").send("{}").expect(200)).body).toBe("ready");
  });

  it("rejects ready with the file and cause when a setup() fails", async () => {
    t = await startTestRuntime({
      waitReady: false,
      yaml: `
- name: broken
  kind: AsyncAPI
  predictor: { type: typescript, path: ${slowSetup}, config: { setup_ms: 10, fail_setup: "weights file missing" } }
`,
    });
    const error = await t.runtime.ready.then(() => undefined, (caught: unknown) => caught as Error & { code: string });
    expect(error?.code).toBe(ErrorCode.predictorSetup);
    expect(error?.message).toBe(`setup() of the predictor ${slowSetup} (API broken) failed: weights file missing`);
    expect((await request(t.url).get("/readyz").expect(503)).body.waiting_for_setup).toEqual(["broken"]);
  });

  it("refuses to start when predictors fail to load, naming every file and cause", async () => {
    const attempt = startTestRuntime({
      files: {
        "syntax.ts": "export default class P { predict( }",
        "empty.ts": "export const nothing = 1;",
      },
      yaml: `
- name: syntax
  kind: AsyncAPI
  predictor: { type: typescript, path: syntax.ts }
- name: fine
  kind: AsyncAPI
  predictor: { type: typescript, path: ${slowSetup} }
- name: empty
  kind: RealtimeAPI
  predictor: { type: typescript, path: empty.ts }
`,
    });
    const error = await attempt.then(() => undefined, (caught: unknown) => caught);
    expect(error).toBeInstanceOf(PredictorsLoadError);
    const lines = (error as PredictorsLoadError).message.split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^cannot load predictor .*syntax\.ts: importing it failed: line 1:\d+: /);
    expect(lines[1]).toMatch(/^cannot load predictor .*empty\.ts: it exports no class as default or as "Predictor" \(it exports: nothing\)/);
  });
});
