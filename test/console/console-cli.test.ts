import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "undici";
import { afterAll, describe, expect, it } from "vitest";
import { spawnCli, spawnServe } from "../helpers/spawn-runtime.js";

const dir = mkdtempSync(join(tmpdir(), "console-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("serve --admin-key-env", () => {
  it("refuses to start when the variable is unset or too short, naming it, never echoing its value", async () => {
    const unset = spawnCli(["serve", "--admin-key-env", "CONSOLE_KEY_NOT_SET", "--data-dir", join(dir, "unset")], { env: { CONSOLE_KEY_NOT_SET: undefined } });
    expect((await unset.exited).code).toBe(2);
    expect(unset.stderr()).toContain("the environment variable CONSOLE_KEY_NOT_SET is not set");
    const short = spawnCli(["serve", "--admin-key-env", "CONSOLE_KEY_SHORT", "--data-dir", join(dir, "short")], { env: { CONSOLE_KEY_SHORT: "tiny-key" } });
    expect((await short.exited).code).toBe(2);
    expect(short.stderr()).toContain("shorter than 16 characters");
    expect(short.stderr() + short.stdout()).not.toContain("tiny-key");
  });

  it("serves the console to Bearer KEY only, and logs nothing of the key", async () => {
    const key = "serve-admin-key-0f9e8d7c6b5a4321";
    const served = await spawnServe(["--admin-key-env", "CONSOLE_KEY", "--data-dir", join(dir, "keyed")], { env: { CONSOLE_KEY: key } });
    try {
      const without = await request(`${served.url}/console/api/overview`);
      expect(without.statusCode).toBe(401);
      await without.body.dump();
      const wrong = await request(`${served.url}/console/api/overview`, { headers: { authorization: `Bearer ${key}x` } });
      expect(wrong.statusCode).toBe(401);
      await wrong.body.dump();
      const withKey = await request(`${served.url}/console/api/overview`, { headers: { authorization: `Bearer ${key}` } });
      expect(withKey.statusCode).toBe(200);
      const overview = (await withKey.body.json()) as { engine: string; apis: Array<{ name: string }> };
      expect(overview.engine).toBe("sqlite");
      expect(overview.apis.length).toBeGreaterThan(0);
    } finally {
      served.child.kill("SIGTERM");
      await served.exited;
    }
    // The request log has the requests, never the header's value.
    expect(served.stdout()).toContain("/console/api/overview");
    expect(served.stdout() + served.stderr()).not.toContain(key);
  });
});
