/**
 * The small mends of issue 12, against `serve` as a child process: gzip-bomb 413 with its number, a clear message for
 * a bad percent-encoding, 405 for TRACE, unknown or PHP-style query parameters refused by name, no
 * MaxListenersExceededWarning under many concurrent attempts and timed predictions, exit 2 for a port in use, and
 * "serving" printed only once setup() succeeded.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIXTURE_PREDICTORS } from "../helpers/runtime-fixture.js";
import { spawnServe, type SpawnedCli } from "../helpers/spawn-runtime.js";
import { waitUntil } from "../helpers/wait-until.js";

const dir = mkdtempSync(join(tmpdir(), "small-mends-"));
let served: SpawnedCli & { url: string };
let receiver: Server;
let delivered = 0;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    req.resume();
    req.on("end", () => setTimeout(() => (delivered++, res.writeHead(200).end()), 300));
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  writeFileSync(
    join(dir, "cortex.yaml"),
    `- name: echo
  kind: AsyncAPI
  predictor: { type: typescript, path: ${join(FIXTURE_PREDICTORS, "echo.ts")}, threads_per_process: 40, predict_timeout_s: 30 }
  webhook:
    post_inference_hooks: [callback]
    default_callback_url: http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook
    allow_networks: [127.0.0.0/8]
`,
  );
  served = await spawnServe(["--config", join(dir, "cortex.yaml"), "--data-dir", join(dir, "data")]);
}, 60_000);

afterAll(async () => {
  served?.child.kill("SIGKILL");
  await new Promise((resolve) => receiver?.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

async function call(path: string, init: RequestInit = {}): Promise<{ status: number; json: { error?: string }; headers: Headers }> {
  const response = await fetch(served.url + path, init);
  return { status: response.status, json: (await response.json()) as { error?: string }, headers: response.headers };
}

const json = { "content-type": "application/json" };

describe("small mends", () => {
  it("a gzip bomb gets 413 saying the limit in bytes", async () => {
    const bomb = gzipSync(Buffer.from(`[${"0,".repeat(6_000_000)}0]`));
    const answer = await call("/echo", { method: "POST", headers: { ...json, "content-encoding": "gzip" }, body: bomb });
    expect(answer.status).toBe(413);
    expect(answer.json.error).toContain("larger than the limit of 10485760 bytes");
    expect(answer.json.error).not.toContain("over bytes");
  });

  it("a bad percent-encoding in the path says so", async () => {
    const answer = await call("/echo/%E0%A4%A");
    expect(answer.status).toBe(400);
    expect(answer.json.error).toMatch(/URL path is not valid percent-encoding/);
  });

  it("TRACE (and other methods no route answers) get 405 with Allow", async () => {
    for (const [method, path] of [["TRACE", "/echo"], ["PATCH", "/echo"], ["PUT", "/healthz"]] as const) {
      // undici, unlike fetch, sends TRACE.
      const answer = await request(served.url + path, { method });
      expect(answer.statusCode, `${method} ${path}`).toBe(405);
      expect(answer.headers.allow).toBe("GET, HEAD, POST, DELETE");
      expect(((await answer.body.json()) as { error: string }).error).toContain(`method ${method} is not allowed`);
    }
  });

  it("refuses unknown query parameters and callback_url[] by name", async () => {
    const unknown = await call("/echo?callbak_url=https://example.com/hook", { method: "POST", headers: json, body: "{}" });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error).toBe('unknown query parameter "callbak_url"; this route takes only callback_url');
    const php = await call("/echo?callback_url[]=https://example.com/hook", { method: "POST", headers: json, body: "{}" });
    expect(php.status).toBe(400);
    expect(php.json.error).toMatch(/give the callback_url query parameter once, as callback_url=VALUE \(not callback_url\[\]\)/);
    const launch = await call("/v1/async-tasks?model_endpoint_name=echo&priority=1", { method: "POST", headers: json, body: '{"args": 1}' });
    expect(launch.status).toBe(400);
    expect(launch.json.error).toMatch(/unknown query parameter "priority"/);
    expect((await call("/echo/some-id?verbose=1")).status).toBe(400);
  });

  it("runs 60 timed predictions and their slow reports at once without a MaxListenersExceededWarning", async () => {
    const before = delivered;
    await Promise.all(Array.from({ length: 60 }, () => call("/echo", { method: "POST", headers: json, body: '{"delay_ms": 200}' })));
    await waitUntil("every report is delivered", () => delivered - before >= 60, 20_000);
    expect(served.stderr()).not.toContain("MaxListenersExceededWarning");
  }, 30_000);

  it("exits 2 when the port is in use, as receiver does", async () => {
    const port = new URL(served.url).port;
    const second = await import("../helpers/spawn-runtime.js").then(({ spawnCli }) =>
      spawnCli(["serve", "--config", join(dir, "cortex.yaml"), "--data-dir", join(dir, "data-2"), "--port", port]),
    );
    expect((await second.exited).code).toBe(2);
    expect(second.stderr()).toContain(`port ${port}`);
  }, 20_000);

  it("prints serving only once setup() succeeded; a failing setup() exits 2 (a predictor problem, like a load error) without it", async () => {
    const config = join(dir, "failing.yaml");
    writeFileSync(
      config,
      `- name: slow
  kind: AsyncAPI
  predictor: { type: typescript, path: ${join(FIXTURE_PREDICTORS, "slow-setup.ts")}, config: { setup_ms: 1500, fail_setup: "no model file" } }
`,
    );
    const { spawnCli } = await import("../helpers/spawn-runtime.js");
    const failing = spawnCli(["serve", "--config", config, "--data-dir", join(dir, "data-3"), "--port", "0"]);
    expect((await failing.exited).code).toBe(2);
    expect(failing.stderr()).toContain("no model file");
    expect(failing.stderr()).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+; waiting for every predictor's setup\(\)/);
    expect(failing.stderr()).not.toContain("serving");
  }, 20_000);
});
