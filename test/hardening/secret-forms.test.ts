/**
 * Secrets in every form (issue 12): a receiver that answers 400 echoing the signing key's decoded bytes, its
 * base64 unpadded or URL-safe, a JSON-escaped password, or a password placed where the 200-character last_error
 * excerpt cuts it. None of it reaches a status answer or the log; and per-request credentials are gone from the
 * database once their report is delivered or finally failed.
 */
import Database from "better-sqlite3";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deliveryYaml, postJson, waitForSettledWebhook } from "../helpers/delivery-config.js";
import { startRecorder, type Recorder } from "../helpers/recorder.js";
import { startTestRuntime, type TestRuntime } from "../helpers/runtime-fixture.js";
import { generateTestCerts, type TestCerts } from "../helpers/test-certs.js";

/** A key whose bytes are text, so a receiver can echo the decoded bytes as they are. */
const KEY_TEXT = "key-bytes-that-read-as-text-0123"; // 32 bytes
const KEY = Buffer.from(KEY_TEXT);
const SIGNING_SECRET = `whsec_${KEY.toString("base64")}`;
const PASSWORD = 'pa"ss\\word-7f3e9c1d2b';

/** What each receiver path echoes back, after `padding` characters. */
const ECHOES: Record<string, { text: string; padding: number }> = {
  // Comments name the form; the paths say nothing a secret could match.
  "/echo-1": { text: KEY_TEXT, padding: 0 },
  "/echo-2": { text: KEY.toString("base64").replace(/=+$/, ""), padding: 0 },
  "/echo-3": { text: KEY.toString("base64url"), padding: 0 },
  "/echo-4": { text: KEY.toString("hex"), padding: 0 },
  "/echo-5": { text: JSON.stringify({ got: PASSWORD }), padding: 0 },
  "/echo-6": { text: PASSWORD, padding: 190 },
  "/echo-7": { text: SIGNING_SECRET, padding: 195 },
};

/** Every fragment of a secret long enough to identify it. */
function fragments(secret: string): string[] {
  return Array.from({ length: secret.length - 7 }, (_, start) => secret.slice(start, start + 8));
}

/** Kept past runtime.close(), which removes a folder it made itself, so the database can be read afterwards. */
const dir = mkdtempSync(join(tmpdir(), "secret-forms-"));
let certs: TestCerts;
let receiver: Recorder;
let runtime: TestRuntime;
const statusTexts: string[] = [];

beforeAll(async () => {
  certs = await generateTestCerts();
  receiver = await startRecorder((request, _index, res) => {
    const echo = ECHOES[request.path];
    res.writeHead(echo === undefined ? 200 : 400).end(echo === undefined ? "" : "x".repeat(echo.padding) + echo.text);
  });
  runtime = await startTestRuntime({
    dir,
    yaml: deliveryYaml({ name: "signed", webhook: { default_callback_url: `${receiver.url}/ok`, signing_secret: "${SIGNING_SECRET}" } }),
    env: { SIGNING_SECRET },
  });
  const paths: string[] = [];
  for (const path of Object.keys(ECHOES)) {
    const { body } = await postJson(`${runtime.url}/v1/async-tasks?model_endpoint_name=signed`, {
      args: { x: 1 },
      callback_url: `${receiver.url}${path}`,
      callback_auth: { kind: "basic", username: "client", password: PASSWORD },
    });
    paths.push(`/v1/async-tasks/${String(body.task_id)}`);
  }
  // Delivered with an mTLS key: the key must leave the database too.
  const { body } = await postJson(`${runtime.url}/v1/async-tasks?model_endpoint_name=signed`, {
    args: { x: 1 },
    callback_url: `${receiver.url}/ok`,
    callback_auth: { kind: "mtls", cert: certs.client.cert, key: certs.client.key },
  });
  paths.push(`/v1/async-tasks/${String(body.task_id)}`);
  for (const path of paths) {
    await waitForSettledWebhook(runtime, path);
    statusTexts.push(await (await fetch(runtime.url + path)).text());
  }
}, 60_000);

afterAll(async () => {
  await runtime?.close(0);
  await receiver?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("secrets in every form", () => {
  it("keep every echoed form of the signing key and password out of last_error and the log", () => {
    const failures = statusTexts.filter((text) => text.includes("answered 400"));
    expect(failures).toHaveLength(Object.keys(ECHOES).length);
    expect(failures.join("\n")).toContain("[redacted]");
    const said = [...statusTexts, ...runtime.logLines].join("\n");
    for (const secret of [KEY_TEXT, SIGNING_SECRET, KEY.toString("base64").replace(/=+$/, ""), KEY.toString("hex"), PASSWORD, JSON.stringify(PASSWORD).slice(1, -1)]) {
      for (const fragment of fragments(secret)) expect(said, `a fragment of ${secret.slice(0, 4)}...`).not.toContain(fragment);
    }
  });

  it("erases per-request credentials from the database once their report is settled", async () => {
    await runtime.close(0);
    const db = new Database(join(runtime.dataDir, "runtime.sqlite"), { readonly: true });
    const stored = JSON.stringify([db.prepare("SELECT auth FROM deliveries").all(), db.prepare("SELECT callback FROM tasks").all()]);
    db.close();
    expect(stored).toContain(receiver.url);
    for (const secret of [PASSWORD, JSON.stringify(PASSWORD).slice(1, -1), certs.client.key.split("\n")[1]!]) expect(stored).not.toContain(secret);
    // Not even in the file's free space: the database overwrites what it deletes (secure_delete).
    const file = readFileSync(join(runtime.dataDir, "runtime.sqlite"));
    expect(file.includes(certs.client.key.split("\n")[1]!)).toBe(false);
    expect(file.includes(PASSWORD)).toBe(false);
  });
});
