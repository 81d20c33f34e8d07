import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ErrorCode } from "../../runtime/errors.js";
import { loadPredictor, PredictorLoadError } from "../../runtime/predictor/load-predictor.js";

const root = mkdtempSync(join(tmpdir(), "load-predictor-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const signal = new AbortController().signal;
let counter = 0;

/** Writes `source` as a predictor in a fresh folder, optionally beside a package.json. */
function writePredictor(source: string, options: { packageJson?: object; name?: string } = {}): string {
  const dir = join(root, `case-${counter++}`);
  mkdirSync(dir, { recursive: true });
  if (options.packageJson) writeFileSync(join(dir, "package.json"), JSON.stringify(options.packageJson));
  const file = join(dir, options.name ?? "predictor.ts");
  writeFileSync(file, source);
  return file;
}

/** The contract's section 2 example, verbatim. */
const CONTRACT_SUM = `// predictors/sum.ts
import type { Predictor } from "../runtime/index.js";
export default class SumPredictor implements Predictor<{ x: number; y: string }, number> {
  constructor(private readonly config: Record<string, unknown>) {}
  async setup?(): Promise<void> {}                      // optional, awaited once before ready
  predict(payload: { x: number; y: string }, requestId: string): number | Promise<number> {
    return payload.x + payload.y.length;
  }
}
`;

async function loadFailure(file: string): Promise<PredictorLoadError> {
  const error = await loadPredictor(file, {}).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(PredictorLoadError);
  return error as PredictorLoadError;
}

describe("loadPredictor", () => {
  it.each([
    ["no package.json (tsx compiles to CommonJS, default arrives wrapped twice)", undefined],
    ['package.json with "type": "module"', { type: "module" }],
    ['package.json with "type": "commonjs"', { type: "commonjs" }],
  ])("loads the contract's example predictor with %s", async (_label, packageJson) => {
    const file = writePredictor(CONTRACT_SUM, packageJson ? { packageJson } : {});
    const predictor = await loadPredictor(file, {});
    expect(await predictor.predict({ x: 2, y: "hello" }, "id-1", { signal })).toBe(7);
  });

  it("loads a named export Predictor, from .mts and .cts files too", async () => {
    const source = `export class Predictor { predict(p: { n: number }) { return p.n * 2; } }`;
    for (const name of ["named.ts", "named.mts", "named.cts"]) {
      const predictor = await loadPredictor(writePredictor(source, { name }), {});
      expect(await predictor.predict({ n: 21 }, "id", { signal })).toBe(42);
    }
  });

  it("passes config to the constructor and requestId to predict", async () => {
    const file = writePredictor(`export default class P {
      constructor(private readonly config: Record<string, unknown>) {}
      predict(_p: unknown, requestId: string) { return { offset: this.config.offset, requestId }; }
    }`);
    const predictor = await loadPredictor(file, { offset: 5 });
    expect(await predictor.predict({}, "req-9", { signal })).toEqual({ offset: 5, requestId: "req-9" });
  });

  it("gives each predictor its own copy of config", async () => {
    const file = writePredictor(`export default class P {
      constructor(readonly config: Record<string, any>) { config.nested.mutated = true; }
      predict() { return this.config; }
    }`);
    const config = { nested: { mutated: false } };
    await loadPredictor(file, config);
    expect(config.nested.mutated).toBe(false);
  });

  it("names the file and the syntax error when the source does not compile", async () => {
    const file = writePredictor(`export default class P { predict( { return 1 } }`);
    const error = await loadFailure(file);
    expect(error.code).toBe(ErrorCode.predictorLoad);
    expect(error.message).toContain(file);
    expect(error.message).toMatch(/importing it failed: line 1:\d+: (Expected|Unexpected)/);
  });

  it("says what the module exports when there is no class", async () => {
    const error = await loadFailure(writePredictor(`export const helper = 1; export function other() {}`));
    expect(error.message).toContain("exports no class");
    expect(error.message).toContain("helper, other");
  });

  it("refuses a class without predict()", async () => {
    const error = await loadFailure(writePredictor(`export default class Nope { run() {} }`));
    expect(error.message).toContain("class Nope has no predict(payload, requestId) method");
  });

  it("names the cause when the constructor throws", async () => {
    const error = await loadFailure(writePredictor(`export default class P { constructor() { throw new Error("weights missing"); } predict() {} }`));
    expect(error.message).toContain("new P(config) threw: weights missing");
  });

  it("names a missing import", async () => {
    const error = await loadFailure(writePredictor(`import { x } from "./not-there.js"; export default class P { predict() { return x; } }`));
    expect(error.message).toContain("importing it failed");
    expect(error.message).toMatch(/not-there/);
  });
});
