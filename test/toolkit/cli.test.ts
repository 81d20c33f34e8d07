import { execFile, spawn, type ChildProcess } from "node:child_process";
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { Agent, request } from "undici";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir } from "./helpers/temp-dir.js";

const execFileAsync = promisify(execFile);
const cli = ["bin/predictor-runtime.js"];

/** Runs the CLI to completion: exit code, stdout, stderr. */
async function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    // Generous: a loaded 2-core machine can take many seconds to start a CLI; a bound still ends a hung one.
    const { stdout, stderr } = await execFileAsync(process.execPath, [...cli, ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
});

/** Starts `receiver` as a child process and resolves with its URL once it prints it. */
async function startCliReceiver(args: string[]): Promise<{ child: ChildProcess; url: string; output: () => string; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [...cli, "receiver", "--port", "0", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`receiver printed no URL within 15 s:\n${output}`)), 15_000);
    const look = (): void => {
      const match = /receiver listening on (\S+)/.exec(output);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on("data", look);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`receiver exited with ${code} before printing its URL:\n${output}`));
    });
  });
  return { child, url, output: () => output, exited };
}

let dir: string;
let removeDir: () => Promise<void>;
beforeAll(async () => {
  ({ dir, remove: removeDir } = await makeTempDir("cli"));
});
afterAll(() => removeDir());

describe("predictor-runtime certs", () => {
  it("creates the directory and writes every certificate and key, keys 0600", async () => {
    const out = join(dir, "nested", "certs");
    const result = await runCli(["certs", "--out", out]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("wrote 14 files");
    const names = (await readdir(out)).sort();
    expect(names).toEqual(
      [
        "ca",
        "client",
        "client-expired",
        "client-foreign-ca",
        "client-wrong-eku",
        "foreign-ca",
        "server",
      ]
        .flatMap((name) => [`${name}-key.pem`, `${name}.pem`])
        .sort(),
    );
    for (const name of names.filter((file) => file.endsWith("-key.pem"))) {
      expect((await stat(join(out, name))).mode & 0o777, name).toBe(0o600);
    }
    const verified = await execFileAsync("openssl", ["verify", "-CAfile", join(out, "ca.pem"), "-purpose", "sslclient", join(out, "client.pem")]);
    expect(verified.stdout).toContain("client.pem: OK");
  });

  it("exits 2 without --out", async () => {
    const result = await runCli(["certs"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("required option '--out <dir>' not specified");
  });
});

describe("predictor-runtime receiver: bad usage exits 2 with a message saying how to fix it", () => {
  it("refuses bad flags without echoing secrets", { timeout: 90_000 }, async () => {
    await writeFile(join(dir, "bad-rules.json"), JSON.stringify({ rules: [{ path: "/hook", statuses: [99] }] }));
    const [basic, tls, port, secret, rules, missingRules] = await Promise.all([
      runCli(["receiver", "--basic", "hunter2-no-colon"]),
      runCli(["receiver", "--tls", join(dir, "no-such-dir")]),
      runCli(["receiver", "--port", "http"]),
      runCli(["receiver", "--secret", "whsec_%%hunter3%%"]),
      runCli(["receiver", "--rules", join(dir, "bad-rules.json")]),
      runCli(["receiver", "--rules", join(dir, "absent.json")]),
    ]);
    expect(basic.code).toBe(2);
    expect(basic.stderr).toContain("basic credentials must be USER:PASS");
    expect(basic.stderr).not.toContain("hunter2");
    expect(tls.code).toBe(2);
    expect(tls.stderr).toContain(`${join(dir, "no-such-dir", "server.pem")} does not exist; run \`predictor-runtime certs --out`);
    expect(port.code).toBe(2);
    expect(port.stderr).toContain("must be a whole number from 0 to 65535");
    expect(secret.code).toBe(2);
    expect(secret.stderr).toContain("must be whsec_ followed by base64");
    expect(secret.stderr).not.toContain("hunter3");
    expect(rules.code).toBe(2);
    expect(rules.stderr).toContain("bad-rules.json: rules[0].statuses: must be a non-empty list of HTTP statuses");
    expect(missingRules.code).toBe(2);
    expect(missingRules.stderr).toContain("absent.json does not exist");
  });
});

describe("predictor-runtime receiver", () => {
  it("records, checks, answers by its rules file, and exits 0 on SIGTERM", async () => {
    const rulesFile = join(dir, "rules.json");
    await writeFile(rulesFile, JSON.stringify({ rules: [{ path: "/hook", statuses: [503, 200] }] }));
    const receiver = await startCliReceiver(["--basic", "hooks:pw-visible-nowhere", "--rules", rulesFile]);
    expect(receiver.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const authorization = `Basic ${Buffer.from("hooks:pw-visible-nowhere").toString("base64")}`;
    const statuses: number[] = [];
    for (const headers of [{}, { authorization }, { authorization }]) {
      const response = await request(`${receiver.url}/hook`, { method: "POST", body: "{}", headers });
      await response.body.dump();
      statuses.push(response.statusCode);
    }
    expect(statuses).toEqual([401, 503, 200]);
    const listed = await request(`${receiver.url}/_/deliveries`);
    expect(((await listed.body.json()) as unknown[]).length).toBe(3);

    receiver.child.kill("SIGTERM");
    expect(await receiver.exited).toBe(0);
    const output = receiver.output();
    expect(output).toContain("POST /hook -> 401 basic=fail");
    expect(output).toContain("POST /hook -> 503 basic=pass");
    expect(output).toContain("receiver closed (SIGTERM) after 3 deliveries");
    expect(output).not.toContain("pw-visible-nowhere");
  });

  it("serves mTLS from a certs directory and exits 0 on SIGINT", async () => {
    const certsDir = join(dir, "mtls");
    expect((await runCli(["certs", "--out", certsDir])).code).toBe(0);
    const receiver = await startCliReceiver(["--mtls", certsDir]);
    expect(receiver.url).toMatch(/^https:\/\//);
    const read = (name: string): Promise<string> => readFile(join(certsDir, name), "utf8");
    const trusted = { ca: await read("ca.pem"), servername: "localhost" };
    const good = new Agent({ connect: { ...trusted, cert: await read("client.pem"), key: await read("client-key.pem") } });
    const anonymous = new Agent({ connect: trusted });
    try {
      const accepted = await request(`${receiver.url}/hook`, { method: "POST", body: "{}", dispatcher: good });
      await accepted.body.dump();
      const refused = await request(`${receiver.url}/hook`, { method: "POST", body: "{}", dispatcher: anonymous });
      await refused.body.dump();
      expect([accepted.statusCode, refused.statusCode]).toEqual([200, 401]);
    } finally {
      await Promise.all([good.destroy(), anonymous.destroy()]);
    }
    receiver.child.kill("SIGINT");
    expect(await receiver.exited).toBe(0);
    expect(receiver.output()).toContain("tls=fail(NO_CLIENT_CERTIFICATE)");
  });

  it("takes --quirk flaws (shown in the banner) and refuses an unknown one", async () => {
    const receiver = await startCliReceiver(["--basic", "hooks:pw", "--quirk", "basic-allow-missing", "--quirk", "basic-403-on-wrong"]);
    expect(receiver.output()).toContain("quirks      basic-allow-missing, basic-403-on-wrong (deliberately not conformant)");
    const statuses: number[] = [];
    for (const headers of [{}, { authorization: `Basic ${Buffer.from("hooks:wrong").toString("base64")}` }]) {
      const response = await request(`${receiver.url}/hook`, { method: "POST", body: "{}", headers });
      await response.body.dump();
      statuses.push(response.statusCode);
    }
    expect(statuses).toEqual([200, 403]);
    receiver.child.kill("SIGTERM");
    expect(await receiver.exited).toBe(0);
    const unknown = await runCli(["receiver", "--quirk", "be-lenient"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("Allowed choices are signature-allow-unsigned");
  });
});
