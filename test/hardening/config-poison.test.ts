/**
 * Config files as an attacker (or a slip) writes them (issue 12): `serve` exits 2 with file, line and a message,
 * never a stack trace, for a YAML alias bomb, a predict_timeout_s past what a timer holds, and a duplicate key.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FIXTURE_PREDICTORS } from "../helpers/runtime-fixture.js";
import { spawnCli } from "../helpers/spawn-runtime.js";

const dir = mkdtempSync(join(tmpdir(), "config-poison-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const head = `- name: a
  kind: AsyncAPI
  predictor:
    type: typescript
    path: ${join(FIXTURE_PREDICTORS, "echo.ts")}
`;

async function serveWith(name: string, yaml: string): Promise<{ code: number | null; stderr: string; file: string }> {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, yaml);
  const cli = spawnCli(["serve", "--config", file, "--port", "0", "--data-dir", join(dir, `data-${name}`)]);
  const { code } = await cli.exited;
  return { code, stderr: cli.stderr(), file };
}

describe("a poisoned cortex.yaml", () => {
  it("an alias bomb exits 2 naming the file and the line of the first alias", async () => {
    const levels = "abcdefghi".split("");
    const lines = levels.map((name, index) =>
      index === 0 ? `      ${name}: &${name} ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]` : `      ${name}: &${name} [${Array(9).fill(`*${levels[index - 1]}`).join(",")}]`,
    );
    const { code, stderr, file } = await serveWith("bomb", `${head}    config:\n${lines.join("\n")}\n`);
    expect(code).toBe(2);
    expect(stderr).toContain(`${file}:8: YAML aliases (*name) expand to too many nodes`);
    expect(stderr).not.toMatch(/\n\s+at /);
  }, 20_000);

  it("a predict_timeout_s past what a timer holds is refused at start-up", async () => {
    const { code, stderr, file } = await serveWith("timeout", `${head}    predict_timeout_s: 3000000\n`);
    expect(code).toBe(2);
    expect(stderr).toContain(`${file}:6 apis[0].predictor.predict_timeout_s: must be at most 2147483 seconds`);
  }, 20_000);

  it("a duplicate key names its key path and line", async () => {
    const { code, stderr, file } = await serveWith("duplicate", `${head}    config:\n      x: 1\n      x: 2\n`);
    expect(code).toBe(2);
    expect(stderr).toContain(`${file}:8 apis[0].predictor.config.x: the key "x" appears twice in the same mapping`);
  }, 20_000);
});
