import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import request from "supertest";
import { afterAll, expect, it } from "vitest";
import { startRecorder } from "../helpers/recorder.js";
import { spawnServe } from "../helpers/spawn-runtime.js";
import { waitUntil } from "../helpers/wait-until.js";

const project = mkdtempSync(join(tmpdir(), "someone-elses-project-"));
afterAll(() => rmSync(project, { recursive: true, force: true }));

it("serves a predictor written to contract section 2 from the user's own folder and cortex.yaml; reports carry the exact section 4 bodies", async () => {
  // Their layout mirrors the contract: predictors/ beside cortex.yaml, no package.json, nothing of ours nearby.
  mkdirSync(join(project, "predictors"));
  writeFileSync(
    join(project, "predictors/sum.ts"),
    `// predictors/sum.ts
import type { Predictor } from "../runtime/index.js";
export default class SumPredictor implements Predictor<{ x: number; y: string }, number> {
  constructor(private readonly config: Record<string, unknown>) {}
  async setup?(): Promise<void> {}                      // optional, awaited once before ready
  predict(payload: { x: number; y: string }, requestId: string): number | Promise<number> {
    return payload.x + payload.y.length;
  }
}
`,
  );
  writeFileSync(
    join(project, "predictors/strict.ts"),
    `export class Predictor {
  async predict(payload: { x?: unknown }): Promise<number> {
    if (typeof payload.x !== "number") throw new Error("x must be a number");
    return payload.x;
  }
}
`,
  );
  const receiver = await startRecorder();
  writeFileSync(
    join(project, "cortex.yaml"),
    `- name: sum
  kind: AsyncAPI
  predictor:
    type: typescript
    path: predictors/sum.ts
    config: { offset: 0 }
  webhook:
    post_inference_hooks: [callback]
    default_callback_url: ${receiver.url}/hook
    allow_networks: [127.0.0.0/8]
- name: strict
  kind: AsyncAPI
  predictor:
    type: typescript
    path: predictors/strict.ts
  webhook:
    post_inference_hooks: [callback]
    default_callback_url: ${receiver.url}/hook
    allow_networks: [127.0.0.0/8]
`,
  );
  const served = await spawnServe([], { cwd: project });
  try {
    const json = (api: string, body: string) => request(served.url).post(`/${api}`).set("content-type", "application/json").send(body).expect(202);
    const completed = (await json("sum", '{"x": 2, "y": "hello"}')).body.id as string;
    const failed = (await json("strict", '{"x": "two"}')).body.id as string;
    await receiver.waitFor(2);
    const byId = new Map(receiver.requests.map((r) => [(r.json as { id: string }).id, r]));
    const completedReport = byId.get(completed)!;
    const failedReport = byId.get(failed)!;
    const { timestamp: completedAt } = completedReport.json as { timestamp: string };
    const { timestamp: failedAt } = failedReport.json as { timestamp: string };
    expect(completedReport.body).toBe(`{"id":"${completed}","status":"completed","result":7,"timestamp":"${completedAt}"}`);
    expect(failedReport.body).toBe(`{"id":"${failed}","status":"failed","error":"x must be a number","timestamp":"${failedAt}"}`);
    for (const stamp of [completedAt, failedAt]) expect(stamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const status = await waitUntil("status shows delivery", async () => {
      const body = (await request(served.url).get(`/sum/${completed}`)).body;
      return body.webhook?.status === "delivered" ? body : undefined;
    });
    expect(status).toMatchObject({ id: completed, status: "completed", result: 7, timestamp: completedAt });
  } finally {
    served.child.kill("SIGTERM");
    await served.exited;
    await receiver.close();
  }
});
