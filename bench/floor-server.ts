/**
 * The floor: the least an express + undici server can do for an async task. It answers 202 with an id, then calls
 * the receiver back with the same report a runtime would send, from memory, with no queue, no persistence and no
 * retry. Run as a child process by the bench: `node bin/run-ts.js bench/floor-server.ts --callback-url URL`.
 */
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import express from "express";
import { Agent, request } from "undici";

const { values } = parseArgs({ options: { "callback-url": { type: "string" }, port: { type: "string", default: "0" } } });
const callbackUrl = values["callback-url"];
if (callbackUrl === undefined) {
  process.stderr.write("usage: floor-server.ts --callback-url URL [--port N]\n");
  process.exit(2);
}

const agent = new Agent();
const app = express();
app.disable("x-powered-by");
app.set("etag", false);
app.post("/:api", express.json({ limit: "10mb", type: () => true }), (req, res) => {
  const id = randomUUID();
  res.status(202).json({ id });
  const body = JSON.stringify({ id, status: "completed", result: req.body as unknown, timestamp: new Date().toISOString() });
  request(callbackUrl, { method: "POST", headers: { "content-type": "application/json", "x-request-id": id }, body, dispatcher: agent })
    .then((response) => response.body.dump())
    .catch(() => undefined); // The floor does not retry: that is the durability it does not pay for.
});

const server = app.listen(Number(values.port), "127.0.0.1", () => {
  const { port } = server.address() as AddressInfo;
  process.stderr.write(`floor serving http://127.0.0.1:${port}\n`);
});
process.on("SIGTERM", () => {
  server.close();
  server.closeAllConnections();
  void agent.close().then(() => process.exit(0));
});
