import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer, type ServerOptions as HttpsServerOptions } from "node:https";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";
import { waitUntil } from "./wait-until.js";

/** One request a {@link Recorder} received. */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  json: unknown;
  receivedAt: number;
  /** HTTPS only: the common name of the client certificate presented, if any. */
  clientCertificate?: string;
}

/** Decides the answer to the Nth request (0-based); the default answers 200. */
export type Responder = (request: RecordedRequest, index: number, res: ServerResponse) => void;

/** A minimal HTTP receiver for runtime tests: records every request and answers as `respond` says. */
export interface Recorder {
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** TCP connections accepted, whether or not a request followed. */
  readonly connections: number;
  /** HTTPS only: handshakes the server refused (no or untrusted client certificate, ...). */
  readonly tlsClientErrors: number;
  /** Resolves with the requests once `count` arrived. */
  waitFor(count: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  close(): Promise<void>;
}

/** Options of {@link startRecorder}. */
export interface RecorderOptions {
  /** @defaultValue "127.0.0.1" */
  host?: string;
  /** @defaultValue 0 (a free port) */
  port?: number;
  /** Serve HTTPS with these options (cert, key, and for mTLS ca + requestCert + rejectUnauthorized). */
  tls?: HttpsServerOptions;
}

/** Starts a recorder on 127.0.0.1 (or `options.host`), port 0. */
export async function startRecorder(respond?: Responder, options: RecorderOptions = {}): Promise<Recorder> {
  const requests: RecordedRequest[] = [];
  let connections = 0;
  let tlsClientErrors = 0;
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
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
      if (options.tls) {
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        if (peer && typeof peer.subject?.CN === "string") request.clientCertificate = peer.subject.CN;
      }
      const index = requests.push(request) - 1;
      if (respond) respond(request, index, res);
      else res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
    });
  };
  const server = options.tls ? createHttpsServer(options.tls, handle) : createServer(handle);
  server.on("connection", () => connections++);
  server.on("tlsClientError", () => tlsClientErrors++);
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `${options.tls ? "https" : "http"}://${urlHost}:${port}`,
    port,
    requests,
    get connections() {
      return connections;
    },
    get tlsClientErrors() {
      return tlsClientErrors;
    },
    waitFor: (count, timeoutMs = 10_000) => waitUntil(`${count} requests arrived (have ${requests.length})`, () => requests.length >= count && requests, timeoutMs),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Answers the Nth request with `statuses[N]` (the last one repeats), with the headers given for that status. */
export function answerWith(statuses: readonly number[], headers: Record<number, Record<string, string>> = {}): Responder {
  return (_request, index, res) => {
    const status = statuses[Math.min(index, statuses.length - 1)] ?? 200;
    res.writeHead(status, { "content-type": "application/json", ...headers[status] }).end(JSON.stringify({ status }));
  };
}
