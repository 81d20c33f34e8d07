import { connect } from "node:net";
import { join } from "node:path";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRecorder, type Recorder } from "../helpers/recorder.js";
import { api, FIXTURE_PREDICTORS, startTestRuntime, type TestRuntime } from "../helpers/runtime-fixture.js";
import { waitUntil } from "../helpers/wait-until.js";

const echo = join(FIXTURE_PREDICTORS, "echo.ts");

interface LogLine {
  msg: string;
  [key: string]: unknown;
}

describe("structured logs: one line per request and per delivery attempt, with the task id", () => {
  let receiver: Recorder;
  let t: TestRuntime;
  const lines = (): LogLine[] => t.logLines.map((line) => JSON.parse(line) as LogLine);
  const requestLines = (match: Partial<LogLine>) =>
    lines().filter((line) => line.msg === "request" && Object.entries(match).every(([key, value]) => line[key] === value));

  beforeAll(async () => {
    // The first report of a task whose payload says flaky is answered 503, so that task gets two attempts.
    const failedOnce = new Set<string>();
    receiver = await startRecorder((req, _index, res) => {
      const report = req.json as { id: string; result?: { payload?: { flaky?: boolean } } };
      const fail = report.result?.payload?.flaky === true && !failedOnce.has(report.id);
      failedOnce.add(report.id);
      res.writeHead(fail ? 503 : 200).end();
    });
    t = await startTestRuntime({
      yaml: api(`name: echo
kind: AsyncAPI
predictor: { type: typescript, path: ${echo} }
webhook: { post_inference_hooks: [callback], default_callback_url: "${receiver.url}/hook?token=t0ken", retry_schedule_s: [0, 0.05], allow_networks: [127.0.0.0/8] }`) +
        api(`name: echo-now\nkind: RealtimeAPI\npredictor: { type: typescript, path: ${echo} }`),
    });
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  it("logs each request of a task, on both surfaces, with its API and task id", async () => {
    const cortex = (await request(t.url).post("/echo").set("content-type", "application/json").send("{}").expect(202)).body.id as string;
    await request(t.url).get(`/echo/${cortex}`).expect(200);
    const launch = (
      await request(t.url).post("/v1/async-tasks?model_endpoint_name=echo").set("content-type", "application/json").send('{"args": {}}').expect(200)
    ).body.task_id as string;
    await request(t.url).get(`/v1/async-tasks/${launch}`).expect(200);
    await request(t.url).get("/nope/123").expect(404);

    await waitUntil("the GET lines are written", () => requestLines({ method: "GET", path: `/v1/async-tasks/${launch}` }).length === 1);
    expect(requestLines({ taskId: cortex })).toEqual([
      expect.objectContaining({ method: "POST", path: "/echo", status: 202, api: "echo", durationMs: expect.any(Number) }),
      expect.objectContaining({ method: "GET", path: `/echo/${cortex}`, status: 200, api: "echo" }),
    ]);
    expect(requestLines({ taskId: launch })).toEqual([
      expect.objectContaining({ method: "POST", path: "/v1/async-tasks", status: 200, api: "echo" }),
      expect.objectContaining({ method: "GET", path: `/v1/async-tasks/${launch}`, status: 200, api: "echo" }),
    ]);
    // A request without a task still gets its line; the query string (which may hold a token) never does.
    expect(requestLines({ path: "/nope/123" })).toEqual([expect.objectContaining({ method: "GET", status: 404 })]);
    expect(requestLines({ path: "/v1/async-tasks" })[0]).not.toHaveProperty("query");
    expect(t.logLines.join("\n")).not.toContain("model_endpoint_name");
  });

  it("logs each delivery attempt with the task id, outcome and the URL without its query", async () => {
    const id = (await request(t.url).post("/echo").set("content-type", "application/json").send('{"flaky": true}').expect(202)).body.id as string;
    const attempts = await waitUntil("two attempts are logged", () => {
      const found = lines().filter((line) => line.msg === "webhook attempt" && line.taskId === id);
      return found.length === 2 && found;
    });
    expect(attempts).toEqual([
      expect.objectContaining({ attempt: 1, outcome: "retryable", statusCode: 503, webhookStatus: "pending", api: "echo", url: `${receiver.url}/hook?…` }),
      expect.objectContaining({ attempt: 2, outcome: "delivered", statusCode: 200, webhookStatus: "delivered" }),
    ]);
    expect(t.logLines.join("\n")).not.toContain("t0ken");
  });

  it("logs a request whose client left before the answer, marked aborted", async () => {
    const { port } = new URL(t.url);
    const socket = connect(Number(port), "127.0.0.1");
    await new Promise<void>((resolve) => socket.once("connect", resolve));
    const body = '{"delay_ms": 300}';
    socket.write(`POST /echo-now HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
    // The metrics show when predict() runs: only then has the runtime surely read the request.
    await waitUntil("predict() runs", async () =>
      (await request(t.url).get("/metrics")).text.includes('predictor_runtime_tasks{api="echo-now",status="in_progress"} 1'),
    );
    socket.destroy();
    const aborted = await waitUntil("the aborted request is logged", () => requestLines({ path: "/echo-now" })[0]);
    expect(aborted).toMatchObject({ method: "POST", api: "echo-now", aborted: true });
    expect(requestLines({ path: "/echo-now" })).toHaveLength(1);
  });
});
