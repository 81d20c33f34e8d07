import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startReceiver, type MockReceiver } from "../../toolkit/receiver/receiver.js";
import { basicFlag, credentials, useCertificates } from "./helpers/fixtures.js";
import { runCli } from "./helpers/processes.js";

const fixtures = useCertificates();
const open: MockReceiver[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((receiver) => receiver.close()));
});

/** Every form of a secret that must never be printed. */
function secretForms(): string[] {
  return [
    credentials.password,
    Buffer.from(basicFlag).toString("base64"),
    credentials.secret,
    credentials.secret.slice("whsec_".length),
  ];
}

describe("bad usage exits 2 with a message that says what to fix", () => {
  it("refuses a missing URL, a URL that is not http(s), and a URL carrying credentials (without echoing them)", async () => {
    const [missing, ftp, withPassword, unparsable, format] = await Promise.all([
      runCli(["conform"]),
      runCli(["conform", "ftp://127.0.0.1/hook"]),
      runCli(["conform", "http://hooks:hunter2-in-url@127.0.0.1:9/hook"]),
      runCli(["conform", "127.0.0.1 hunter3-in-url"]),
      runCli(["conform", "http://127.0.0.1:9/hook", "--format", "xml"]),
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("missing required argument 'url'");
    expect(ftp.code).toBe(2);
    expect(ftp.stderr).toContain("predictor-runtime conform: the receiver URL must be http:// or https://, got ftp://");
    expect(withPassword.code).toBe(2);
    expect(withPassword.stderr).toContain("must not carry credentials (user:pass@host); pass them with --basic USER:PASS");
    expect(withPassword.stderr + withPassword.stdout).not.toContain("hunter2");
    expect(unparsable.code).toBe(2);
    expect(unparsable.stderr).toContain("the receiver URL is not a URL");
    expect(unparsable.stderr).not.toContain("hunter3");
    expect(format.code).toBe(2);
    expect(format.stderr).toContain("Allowed choices are cortex, launch");
  }, 60_000);

  it("refuses bad --basic and --secret without repeating them", async () => {
    const [noColon, noUser, secret] = await Promise.all([
      runCli(["conform", "http://127.0.0.1:9/hook", "--basic", "only-a-password-hunter4"]),
      runCli(["conform", "http://127.0.0.1:9/hook", "--basic", ":hunter5"]),
      runCli(["conform", "http://127.0.0.1:9/hook", "--secret", "whsec_%%hunter6%%"]),
    ]);
    for (const [run, hidden] of [[noColon, "hunter4"], [noUser, "hunter5"], [secret, "hunter6"]] as const) {
      expect(run.code).toBe(2);
      expect(run.stderr + run.stdout).not.toContain(hidden);
    }
    expect(noColon.stderr).toContain("basic credentials must be USER:PASS with a non-empty user");
    expect(secret.stderr).toContain("the signing secret is not whsec_ followed by base64");
  }, 60_000);

  it("refuses --mtls with missing files or with an http URL, and --junit into a missing directory, before sending anything", async () => {
    const receiver = await startReceiver();
    open.push(receiver);
    const [missingFiles, httpUrl, junit] = await Promise.all([
      runCli(["conform", "https://127.0.0.1:9/hook", "--mtls", join(fixtures.dir(), "absent")]),
      runCli(["conform", `${receiver.url}/hook`, "--mtls", fixtures.dir()]),
      runCli(["conform", `${receiver.url}/hook`, "--junit", join(fixtures.dir(), "no-such-dir", "report.xml")]),
    ]);
    expect(missingFiles.code).toBe(2);
    expect(missingFiles.stderr).toMatch(/absent\/ca\.pem does not exist; run `predictor-runtime certs --out /);
    expect(httpUrl.code).toBe(2);
    expect(httpUrl.stderr).toContain("--mtls needs an https:// URL (client certificates travel in TLS)");
    expect(junit.code).toBe(2);
    expect(junit.stderr).toContain("cannot write the JUnit report to");
    expect(receiver.deliveries).toHaveLength(0);
  }, 60_000);
});

describe("an https receiver checked without --mtls", () => {
  it("is trusted through Node's trust store, so NODE_EXTRA_CA_CERTS makes a private CA work", async () => {
    const certs = fixtures.certs();
    const receiver = await startReceiver({ tls: certs.server });
    open.push(receiver);
    const untrusted = await runCli(["conform", `${receiver.url}/hook`, "--json"]);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stdout).toContain("its certificate is not trusted here");
    const trusted = await runCli(["conform", `${receiver.url}/hook`], { NODE_EXTRA_CA_CERTS: join(fixtures.dir(), "ca.pem") });
    expect(trusted.code, trusted.stdout).toBe(0);
    expect(trusted.stdout).toContain("24 checks: 7 passed, 0 failed, 17 skipped; the receiver passes every applicable check");
  }, 60_000);
});

describe("a receiver nobody answers for", () => {
  it("fails the first check with the connection error, skips the rest naming it, and exits 1", async () => {
    // A port that was just free: nothing listens there.
    const receiver = await startReceiver();
    const url = `${receiver.url}/hook`;
    await receiver.close();
    const run = await runCli(["conform", url, "--json"]);
    expect(run.code).toBe(1);
    const document = JSON.parse(run.stdout) as { checks: { id: string; verdict: string; detail: string }[] };
    const failed = document.checks.filter((check) => check.verdict === "fail");
    expect(failed.map((check) => check.id)).toEqual(["ack.completed", "ack.failed"]);
    expect(failed[0]?.detail).toContain("could not be reached (ECONNREFUSED");
    expect(document.checks.find((check) => check.id === "ack.duplicate")?.detail).toBe(
      "not checked: the receiver does not acknowledge a valid completed report with 2xx (see ack.completed)",
    );
  }, 60_000);
});

describe("secrets never appear in output", () => {
  let echo: Server;
  let echoUrl: string;
  beforeAll(async () => {
    // A receiver that quotes back everything that identifies the sender, on every answer.
    echo = createServer((request, response) => {
      const authorization = request.headers.authorization ?? "";
      const decoded = Buffer.from(authorization.replace(/^Basic /, ""), "base64").toString("utf8");
      request.resume();
      request.on("end", () => {
        response.writeHead(400, { "content-type": "application/json", "x-echo": authorization });
        response.end(JSON.stringify({ error: `who are you? ${authorization} ${decoded} ${request.headers["webhook-signature"] ?? ""}` }));
      });
    });
    await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve));
    echoUrl = `http://127.0.0.1:${(echo.address() as AddressInfo).port}/hook`;
  });
  afterAll(() => new Promise<void>((resolve) => echo.close(() => resolve())));

  it("not in the table, the JSON, the JUnit file or stderr, even when the receiver echoes them", async () => {
    const file = join(fixtures.dir(), "echo.xml");
    const [table, json] = await Promise.all([
      runCli(["conform", echoUrl, "--secret", credentials.secret, "--basic", basicFlag, "--junit", file]),
      runCli(["conform", echoUrl, "--secret", credentials.secret, "--basic", basicFlag, "--json"]),
    ]);
    expect(table.code).toBe(1);
    expect(json.code).toBe(1);
    // The echo reached the output, redacted: the test would prove nothing if it had not.
    expect(json.stdout).toContain("who are you? Basic [redacted] hooks:[redacted]");
    const everything = [table.stdout, table.stderr, json.stdout, json.stderr, await readFile(file, "utf8")].join("\n");
    for (const secret of secretForms()) expect(everything).not.toContain(secret);
  }, 60_000);

  it("not in the output of an mTLS run, where private keys are also in play", async () => {
    const certs = fixtures.certs();
    const receiver = await startReceiver({ tls: certs.server, clientCa: certs.ca.cert, secret: credentials.secret, basic: { username: credentials.username, password: credentials.password } });
    open.push(receiver);
    const run = await runCli(["conform", `${receiver.url}/hook`, "--secret", credentials.secret, "--basic", basicFlag, "--mtls", fixtures.dir(), "--json"]);
    expect(run.code, run.stderr).toBe(0);
    const keyLines = Object.values(certs).flatMap((pair) => pair.key.split("\n").filter((line) => line.length > 16 && !line.startsWith("-----")));
    for (const secret of [...secretForms(), ...keyLines]) expect(run.stdout + run.stderr).not.toContain(secret);
  }, 60_000);
});
