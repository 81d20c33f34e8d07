// The package as a user gets it: `npm pack`, the tarball installed into a new project outside the checkout, then
// what the README promises from there: the types in a strict type-check, `init` (TypeScript and --python),
// `npm start`, the curl lines init prints, and the toolkit imported from `predictor-runtime/toolkit` in a node:test
// file (plain Node, no tsx).
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../helpers/runtime-fixture.js";
import { waitUntil } from "../helpers/wait-until.js";

const curlRequired = process.env.REQUIRE_CURL_TESTS === "1";
const curlMissing = spawnSync("curl", ["--version"]).error !== undefined;
if (curlMissing && !curlRequired) {
  console.warn("SKIPPING the test of init's curl lines: curl is missing (apt-get install curl; CI sets REQUIRE_CURL_TESTS=1 to make this a failure)");
}

const pythonFound = spawnSync("python3", ["--version"]).status === 0;
if (!pythonFound) {
  if (process.env.REQUIRE_PYTHON_TESTS === "1") throw new Error("REQUIRE_PYTHON_TESTS=1 but python3 is not on PATH");
  console.warn("SKIPPING the installed package's Python project test: python3 is not on PATH (install python3; .ci/run does)");
}

const checkout = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string; devDependencies: Record<string, string> };
// Under a dot folder, as where `npx predictor-runtime` runs the package from (~/.npm/_npx/...): file serving that
// refuses dot segments in the whole path would 404 the console there.
const tempRoot = mkdtempSync(join(tmpdir(), "predictor-runtime-user-"));
const project = join(tempRoot, ".hidden", "project");
mkdirSync(project, { recursive: true });
const service = join(project, "svc");
const timings: Record<string, number> = {};

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of a command a user types: no npm_package_* / npm_lifecycle_* left over from our `npm test`. */
function userEnvironment(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(npm_package_|npm_lifecycle_|INIT_CWD$)/.test(key)) env[key] = value;
  }
  return { ...env, ...extra };
}

function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: userEnvironment(options.env) });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

async function timed<T>(step: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await work();
  } finally {
    timings[step] = Math.round(performance.now() - started);
  }
}

/** The user's own `npm start`, with `-- --port 0` so parallel runs never collide on 8888; resolves once /readyz is 200. */
async function npmStart(cwd: string): Promise<string> {
  const child = spawn("npm", ["start", "--", "--port", "0"], { cwd, env: userEnvironment(), detached: true });
  started.push(child);
  let log = "";
  child.stdout.on("data", (chunk: Buffer) => (log += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (log += chunk.toString()));
  const url = await waitUntil("npm start prints the URL it serves", () => {
    if (child.exitCode !== null) throw new Error(`npm start exited ${child.exitCode}:\n${log}`);
    return /serving (http:\/\/\S+)/.exec(log)?.[1];
  });
  await waitUntil(`the APIs are ready (log so far:\n${log})`, async () => (await fetch(`${url}/readyz`)).ok);
  return url;
}

function sourceAssets(dir: string): string[] {
  return readdirSync(join(REPO_ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && !entry.name.endsWith(".ts"))
    .map((entry) => relative(REPO_ROOT, join(entry.parentPath, entry.name)))
    .filter((path) => !/(^|\/)(__pycache__|node_modules)\//.test(path)); // what the build leaves out
}

let packedFiles: string[] = [];
let initOutput = "";
let servedUrl = "";
const started: ReturnType<typeof spawn>[] = [];
let typecheck: Promise<Finished> = Promise.reject(new Error("init did not run"));
typecheck.catch(() => undefined);

beforeAll(async () => {
  const packed = await timed("npm pack (with the prepack build)", () =>
    run("npm", ["pack", "--json", "--ignore-scripts=false", "--pack-destination", project], { cwd: REPO_ROOT }),
  );
  expect(packed.code, packed.stderr).toBe(0);
  const [tarball] = JSON.parse(packed.stdout) as [{ filename: string; files: { path: string }[] }];
  packedFiles = tarball.files.map((file) => file.path);

  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "user-project", private: true, type: "module" }));
  // --prefer-offline: the tarballs npm ci fetched for the checkout are in npm's cache. --ignore-scripts skips
  // compiling better-sqlite3 (about 2.5 minutes on 2 cores): its addon, built once by the checkout's npm ci for the
  // same pinned version, is copied in below.
  const installed = await timed("npm install of the tarball", () =>
    run(
      "npm",
      [
        "install",
        "--prefer-offline",
        "--no-audit",
        "--no-fund",
        "--ignore-scripts",
        join(project, tarball.filename),
        `typescript@${checkout.devDependencies["typescript"]}`,
        `@types/node@${checkout.devDependencies["@types/node"]}`,
      ],
      { cwd: project },
    ),
  );
  expect(installed.code, installed.stderr).toBe(0);
  const addon = "node_modules/better-sqlite3/build/Release/better_sqlite3.node";
  const versionOf = (root: string): string => (JSON.parse(readFileSync(join(root, "node_modules/better-sqlite3/package.json"), "utf8")) as { version: string }).version;
  expect(versionOf(project)).toBe(versionOf(REPO_ROOT));
  mkdirSync(join(project, "node_modules/better-sqlite3/build/Release"), { recursive: true });
  copyFileSync(join(REPO_ROOT, addon), join(project, addon));
}, 300_000);

afterAll(async () => {
  for (const child of started) {
    if (child.pid === undefined || child.exitCode !== null) continue;
    const exited = new Promise((resolve) => child.on("exit", resolve));
    process.kill(-child.pid, "SIGTERM"); // npm start -> sh -> node: the whole group it leads
    await exited;
  }
  console.info(`package test timings (ms): ${JSON.stringify(timings)}`);
  rmSync(tempRoot, { recursive: true, force: true });
}, 60_000);

describe("the packed tarball", () => {
  it("holds the compiled code, its declarations, every non-TypeScript asset of runtime/ and toolkit/, README and LICENSE; no test, bench, CI or source file", () => {
    expect(packedFiles).toEqual(expect.arrayContaining(["README.md", "LICENSE", "package.json", "bin/predictor-runtime.js"]));
    expect(packedFiles).toEqual(expect.arrayContaining(["dist/runtime/index.js", "dist/runtime/index.d.ts", "dist/toolkit/index.js", "dist/toolkit/index.d.ts"]));
    const assets = [...sourceAssets("runtime"), ...sourceAssets("toolkit")];
    expect(assets.length).toBeGreaterThan(0);
    expect(packedFiles).toEqual(expect.arrayContaining(assets.map((asset) => `dist/${asset}`)));
    const unwanted = packedFiles.filter((path) => /^(test|bench|\.ci|scripts|predictors|runtime|toolkit)\/|^tsconfig|^vitest|\.test\.|\.tgz$/.test(path));
    expect(unwanted).toEqual([]);
  });
});

describe("a user's project with the tarball installed", () => {
  it("init writes cortex.yaml, a typed predictor, tsconfig.json and package.json, prints the next commands, and refuses to overwrite them", async () => {
    const cli = join(project, "node_modules/.bin/predictor-runtime");
    const first = await run(process.execPath, [cli, "init", "svc"], { cwd: project });
    expect(first.code, first.stderr).toBe(0);
    initOutput = first.stdout;
    for (const file of ["cortex.yaml", "predictor.ts", "tsconfig.json", "package.json"]) expect(existsSync(join(service, file)), file).toBe(true);
    expect(initOutput).toContain("cd svc\n");
    expect(initOutput).toContain("npm start");

    const again = await run(process.execPath, [cli, "init", "svc"], { cwd: project });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("refusing to overwrite cortex.yaml, predictor.ts, tsconfig.json, package.json");

    // The type check takes longest (tsc over @types/node and our declarations): start it now, judge it last.
    writeFileSync(
      join(service, "typed-usage.ts"),
      `import type { Predictor } from "predictor-runtime";
import { runConformance, startReceiver, type ConformanceReport, type Delivery } from "predictor-runtime/toolkit";

export class Doubler implements Predictor<{ n: number }, number> {
  predict(payload: { n: number }): number {
    return payload.n * 2;
  }
}

export class Wrong implements Predictor<{ n: number }, string> {
  // @ts-expect-error predict() must return the declared Result type (proves the types are real, not any)
  predict(payload: { n: number }): number {
    return payload.n;
  }
}

export async function conforms(url: string): Promise<boolean> {
  const report: ConformanceReport = await runConformance({ url });
  return report.passed;
}

export async function firstBody(): Promise<unknown> {
  const receiver = await startReceiver({ port: 0 });
  const [delivery]: Delivery[] = await receiver.waitFor({ count: 1, timeoutMs: 1000 });
  await receiver.close();
  // @ts-expect-error a delivery has no "payload" field (body is)
  return delivery?.payload;
}
`,
    );
    const tsc = join(project, "node_modules/typescript/bin/tsc");
    typecheck = timed("tsc --strict of the user's project", () =>
      run(process.execPath, [tsc, "-p", "tsconfig.json", "--skipLibCheck", "false"], { cwd: service }),
    );
  });

  it("npm start serves the project init wrote", async () => {
    servedUrl = await timed("npm start until it is ready", () => npmStart(service));
    // Static files found through import.meta.url in dist/ (console) and through node_modules (swagger-ui).
    for (const path of ["/console", "/console/assets/console.js", "/docs", "/docs/assets/swagger-ui.css"]) {
      const answer = await fetch(`${servedUrl}${path}`);
      expect(answer.status, path).toBe(200);
      expect((await answer.text()).length, path).toBeGreaterThan(100);
    }
  });

  it.skipIf(curlMissing && !curlRequired)("the curl lines init printed work against it", async () => {
    const port = new URL(servedUrl).port;
    const curlLines = initOutput
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line.startsWith("curl "))
      .map((line) => line.replace(/#.*$/, "").trim().replaceAll("localhost:8888", `localhost:${port}`));
    expect(curlLines).toHaveLength(3);
    const [realtime, submit, poll] = curlLines as [string, string, string];
    const shell = (line: string) => run("sh", ["-c", line], { cwd: service });

    const answer = await shell(realtime);
    expect(answer.code, answer.stderr).toBe(0);
    expect(JSON.parse(answer.stdout)).toEqual({ words: 3, shout: "HELLO PREDICTOR RUNTIME!" });

    const submitted = await shell(submit);
    const { id } = JSON.parse(submitted.stdout) as { id: string };
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const status = await waitUntil("the queued task completes", async () => {
      const polled = JSON.parse((await shell(poll.replace("/ID", `/${id}`))).stdout) as { status: string };
      return polled.status === "completed" ? polled : undefined;
    });
    expect(status).toMatchObject({ id, status: "completed", result: { words: 3, shout: "HELLO PREDICTOR RUNTIME!" } });
  });

  it("a node:test file receives a task's webhook with the toolkit receiver and runs the conformance suite", async () => {
    writeFileSync(
      join(service, "webhook.test.mjs"),
      `import assert from "node:assert/strict";
import { test } from "node:test";
import { runConformance, startReceiver } from "predictor-runtime/toolkit";

const runtimeUrl = process.env.RUNTIME_URL;

test("the webhook report of a task reaches my receiver", async () => {
  const receiver = await startReceiver();
  try {
    const callback = encodeURIComponent(receiver.url + "/hook");
    const answer = await fetch(runtimeUrl + "/svc?callback_url=" + callback, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: "from node test" }),
    });
    assert.equal(answer.status, 202);
    const { id } = await answer.json();
    const [delivery] = await receiver.waitFor({ count: 1, timeoutMs: 20000 });
    assert.equal(delivery.path, "/hook");
    assert.equal(delivery.body.id, id);
    assert.equal(delivery.body.status, "completed");
    assert.deepEqual(delivery.body.result, { words: 3, shout: "FROM NODE TEST!" });
  } finally {
    await receiver.close();
  }
});

test("my receiver passes the conformance suite", async () => {
  const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const receiver = await startReceiver({ secret });
  try {
    const report = await runConformance({ url: receiver.url + "/hook", secret });
    assert.deepEqual(report.checks.filter((check) => check.verdict === "fail"), []);
    assert.equal(report.passed, true);
    assert.ok(report.checks.some((check) => check.id.startsWith("signature.") && check.verdict === "pass"));
  } finally {
    await receiver.close();
  }
});
`,
    );
    const tested = await timed("node --test with the toolkit", () =>
      run(process.execPath, ["--test", "webhook.test.mjs"], { cwd: service, env: { RUNTIME_URL: servedUrl } }),
    );
    expect(tested.code, tested.stdout + tested.stderr).toBe(0);
    expect(tested.stdout).toMatch(/^# pass 2$/m);
    expect(tested.stdout).toMatch(/^# fail 0$/m);
  }, 60_000);

  it.skipIf(!pythonFound)("init --python writes a project whose npm start serves predictor.py (the Python host ships in the package)", async () => {
    const cli = join(project, "node_modules/.bin/predictor-runtime");
    const written = await run(process.execPath, [cli, "init", "pysvc", "--python"], { cwd: project });
    expect(written.code, written.stderr).toBe(0);
    const url = await timed("npm start of the Python project until it is ready", () => npmStart(join(project, "pysvc")));
    const realtime = written.stdout.split("\n").find((line) => line.includes("curl -s -X POST") && line.includes("/pysvc-now"));
    expect(realtime).toBeDefined();
    const body = /-d '([^']*)'/.exec(realtime!)?.[1] ?? "";
    const answer = await fetch(`${url}/pysvc-now`, { method: "POST", headers: { "content-type": "application/json" }, body });
    expect(await answer.json()).toEqual({ words: 3, shout: "HELLO PREDICTOR RUNTIME!" });
  }, 60_000);

  it("type-checks (strict, declarations included) predictors importing predictor-runtime and code importing predictor-runtime/toolkit", async () => {
    // Started right after init, so it runs while the runtime is served and used.
    const checked = await typecheck;
    expect(checked.stdout + checked.stderr).toBe("");
    expect(checked.code).toBe(0);
    expect(JSON.parse(readFileSync(join(service, "tsconfig.json"), "utf8")).compilerOptions.strict).toBe(true);
  }, 120_000);
});
