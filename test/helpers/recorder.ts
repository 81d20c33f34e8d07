import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { waitUntil } from "./wait-until.js";

/** One request a {@link Recorder} received. */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  json: unknown;
  receivedAt: number;
}

/** Decides the answer to the Nth request (0-based); the default answers 200. */
export type Responder = (request: RecordedRequest, index: number, res: ServerResponse) => void;

/** A minimal HTTP receiver for runtime tests: records every request and answers as `respond` says. */
export interface Recorder {
  url: string;
  requests: RecordedRequest[];
  /** Resolves with the requests once `count` arrived. */
  waitFor(count: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  close(): Promise<void>;
}

/** Starts a recorder on 127.0.0.1, port 0. */
export async function startRecorder(respond?: Responder): Promise<Recorder> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      const request: RecordedRequest = { method: req.method ?? "", path: req.url ?? "", headers: req.headers, body, json, receivedAt: Date.now() };
      const index = requests.push(request) - 1;
      if (respond) respond(request, index, res);
      else res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    waitFor: (count, timeoutMs = 10_000) => waitUntil(`${count} requests arrived (have ${requests.length})`, () => requests.length >= count && requests, timeoutMs),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
