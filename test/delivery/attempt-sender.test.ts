import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { DeliveryRecord } from "../../runtime/tasks/delivery.js";
import { InThreadSender, type AttemptApi } from "../../runtime/webhook/attempt-sender.js";
import { AttemptThread } from "../../runtime/webhook/attempt-thread.js";
import { startRawReceiver } from "../helpers/raw-receiver.js";
import { startRecorder } from "../helpers/recorder.js";
import { waitUntil } from "../helpers/wait-until.js";
import { describeAttemptSender } from "./attempt-sender-contract.js";

describeAttemptSender("in the calling thread", (apis) => new InThreadSender(apis));
describeAttemptSender("in the attempt thread", (apis) => new AttemptThread(apis));

const REPO_ROOT = resolve(import.meta.dirname, "../..");
const api: AttemptApi = {
  name: "sum",
  webhook: { callbackEnabled: true, timeoutMs: 30_000, ignoreTimeout: false, retryScheduleMs: [0], allowNetworks: ["127.0.0.0/8"] },
};
const never = new AbortController().signal;

function delivery(url: string, taskId: string): DeliveryRecord {
  return { taskId, api: "sum", url, body: `{"id":"${taskId}"}`, webhookId: `msg_${taskId}`, status: "pending", attempts: 0, nextAttemptAt: 0 };
}

describe("AttemptThread", () => {
  const closing: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    await Promise.all(closing.splice(0).map((item) => item.close()));
  });

  it("ends the attempts of a thread that died as retryable, and sends the next one from a new thread", async () => {
    const hanging = await startRawReceiver(() => undefined);
    const receiver = await startRecorder();
    const thread = new AttemptThread([api]);
    closing.push(hanging, receiver, thread);
    const lost = thread.send(delivery(hanging.url, "task-1"), api, never);
    await waitUntil("the request arrived", () => hanging.requests === 1);
    await thread.simulateCrash();
    expect(await lost).toEqual({ kind: "retryable", error: "the webhook attempt thread exited (code 1) during the attempt" });
    expect(await thread.send(delivery(receiver.url, "task-2"), api, never)).toEqual({ kind: "delivered", statusCode: 200 });
    expect(receiver.requests.map((request) => request.headers["x-request-id"])).toEqual(["task-2"]);
  });

  it("answers attempts handed over after close as retryable, without sending them", async () => {
    const receiver = await startRecorder();
    closing.push(receiver);
    const thread = new AttemptThread([api]);
    expect(await thread.send(delivery(receiver.url, "task-1"), api, never)).toMatchObject({ kind: "delivered" });
    await thread.close();
    expect(await thread.send(delivery(receiver.url, "task-2"), api, never)).toMatchObject({ kind: "retryable", error: expect.stringContaining("shutting down") });
    expect(receiver.requests).toHaveLength(1);
  });

  it("does not keep a process alive once its attempts ended, even unclosed", async () => {
    const receiver = await startRecorder();
    closing.push(receiver);
    const script = [
      `import { AttemptThread } from ${JSON.stringify(resolve(REPO_ROOT, "runtime/webhook/attempt-thread.ts"))};`,
      `const api = ${JSON.stringify(api)};`,
      `const outcome = await new AttemptThread([api]).send(${JSON.stringify(delivery(receiver.url, "task-1"))}, api, new AbortController().signal);`,
      `console.log(JSON.stringify(outcome));`,
    ].join("\n");
    const dir = mkdtempSync(join(tmpdir(), "attempt-thread-"));
    writeFileSync(join(dir, "send-once.mts"), script);
    const child = spawn(process.execPath, [join(REPO_ROOT, "bin/run-ts.js"), join(dir, "send-once.mts")], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "inherit"] });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    const killer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    const [code, signal] = (await once(child, "exit")) as [number | null, NodeJS.Signals | null];
    clearTimeout(killer);
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(JSON.parse(stdout)).toEqual({ kind: "delivered", statusCode: 200 });
    rmSync(dir, { recursive: true, force: true });
  });
});
