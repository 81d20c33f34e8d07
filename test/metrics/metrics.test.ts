import { randomBytes } from "node:crypto";
import { join } from "node:path";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parsePrometheusText, sampleValue, type Sample } from "../helpers/prometheus-text.js";
import { startRecorder, type Recorder } from "../helpers/recorder.js";
import { api, FIXTURE_PREDICTORS, REPO_ROOT, startTestRuntime, type TestRuntime } from "../helpers/runtime-fixture.js";
import { waitUntil } from "../helpers/wait-until.js";

const echo = join(FIXTURE_PREDICTORS, "echo.ts");
const sum = join(REPO_ROOT, "predictors/sum.ts");
const signingSecret = `whsec_${randomBytes(32).toString("base64")}`;

async function scrape(url: string): Promise<{ text: string; samples: Sample[]; contentType: string }> {
  const response = await request(url).get("/metrics").expect(200);
  return { text: response.text, samples: parsePrometheusText(response.text), contentType: String(response.headers["content-type"]) };
}

function post(url: string, path: string, payload: unknown) {
  return request(url).post(path).set("content-type", "application/json").send(JSON.stringify(payload));
}

async function webhookSettled(url: string, apiName: string, id: string): Promise<void> {
  await waitUntil(`the webhook of ${apiName}/${id} settled`, async () => {
    const body = (await request(url).get(`/${apiName}/${id}`)).body as { webhook?: { status: string } };
    return body.webhook !== undefined && body.webhook.status !== "pending";
  });
}

describe("GET /metrics", () => {
  let receiver: Recorder;
  let t: TestRuntime;
  const taskIds: string[] = [];

  beforeAll(async () => {
    let flakyCalls = 0;
    receiver = await startRecorder((req, _index, res) => {
      const path = req.path.split("?")[0];
      if (path === "/reject") res.writeHead(400).end();
      else if (path === "/flaky" && flakyCalls++ === 0) res.writeHead(503).end();
      else res.writeHead(200).end();
    });
    const webhook = (path: string, extra = "") =>
      `webhook: { post_inference_hooks: [callback], default_callback_url: "${receiver.url}${path}?token=abc", allow_networks: [127.0.0.0/8]${extra} }`;
    t = await startTestRuntime({
      env: { ...process.env, TEST_SIGNING_SECRET: signingSecret },
      yaml:
        api(`name: sum\nkind: AsyncAPI\npredictor: { type: typescript, path: ${sum} }\n${webhook("/hook", ", signing_secret: \"${TEST_SIGNING_SECRET}\"")}`) +
        api(`name: flaky\nkind: AsyncAPI\npredictor: { type: typescript, path: ${echo} }\n${webhook("/flaky", ", retry_schedule_s: [0, 0.05]")}`) +
        api(`name: reject\nkind: AsyncAPI\npredictor: { type: typescript, path: ${echo} }\n${webhook("/reject")}`) +
        api(`name: slow\nkind: AsyncAPI\npredictor: { type: typescript, path: ${echo}, threads_per_process: 1 }\nautoscaling: { max_replica_concurrency: 3 }`) +
        api(`name: sum-now\nkind: RealtimeAPI\npredictor: { type: typescript, path: ${sum} }`),
    });
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  it("starts with every API's series at 0, and the process metrics", async () => {
    const { samples, contentType } = await scrape(t.url);
    expect(contentType).toBe("text/plain; version=0.0.4; charset=utf-8");
    for (const name of ["sum", "flaky", "reject", "slow", "sum-now"]) {
      for (const status of ["submitted", "completed", "failed"]) expect(sampleValue(samples, "predictor_runtime_tasks_total", { api: name, status })).toBe(0);
      expect(sampleValue(samples, "predictor_runtime_predict_duration_seconds_count", { api: name })).toBe(0);
      expect(sampleValue(samples, "predictor_runtime_queue_depth", { api: name })).toBe(0);
    }
    for (const outcome of ["delivered", "rejected", "gone", "retryable", "timeout", "refused"]) {
      expect(sampleValue(samples, "predictor_runtime_webhook_attempts_total", { api: "sum", outcome })).toBe(0);
    }
    // No report is ever sent for an API without callback in its hooks, so it has no webhook series.
    expect(samples.some((s) => s.name.startsWith("predictor_runtime_webhook") && s.labels.api === "slow")).toBe(false);
    expect(sampleValue(samples, "predictor_runtime_queue_capacity", { api: "slow" })).toBe(3);
    expect(sampleValue(samples, "predictor_runtime_queue_capacity", { api: "sum" })).toBe(1024);
    expect(sampleValue(samples, "process_cpu_user_seconds_total")).toBeGreaterThan(0);
    expect(samples.some((s) => s.name === "nodejs_eventloop_lag_seconds")).toBe(true);
  });

  it("shows queued and running tasks, and the queue depth against its capacity, while they wait", async () => {
    const ids = await Promise.all([0, 1, 2].map(async () => (await post(t.url, "/slow", { delay_ms: 600 }).expect(202)).body.id as string));
    taskIds.push(...ids);
    await post(t.url, "/slow", {}).expect(503); // the 4th is over max_replica_concurrency
    const { samples } = await waitUntil("one task runs and two wait", async () => {
      const scraped = await scrape(t.url);
      return sampleValue(scraped.samples, "predictor_runtime_tasks", { api: "slow", status: "in_progress" }) === 1 && scraped;
    });
    expect(sampleValue(samples, "predictor_runtime_tasks", { api: "slow", status: "in_queue" })).toBe(2);
    expect(sampleValue(samples, "predictor_runtime_queue_depth", { api: "slow" })).toBe(3);
    expect(sampleValue(samples, "predictor_runtime_tasks_total", { api: "slow", status: "submitted" })).toBe(3);
    await waitUntil("the slow tasks finished", async () => {
      const scraped = await scrape(t.url);
      return sampleValue(scraped.samples, "predictor_runtime_tasks_total", { api: "slow", status: "completed" }) === 3 && scraped;
    });
    const after = (await scrape(t.url)).samples;
    expect(sampleValue(after, "predictor_runtime_queue_depth", { api: "slow" })).toBe(0);
    expect(sampleValue(after, "predictor_runtime_tasks", { api: "slow", status: "in_queue" })).toBe(0);
    expect(sampleValue(after, "predictor_runtime_tasks", { api: "slow", status: "in_progress" })).toBe(0);
    // Each took about 600 ms in predict().
    expect(sampleValue(after, "predictor_runtime_predict_duration_seconds_count", { api: "slow" })).toBe(3);
    expect(sampleValue(after, "predictor_runtime_predict_duration_seconds_sum", { api: "slow" })).toBeGreaterThanOrEqual(1.7);
    expect(sampleValue(after, "predictor_runtime_predict_duration_seconds_bucket", { api: "slow", le: "0.5" })).toBe(0);
    expect(sampleValue(after, "predictor_runtime_predict_duration_seconds_bucket", { api: "slow", le: "2.5" })).toBe(3);
  });

  it("counts tasks, predictions and webhook attempts by API and outcome after real traffic", async () => {
    const submitted = await Promise.all([
      post(t.url, "/sum", { x: 1, y: "a" }).expect(202),
      post(t.url, "/sum", { x: 2, y: "bb" }).expect(202),
      post(t.url, "/sum", { x: 3, y: "ccc" }).expect(202),
      post(t.url, "/sum", { x: "not a number" }).expect(202),
      post(t.url, "/flaky", { a: 1 }).expect(202),
      post(t.url, "/reject", { a: 1 }).expect(202),
    ]);
    // A repeated x-request-id is the same task, not a new one.
    const keyed = await post(t.url, "/sum", { x: 0, y: "" }).set("x-request-id", "metrics-key").expect(202);
    await post(t.url, "/sum", { x: 0, y: "" }).set("x-request-id", "metrics-key").expect(202);
    await post(t.url, "/sum-now", { x: 1, y: "a" }).expect(200);
    await post(t.url, "/sum-now", { x: 2, y: "b" }).expect(200);
    await post(t.url, "/sum-now", { x: "bad" }).expect(500);
    const apisOf = ["sum", "sum", "sum", "sum", "flaky", "reject"];
    const ids = submitted.map((response) => response.body.id as string);
    taskIds.push(...ids, keyed.body.id as string);
    await Promise.all(ids.map((id, i) => webhookSettled(t.url, apisOf[i]!, id)));
    await webhookSettled(t.url, "sum", keyed.body.id as string);

    const { samples, text } = await scrape(t.url);
    const value = (name: string, labels: Record<string, string>) => sampleValue(samples, `predictor_runtime_${name}`, labels);
    expect(value("tasks_total", { api: "sum", status: "submitted" })).toBe(5);
    expect(value("tasks_total", { api: "sum", status: "completed" })).toBe(4);
    expect(value("tasks_total", { api: "sum", status: "failed" })).toBe(1);
    expect(value("tasks_total", { api: "sum-now", status: "submitted" })).toBe(3);
    expect(value("tasks_total", { api: "sum-now", status: "completed" })).toBe(2);
    expect(value("tasks_total", { api: "sum-now", status: "failed" })).toBe(1);
    expect(value("predict_duration_seconds_count", { api: "sum" })).toBe(5);
    expect(value("predict_duration_seconds_count", { api: "sum-now" })).toBe(3);

    expect(value("webhook_attempts_total", { api: "sum", outcome: "delivered" })).toBe(5);
    expect(value("webhook_attempts_total", { api: "flaky", outcome: "retryable" })).toBe(1);
    expect(value("webhook_attempts_total", { api: "flaky", outcome: "delivered" })).toBe(1);
    expect(value("webhook_attempts_total", { api: "reject", outcome: "rejected" })).toBe(1);
    expect(value("webhook_attempts_total", { api: "reject", outcome: "delivered" })).toBe(0);
    expect(value("webhook_attempt_duration_seconds_count", { api: "flaky" })).toBe(2);
    expect(value("webhook_reports_total", { api: "sum", status: "delivered" })).toBe(5);
    expect(value("webhook_reports_total", { api: "flaky", status: "delivered" })).toBe(1);
    expect(value("webhook_reports_total", { api: "reject", status: "failed" })).toBe(1);
    // Latency runs from the task finishing to delivery: the flaky report waited out a 50 ms (+-20%) retry.
    expect(value("webhook_delivery_latency_seconds_count", { api: "sum" })).toBe(5);
    expect(value("webhook_delivery_latency_seconds_count", { api: "flaky" })).toBe(1);
    expect(value("webhook_delivery_latency_seconds_count", { api: "reject" })).toBe(0);
    expect(value("webhook_delivery_latency_seconds_sum", { api: "flaky" })).toBeGreaterThanOrEqual(0.04);
    expect(value("webhook_delivery_latency_seconds_sum", { api: "flaky" })).toBeLessThan(10);

    // Bounded labels: API names, outcomes, statuses; never a task id, a callback URL or a secret.
    const ownLabels = new Set(samples.filter((s) => s.name.startsWith("predictor_runtime_")).flatMap((s) => Object.keys(s.labels)));
    expect([...ownLabels].sort()).toEqual(["api", "le", "outcome", "status", "version"]);
    for (const leak of [...taskIds, receiver.url, "token=abc", signingSecret, signingSecret.slice("whsec_".length)]) expect(text).not.toContain(leak);
  });

  it("keeps each runtime's metrics apart when two run in one process", async () => {
    const other = await startTestRuntime({ yaml: api(`name: sum\nkind: AsyncAPI\npredictor: { type: typescript, path: ${sum} }`) });
    try {
      const { id } = (await post(other.url, "/sum", { x: 1, y: "" }).expect(202)).body as { id: string };
      await waitUntil("the other runtime's task finished", async () => (await request(other.url).get(`/sum/${id}`)).body.status === "completed");
      const mine = (await scrape(t.url)).samples;
      const theirs = (await scrape(other.url)).samples;
      expect(sampleValue(theirs, "predictor_runtime_tasks_total", { api: "sum", status: "submitted" })).toBe(1);
      expect(sampleValue(mine, "predictor_runtime_tasks_total", { api: "sum", status: "submitted" })).toBe(5);
      expect(theirs.some((s) => s.labels.api === "slow")).toBe(false);
      expect(sampleValue(theirs, "process_cpu_user_seconds_total")).toBeGreaterThan(0);
    } finally {
      await other.close();
    }
  });
});
