import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import request from "supertest";
import { afterEach, describe, expect, it } from "vitest";
import { PredictorsLoadError } from "../../runtime/runtime.js";
import { FIXTURE_PREDICTORS, startTestRuntime, type TestRuntime } from "../helpers/runtime-fixture.js";
import { spawnServe, spawnCli } from "../helpers/spawn-runtime.js";
import { waitUntil } from "../helpers/wait-until.js";

const pythonFound = spawnSync("python3", ["--version"]).status === 0;
if (!pythonFound) {
  if (process.env.REQUIRE_PYTHON_TESTS === "1") throw new Error("REQUIRE_PYTHON_TESTS=1 but python3 is not on PATH");
  console.warn("\n*** SKIPPING the Python host tests: python3 is not on PATH (install python3; .ci/run does) ***\n");
}

/** A Cortex predictor: __init__ counts itself in a file; predict() echoes, raises, spins or dies on request. */
const CORTEX_PREDICTOR = `
import os

def helper(value):
    raise ValueError("bad value: %s" % value)

class PythonPredictor:
    def __init__(self, config):
        self.prefix = config["prefix"]
        with open("inits.log", "a") as log:
            log.write("init\\n")

    def predict(self, payload):
        print("a print from predict() goes to the log, not the pipe")
        if payload.get("raise"):
            helper(payload["raise"])
        if payload.get("spin"):
            while True:
                pass
        if payload.get("exit_once") and not os.path.exists("exited"):
            open("exited", "w").close()
            os._exit(9)
        if payload.get("segfault_once") and not os.path.exists("segfaulted"):
            open("segfaulted", "w").close()
            import ctypes
            ctypes.string_at(0)
        return {"echo": payload, "prefix": self.prefix}
`;

const WITH_REQUEST_ID = `
class PythonPredictor:
    def __init__(self, config):
        pass

    def predict(self, payload, request_id):
        return {"request_id": request_id, "sum": sum(payload["xs"])}
`;

let t: TestRuntime | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const post = (url: string, name: string, payload: unknown) => request(url).post(`/${name}`).set("content-type", "application/json").send(JSON.stringify(payload));
async function finished(url: string, name: string, id: string): Promise<Record<string, unknown>> {
  return waitUntil(`task ${id} finished`, async () => {
    const body = (await request(url).get(`/${name}/${id}`)).body as Record<string, unknown>;
    return body.status === "completed" || body.status === "failed" ? body : undefined;
  });
}

describe.skipIf(!pythonFound)("Python host (Cortex PythonPredictor)", () => {
  it("runs predict(payload) and predict(payload, request_id), beside a TypeScript API in the same config", async () => {
    t = await startTestRuntime({
      files: { "cortex/predictor.py": CORTEX_PREDICTOR, "ids/predictor.py": WITH_REQUEST_ID },
      yaml: `
- name: echo
  kind: RealtimeAPI
  predictor: { type: python, path: cortex/predictor.py, config: { prefix: "p-" } }
- name: ids
  kind: AsyncAPI
  predictor: { type: python, path: ids/predictor.py, processes_per_replica: 2, threads_per_process: 2 }
- name: ts
  kind: RealtimeAPI
  predictor: { type: typescript, path: ${join(FIXTURE_PREDICTORS, "echo.ts")} }
`,
    });
    expect((await post(t.url, "echo", { text: "héllo", n: [1, 2.5] }).expect(200)).body).toEqual({ echo: { text: "héllo", n: [1, 2.5] }, prefix: "p-" });
    const id = (await post(t.url, "ids", { xs: [1, 2, 3] }).expect(202)).body.id as string;
    expect((await finished(t.url, "ids", id)).result).toEqual({ request_id: id, sum: 6 });
    await post(t.url, "ts", { a: 1 }).expect(200);
    // One __init__ per process; the predictor's print went to the log.
    expect(readFileSync(join(t.dir, "cortex/inits.log"), "utf8")).toBe("init\n");
    expect(t.logLines.some((line) => line.includes("a print from predict() goes to the log"))).toBe(true);
  });

  it("fails a task with the exception's message and the predictor's traceback, without the host's frames", async () => {
    t = await startTestRuntime({
      files: { "predictor.py": CORTEX_PREDICTOR },
      yaml: `
- name: echo
  kind: AsyncAPI
  predictor: { type: python, path: predictor.py, config: { prefix: "" } }
`,
    });
    const id = (await post(t.url, "echo", { raise: 42 }).expect(202)).body.id as string;
    const status = await finished(t.url, "echo", id);
    expect(status.status).toBe("failed");
    expect(status.error).toBe("ValueError: bad value: 42");
    // Launch's status shows the traceback.
    const launch = (await request(t.url).get(`/v1/async-tasks/${id}`)).body as { traceback?: string };
    const traceback = launch.traceback ?? "";
    expect(traceback).toContain(`File "${join(t.dir, "predictor.py")}", line 5, in helper`);
    expect(traceback).toContain("in predict");
    expect(traceback).not.toContain("host.py");
  });

  it("stops a spinning predict() at predict_timeout_s, replaces the process (__init__ again) and re-runs one that crashed (os._exit, segfault)", async () => {
    t = await startTestRuntime({
      files: { "predictor.py": CORTEX_PREDICTOR },
      yaml: `
- name: echo
  kind: AsyncAPI
  predictor: { type: python, path: predictor.py, config: { prefix: "" }, predict_timeout_s: 0.5 }
`,
    });
    const spin = (await post(t.url, "echo", { spin: true }).expect(202)).body.id as string;
    const status = await finished(t.url, "echo", spin);
    expect(status.error).toBe("predict() did not finish within predict_timeout_s (0.5 s)");
    await request(t.url).get("/healthz").expect(200);

    const crash = (await post(t.url, "echo", { exit_once: true, n: 1 }).expect(202)).body.id as string;
    expect((await finished(t.url, "echo", crash)).result).toEqual({ echo: { exit_once: true, n: 1 }, prefix: "" });
    const segfault = (await post(t.url, "echo", { segfault_once: true }).expect(202)).body.id as string;
    expect((await finished(t.url, "echo", segfault)).status).toBe("completed");
    // Started once, then replaced after the timeout, the os._exit and the segfault.
    expect(readFileSync(join(t.dir, "inits.log"), "utf8")).toBe("init\ninit\ninit\ninit\n");
    const ended = t.logLines.filter((line) => line.includes("predictor worker ended")).join("\n");
    expect(ended).toContain("exit code 9");
    expect(ended).toContain("signal SIGSEGV");
  });

  it("refuses to start on a syntax error, a missing module, a missing class or a missing interpreter, with file and line", async () => {
    const attempt = startTestRuntime({
      files: {
        "syntax.py": "class PythonPredictor:\n    def predict(self, payload)\n        return 1\n",
        "module.py": "import os\nimport no_such_module_here\n",
        "noclass.py": "class Predictor:\n    pass\n",
        "fine.py": WITH_REQUEST_ID,
      },
      yaml: `
- name: syntax
  kind: AsyncAPI
  predictor: { type: python, path: syntax.py }
- name: module
  kind: AsyncAPI
  predictor: { type: python, path: module.py }
- name: noclass
  kind: AsyncAPI
  predictor: { type: python, path: noclass.py }
- name: nointerpreter
  kind: AsyncAPI
  predictor: { type: python, path: fine.py, python_executable: no-such-python3 }
`,
    });
    const error = await attempt.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(PredictorsLoadError);
    const message = (error as Error).message;
    expect(message).toMatch(/syntax\.py:2: SyntaxError: expected ':'/);
    expect(message).toMatch(/module\.py:2: ModuleNotFoundError: No module named 'no_such_module_here'/);
    expect(message).toContain("noclass.py: defines no class PythonPredictor (classes defined: Predictor)");
    expect(message).toContain('python_executable "no-such-python3" was not found');
    expect(message).not.toContain("host.py");
  });

  it("exits 2 with the predictor's message when __init__ raises at start-up", async () => {
    const dir = (await import("node:fs")).mkdtempSync(join((await import("node:os")).tmpdir(), "python-init-"));
    (await import("node:fs")).writeFileSync(join(dir, "predictor.py"), 'class PythonPredictor:\n    def __init__(self, config):\n        raise RuntimeError("model.pkl is missing")\n\n    def predict(self, payload):\n        return 1\n');
    (await import("node:fs")).writeFileSync(join(dir, "cortex.yaml"), "- name: init\n  kind: AsyncAPI\n  predictor: { type: python, path: predictor.py }\n");
    const cli = spawnCli(["serve", "--port", "0", "--config", join(dir, "cortex.yaml"), "--data-dir", join(dir, "data")]);
    const { code } = await cli.exited;
    expect(code).toBe(2);
    expect(cli.stderr()).toContain(`${join(dir, "predictor.py")}:3: RuntimeError: model.pkl is missing`);
    expect(cli.stderr()).not.toContain("host.py");
    void spawnServe; // (spawnServe is for runtimes that start; this one must not)
  });
});
