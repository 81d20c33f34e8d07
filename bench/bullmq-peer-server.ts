/**
 * The BullMQ peer: what a Node engineer would hand-roll on Redis instead of this runtime. express answers 202 with
 * the job id, a BullMQ Worker (concurrency 64) runs the no-op predict and calls the receiver back with undici; a
 * failed callback throws, so BullMQ retries it. Durable as far as Redis's AOF is. Run as a child process by the
 * bench: `node bin/run-ts.js bench/bullmq-peer-server.ts --callback-url URL --redis-url URL`.
 */
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { Queue, Worker } from "bullmq";
import express from "express";
import { Agent, request } from "undici";

const { values } = parseArgs({ options: { "callback-url": { type: "string" }, "redis-url": { type: "string" }, port: { type: "string", default: "0" } } });
const callbackUrl = values["callback-url"];
const redisUrl = values["redis-url"];
if (callbackUrl === undefined || redisUrl === undefined) {
  process.stderr.write("usage: bullmq-peer-server.ts --callback-url URL --redis-url URL [--port N]\n");
  process.exit(2);
}
const { hostname, port } = new URL(redisUrl);
const connection = { host: hostname, port: Number(port), maxRetriesPerRequest: null };

const agent = new Agent();
const queue = new Queue("noop", { connection });
const worker = new Worker(
  "noop",
  async (job) => {
    const body = JSON.stringify({ id: job.id, status: "completed", result: job.data as unknown, timestamp: new Date().toISOString() });
    const response = await request(callbackUrl, { method: "POST", headers: { "content-type": "application/json", "x-request-id": job.id! }, body, dispatcher: agent });
    await response.body.dump();
    if (response.statusCode >= 300) throw new Error(`receiver answered ${response.statusCode}`);
  },
  { connection, concurrency: 64 },
);

const app = express();
app.disable("x-powered-by");
app.set("etag", false);
app.post("/:api", express.json({ limit: "10mb", type: () => true }), async (req, res) => {
  const job = await queue.add("task", req.body, { attempts: 10, backoff: { type: "exponential", delay: 1000 }, removeOnComplete: true, removeOnFail: 10_000 });
  res.status(202).json({ id: job.id });
});

const server = app.listen(Number(values.port), "127.0.0.1", () => {
  const { port: listening } = server.address() as AddressInfo;
  process.stderr.write(`bullmq peer serving http://127.0.0.1:${listening}\n`);
});
process.on("SIGTERM", () => {
  server.close();
  server.closeAllConnections();
  void Promise.all([worker.close(), queue.close(), agent.close()]).then(() => process.exit(0));
});
