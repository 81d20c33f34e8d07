import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import request from "supertest";
import { afterAll, describe, expect, it } from "vitest";
import { startRecorder } from "../helpers/recorder.js";
import { REPO_ROOT } from "../helpers/runtime-fixture.js";
import { spawnCli, spawnServe } from "../helpers/spawn-runtime.js";
import { waitUntil } from "../helpers/wait-until.js";

const dir = mkdtempSync(join(tmpdir(), "serve-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeConfig(name: string, yaml: string): string {
  const file = join(dir, name);
  writeFileSync(file, yaml);
  return file;
}

describe("predictor-runtime serve", () => {
  it("--help lists every option and exits 0", async () => {
    const cli = spawnCli(["serve", "--help"]);
    expect((await cli.exited).code).toBe(0);
    for (const option of ["--config", "--port", "--host", "--data-dir", "--fsync", "--webhook-thread", "--log-level", "--grace-period-s", "--max-body-mib"]) {
      expect(cli.stdout()).toContain(option);
    }
  });

  it("exits 2 on bad usage", async () => {
    const cli = spawnCli(["serve", "--port", "http"]);
    expect((await cli.exited).code).toBe(2);
    expect(cli.stderr()).toContain("expected a whole number from 0 to 65535");
  });

  it("exits 2 on an invalid config, printing one line per problem and nothing else", async () => {
    const file = writeConfig("bad.yaml", `- name: sum\n  kind: AsyncAPI\n  predictor: { type: typescript, path: nowhere.ts, threads_per_process: 0 }\n  webhook: { timeout_s: soon }\n`);
    const cli = spawnCli(["serve", "--config", file, "--data-dir", join(dir, "data-bad")]);
    expect((await cli.exited).code).toBe(2);
    expect(cli.stderr()).toBe(
      `invalid config:\n${file}:3 apis[0].predictor.threads_per_process: must be >= 1\n${file}:4 apis[0].webhook.timeout_s: must be number\n`,
    );
  });

  it("exits 2 when a predictor cannot load, naming its file, and starts nothing", async () => {
    writeFileSync(join(dir, "broken.ts"), "export default 42;");
    const file = writeConfig("broken.yaml", `- name: broken\n  kind: AsyncAPI\n  predictor: { type: typescript, path: broken.ts }\n`);
    const cli = spawnCli(["serve", "--config", file, "--data-dir", join(dir, "data-broken")]);
    expect((await cli.exited).code).toBe(2);
    expect(cli.stderr()).toContain(`cannot load predictor ${join(dir, "broken.ts")}: it exports no class`);
    expect(cli.stderr()).not.toContain("serving");
  });

  it("serves the demo cortex.yaml from the checkout (what npm start runs)", async () => {
    const served = await spawnServe(["--data-dir", join(dir, "data-demo")]);
    try {
      await request(served.url).get("/readyz").expect(200);
      const response = await request(served.url).post("/sum-now").set("content-type", "application/json").send('{"x": 2, "y": "hello"}').expect(200);
      expect(response.body).toBe(7);
      // Fewer than 4 KiB of log lines so far: they reach stdout within a quarter second all the same.
      await waitUntil("the startup lines reach stdout", () => served.stdout().includes('"msg":"serving"'), 3000);
    } finally {
      served.child.kill("SIGTERM");
      expect((await served.exited).code).toBe(0);
    }
  });

  it.each(["worker", "main"])("on SIGTERM stops accepting, lets running predictions finish, sends their reports, then exits 0 (--webhook-thread %s)", async (webhookThread) => {
    const receiver = await startRecorder();
    const file = writeConfig(
      `graceful-${webhookThread}.yaml`,
      `- name: hello
  kind: AsyncAPI
  predictor: { type: typescript, path: ${join(REPO_ROOT, "predictors/hello.ts")}, config: { delay_ms: 1500 } }
  webhook:
    post_inference_hooks: [callback]
    default_callback_url: ${receiver.url}/hook
    allow_networks: [127.0.0.0/8]
`,
    );
    const served = await spawnServe(["--config", file, "--data-dir", join(dir, `data-graceful-${webhookThread}`), "--webhook-thread", webhookThread]);
    try {
      const { id } = (await request(served.url).post("/hello").set("content-type", "application/json").send("{}").expect(202)).body as { id: string };
      await waitUntil("the task runs", async () => (await request(served.url).get(`/hello/${id}`)).body.status === "in_progress");
      served.child.kill("SIGTERM");
      await waitUntil("shutdown begins", () => served.stderr().includes("SIGTERM: finishing running predictions"));
      const refused = await request(served.url).post("/hello").set("content-type", "application/json").send("{}").then(
        (response) => response.status,
        () => "connection refused",
      );
      expect([503, "connection refused"]).toContain(refused);
      const exit = await served.exited;
      expect(exit.code).toBe(0);
      // Log lines are written in blocks; the last block is written on exit.
      expect(served.stdout().trimEnd().split("\n").at(-1)).toContain('"msg":"stopped"');
      // The report went out before the process ended.
      expect(receiver.requests.map((r) => r.json)).toEqual([{ id, status: "completed", result: { data: "hello" }, timestamp: expect.any(String) }]);
    } finally {
      served.child.kill("SIGKILL");
      await receiver.close();
    }
  });

  it("keeps serving when a predictor leaves a stray rejected promise behind", async () => {
    writeFileSync(
      join(dir, "stray.ts"),
      `export default class Stray { predict() { Promise.reject(new Error("stray background failure")); setTimeout(() => { throw new Error("stray timer failure"); }, 1); return "ok"; } }`,
    );
    const file = writeConfig("stray.yaml", `- name: stray\n  kind: RealtimeAPI\n  predictor: { type: typescript, path: stray.ts }\n`);
    const served = await spawnServe(["--config", file, "--data-dir", join(dir, "data-stray")]);
    try {
      await request(served.url).post("/stray").set("content-type", "application/json").send("{}").expect(200);
      await waitUntil("both stray errors are logged", () => served.stdout().includes("stray background failure") && served.stdout().includes("stray timer failure"));
      await request(served.url).get("/healthz").expect(200);
      expect(served.child.exitCode).toBeNull();
    } finally {
      served.child.kill("SIGTERM");
      await served.exited;
    }
  });
});
