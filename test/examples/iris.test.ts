import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT, startTestRuntime, type TestRuntime } from "../helpers/runtime-fixture.js";

const IRIS = join(REPO_ROOT, "examples/iris");

/** What the example needs that the core install does not bring; empty when all is there. */
function missing(): string[] {
  const gaps: string[] = [];
  const python = spawnSync("python3", ["-c", "import sklearn, numpy, onnx"], { encoding: "utf8" });
  if (python.status !== 0) gaps.push(`python3 with scikit-learn, numpy and onnx (pip install scikit-learn numpy onnx): ${python.error?.message ?? python.stderr.trim().split("\n").at(-1)}`);
  if (!existsSync(join(IRIS, "node_modules/onnxruntime-node"))) gaps.push("examples/iris/node_modules (cd examples/iris && npm ci --onnxruntime-node-install=skip)");
  return gaps;
}

const gaps = missing();
if (gaps.length > 0) {
  if (process.env.REQUIRE_PYTHON_TESTS === "1") throw new Error(`REQUIRE_PYTHON_TESTS=1 but the iris example cannot run; missing: ${gaps.join("; ")}`);
  console.warn(`\n*** SKIPPING the iris example test; missing: ${gaps.join("; ")} ***\n`);
}

/** Every iris flower measurement grid point between the classes' typical sizes, plus the three textbook flowers. */
function flowers(): Array<Record<string, number>> {
  const list = [
    { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 },
    { sepal_length: 6.4, sepal_width: 3.2, petal_length: 4.5, petal_width: 1.5 },
    { sepal_length: 6.3, sepal_width: 3.3, petal_length: 6.0, petal_width: 2.5 },
  ];
  for (const petal_length of [1, 2.5, 4, 4.8, 5.5, 7]) {
    for (const petal_width of [0.1, 0.8, 1.5, 1.8, 2.5]) list.push({ sepal_length: 5.8, sepal_width: 3.0, petal_length, petal_width });
  }
  return list;
}

describe.skipIf(gaps.length > 0)("examples/iris", () => {
  let t: TestRuntime;
  beforeAll(async () => {
    const models = mkdtempSync(join(tmpdir(), "iris-models-"));
    const trained = spawnSync("python3", [join(IRIS, "train.py"), models], { encoding: "utf8" });
    expect(trained.status, trained.stderr).toBe(0);
    t = await startTestRuntime({
      yaml: `
- name: iris-python
  kind: RealtimeAPI
  predictor: { type: python, path: ${join(IRIS, "predictor.py")}, config: { model: ${join(models, "model.pkl")} } }
- name: iris-onnx
  kind: RealtimeAPI
  predictor: { type: typescript, path: ${join(IRIS, "predictor.ts")}, config: { model: ${join(models, "model.onnx")} } }
`,
    });
  }, 60_000);
  afterAll(() => t?.close());

  it("answers the same classes from the scikit-learn model (Python) and its ONNX export (TypeScript)", async () => {
    const input = flowers();
    const fromPython = (await request(t.url).post("/iris-python").send(input).expect(200)).body as string[];
    const fromOnnx = (await request(t.url).post("/iris-onnx").send(input).expect(200)).body as string[];
    expect(fromPython).toHaveLength(input.length);
    expect(fromOnnx).toEqual(fromPython);
    expect(fromPython.slice(0, 3)).toEqual(["setosa", "versicolor", "virginica"]);
    // The grid spans all three classes, so agreement is not trivial.
    expect(new Set(fromPython)).toEqual(new Set(["setosa", "versicolor", "virginica"]));
    // One flower, Cortex style: a label, not a list.
    const one = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };
    expect((await request(t.url).post("/iris-python").send(one).expect(200)).body).toBe("setosa");
    expect((await request(t.url).post("/iris-onnx").send(one).expect(200)).body).toBe("setosa");
  });
});
