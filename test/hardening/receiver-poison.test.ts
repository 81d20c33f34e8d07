/**
 * The mock receiver under deep and huge bodies (issue 12), as the `receiver` CLI process: it records the text,
 * keeps its admin API answering, holds memory under its documented bound (dropping the oldest, counted), and its
 * admin API refuses requests whose Host is not one of its own names (DNS rebinding).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { get as httpGet } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../helpers/runtime-fixture.js";
import { waitUntil } from "../helpers/wait-until.js";

let child: ChildProcess;
let url: string;
let output = "";

beforeAll(async () => {
  child = spawn(process.execPath, [join(REPO_ROOT, "bin/predictor-runtime.js"), "receiver", "--port", "0", "--quiet", "--max-stored-mib", "32"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  url = await waitUntil("the receiver prints its URL", () => /receiver listening on (\S+)/.exec(output)?.[1], 15_000);
});

afterAll(() => {
  child?.kill("SIGKILL");
});

async function post(body: string): Promise<number> {
  const response = await fetch(`${url}/hook`, { method: "POST", body, headers: { "content-type": "application/json" } });
  await response.arrayBuffer();
  return response.status;
}

/** A GET through node:http, which sends the Host header it is given (fetch replaces it). */
function admin(path: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string; dropped: string | null }> {
  return new Promise((resolve, reject) => {
    const sent = httpGet(url + path, { headers, timeout: 10_000 }, (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (text += chunk));
      response.on("end", () => resolve({ status: response.statusCode!, text, dropped: (response.headers["x-dropped-deliveries"] as string | undefined) ?? null }));
    });
    sent.on("error", reject);
  });
}

function residentMiB(pid: number): number {
  const kib = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
  return kib / 1024;
}

describe("the receiver under poison bodies", () => {
  it("records bodies nested 2,000 and 100,000 levels as text, and its admin API keeps answering", async () => {
    for (const levels of [2_000, 100_000]) {
      expect(await post('{"a":'.repeat(levels) + "1" + "}".repeat(levels))).toBe(200);
    }
    expect(await post('{"ok": true}')).toBe(200);
    const list = await admin("/_/deliveries");
    expect(list.status).toBe(200);
    const deliveries = JSON.parse(list.text) as Array<{ body: unknown; raw_body: string }>;
    expect(typeof deliveries[0]!.body).toBe("string");
    expect(deliveries[1]!.raw_body.length).toBe(100_000 * 6 + 1);
    expect(deliveries[2]!.body).toEqual({ ok: true });
    expect((await admin("/_/deliveries/wait?count=3&timeout_ms=1000")).status).toBe(200);
    expect((await admin("/_/har")).status).toBe(200);
  });

  it("keeps memory bounded under 10 MiB bodies of [{},{},...], dropping the oldest and counting them", async () => {
    const huge = "[" + "{},".repeat((10 * 1024 * 1024) / 3 - 1) + "{}]";
    for (let index = 0; index < 6; index++) expect(await post(huge)).toBe(200);
    const list = await admin("/_/deliveries");
    expect(list.status).toBe(200);
    expect(Number(list.dropped)).toBeGreaterThanOrEqual(4);
    // Text only (2 bytes a character at worst) under a 32 MiB bound: far below the ~1.4 GB parsed copies took.
    expect(residentMiB(child.pid!)).toBeLessThan(400);
  });

  it("refuses admin requests addressed by another host name (DNS rebinding), and serves its own names", async () => {
    const { port } = new URL(url);
    const rebound = await admin("/_/deliveries", { host: `attacker.example:${port}` });
    expect(rebound.status).toBe(403);
    expect(rebound.text).not.toContain("raw_body");
    expect(JSON.parse(rebound.text).error).toMatch(/Host was "attacker.example"/);
    expect((await admin("/_/deliveries", { host: `localhost:${port}` })).status).toBe(200);
    expect((await admin("/_/deliveries", { host: `127.0.0.1:${port}` })).status).toBe(200);
  });
});
