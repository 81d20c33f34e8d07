// `predictor-runtime init` from the checkout: what it writes and what it refuses. Serving what it writes, from the
// installed package, is test/package/installed-package.test.ts.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { afterAll, expect, it } from "vitest";
import { spawnCli } from "../helpers/spawn-runtime.js";

const root = mkdtempSync(join(tmpdir(), "init-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function init(args: string[], cwd = root) {
  const cli = spawnCli(["init", ...args], { cwd });
  const { code } = await cli.exited;
  return { code, stdout: cli.stdout(), stderr: cli.stderr() };
}

it("--python writes a Cortex PythonPredictor that runs unchanged, a cortex.yaml of type python and a package.json whose start script serves it", async () => {
  const result = await init(["Text Python", "--python"]);
  expect(result.code, result.stderr).toBe(0);
  const dir = join(root, "Text Python");
  expect(readdirSync(dir).sort()).toEqual(["cortex.yaml", "package.json", "predictor.py"]);
  expect(result.stdout).toContain("cd 'Text Python'\n");

  const apis = parse(readFileSync(join(dir, "cortex.yaml"), "utf8")) as Array<{ name: string; kind: string; predictor: Record<string, unknown> }>;
  expect(apis.map((api) => [api.name, api.kind])).toEqual([
    ["text-python", "AsyncAPI"],
    ["text-python-now", "RealtimeAPI"],
  ]);
  for (const api of apis) expect(api.predictor).toMatchObject({ type: "python", path: "predictor.py", config: { suffix: "!" } });
  const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { scripts: Record<string, string>; dependencies: Record<string, string> };
  expect(manifest.scripts.start).toBe("predictor-runtime serve --config cortex.yaml");
  expect(Object.keys(manifest.dependencies)).toEqual(["predictor-runtime"]);

  // The predictor as Cortex would run it: PythonPredictor(config), then predict(payload, request_id).
  const python = spawnSync(
    "python3",
    [
      "-c",
      [
        "import json, sys",
        "sys.path.insert(0, sys.argv[1])",
        "from predictor import PythonPredictor",
        'p = PythonPredictor({"suffix": "!"})',
        'print(json.dumps(p.predict({"text": "hello predictor runtime"}, "id-1")))',
        "try:\n    p.predict({}, 'id-2')\nexcept ValueError as e:\n    print(e)",
      ].join("\n"),
      dir,
    ],
    { encoding: "utf8" },
  );
  expect(python.stderr).toBe("");
  expect(python.stdout.split("\n")).toEqual(['{"words": 3, "shout": "HELLO PREDICTOR RUNTIME!"}', 'expected a JSON body like {"text": "hello"}', ""]);
});

it("writes the TypeScript project into the current folder by default, naming the API after the folder", async () => {
  const dir = join(root, "sentiment_v2");
  mkdirSync(dir);
  const result = await init([], dir);
  expect(result.code, result.stderr).toBe(0);
  expect(readdirSync(dir).sort()).toEqual(["cortex.yaml", "package.json", "predictor.ts", "tsconfig.json"]);
  expect(result.stdout).not.toContain("cd ");
  expect(result.stdout).toContain("curl -s -X POST localhost:8888/sentiment-v2-now ");
  const apis = parse(readFileSync(join(dir, "cortex.yaml"), "utf8")) as Array<{ name: string }>;
  expect(apis.map((api) => api.name)).toEqual(["sentiment-v2", "sentiment-v2-now"]);
  expect(readFileSync(join(dir, "predictor.ts"), "utf8")).toContain('import type { PredictContext, Predictor } from "predictor-runtime";');
});

it("refuses to overwrite any existing file, names each one, exits 2 and writes nothing", async () => {
  const dir = join(root, "taken");
  mkdirSync(dir);
  writeFileSync(join(dir, "package.json"), '{"name": "mine"}');
  writeFileSync(join(dir, "predictor.ts"), "// mine");
  const result = await init([dir]);
  expect(result.code).toBe(2);
  expect(result.stderr).toContain(`refusing to overwrite predictor.ts, package.json in ${dir}`);
  expect(readdirSync(dir).sort()).toEqual(["package.json", "predictor.ts"]);
  expect(readFileSync(join(dir, "package.json"), "utf8")).toBe('{"name": "mine"}');
});

it("refuses an API name the runtime would refuse, saying what a name may be", async () => {
  const result = await init([join(root, "named"), "--name", "metrics"]);
  expect(result.code).toBe(2);
  expect(result.stderr).toContain('"metrics" cannot be an API name: use 1 to 59 of a-z, 0-9 and -');
  expect(existsSync(join(root, "named"))).toBe(false);
});
