/**
 * Tracebacks carry the predictor's own frames only (issue 12): a predictor outside the checkout, with no
 * package.json nearby (so it compiles to CommonJS), throws from a helper; the Launch status and its failed report
 * name the file and line, with no data: URL, no runtime-internal path and no Node internals.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../helpers/runtime-fixture.js";
import { startRuntimeProcess, type RuntimeProcess } from "../helpers/runtime-process.js";
import { waitUntil } from "../helpers/wait-until.js";

const dir = mkdtempSync(join(tmpdir(), "traceback-"));
const predictorFile = join(dir, "thrower.ts");
let runtime: RuntimeProcess;
let receiver: Server;
const reports: string[] = [];

beforeAll(async () => {
  writeFileSync(
    predictorFile,
    `export default class Thrower {
  predict(payload: any): unknown {
    return helper(payload);
  }
}
function helper(payload: any): never {
  throw new Error("cannot predict " + JSON.stringify(payload));
}
`,
  );
  receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      reports.push(body);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const config = join(dir, "cortex.yaml");
  writeFileSync(
    config,
    `- name: thrower
  kind: AsyncAPI
  predictor: { type: typescript, path: ${predictorFile} }
  webhook:
    post_inference_hooks: [callback]
    default_callback_url: http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook
    allow_networks: [127.0.0.0/8]
`,
  );
  runtime = await startRuntimeProcess({ config, dataDir: join(dir, "data"), logFile: join(dir, "log") });
}, 60_000);

afterAll(async () => {
  await runtime?.kill("SIGKILL");
  await new Promise((resolve) => receiver?.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

describe("a predictor's traceback", () => {
  it("names the predictor's file and lines and nothing of the runtime", async () => {
    const submitted = await fetch(`${runtime.url}/v1/async-tasks?model_endpoint_name=thrower`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ args: { x: 1 } }),
    });
    const { task_id: id } = (await submitted.json()) as { task_id: string };
    const status = await waitUntil("the task fails", async () => {
      const answer = (await (await fetch(`${runtime.url}/v1/async-tasks/${id}`)).json()) as { status: string; traceback?: string };
      return answer.status === "FAILURE" ? answer : undefined;
    });
    const report = await waitUntil("its report arrives", () => reports.find((text) => text.includes(id)));
    for (const traceback of [status.traceback!, (JSON.parse(report) as { traceback: string }).traceback]) {
      expect(traceback).toMatch(/^Error: cannot predict \{"x":1\}/);
      expect(traceback).toContain(`${predictorFile}:7`);
      expect(traceback).toContain(`${predictorFile}:3`);
      expect(traceback).not.toContain("data:");
      expect(traceback).not.toContain(join(REPO_ROOT, "runtime"));
      expect(traceback).not.toContain("node:internal");
      expect(traceback).not.toContain("node_modules");
      expect(traceback.length).toBeLessThan(1000);
    }
  });
});
