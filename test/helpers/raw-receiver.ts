import { createServer, type AddressInfo, type Socket } from "node:net";
import { waitUntil } from "./wait-until.js";

/** What a raw receiver does once a whole request (head and content-length body) has arrived on `socket`. */
export type RawFault = (socket: Socket, index: number) => void;

/** A TCP server speaking just enough HTTP/1.1 to inject faults a real HTTP server would never make. */
export interface RawReceiver {
  url: string;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Connections open now (closed by either side once counted down). */
  readonly openConnections: number;
  /** Requests read in full. */
  readonly requests: number;
  /** Resolves once every accepted connection has closed. */
  waitUntilAllClosed(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Starts a raw receiver on 127.0.0.1, port 0; each complete request is handed to `fault`. */
export async function startRawReceiver(fault: RawFault): Promise<RawReceiver> {
  let connections = 0;
  let requests = 0;
  const open = new Set<Socket>();
  const server = createServer((socket) => {
    connections++;
    open.add(socket);
    socket.on("close", () => open.delete(socket));
    socket.on("error", () => undefined);
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      const headEnd = buffered.indexOf("\r\n\r\n");
      if (headEnd === -1) return;
      const length = Number(/content-length:\s*(\d+)/i.exec(buffered.subarray(0, headEnd).toString("latin1"))?.[1] ?? 0);
      if (buffered.length < headEnd + 4 + length) return;
      socket.off("data", onData);
      fault(socket, requests++);
    };
    socket.on("data", onData);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    get openConnections() {
      return open.size;
    },
    get requests() {
      return requests;
    },
    waitUntilAllClosed: async (timeoutMs = 5000) => {
      await waitUntil(`every connection closed (${open.size} open)`, () => open.size === 0, timeoutMs);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * Writes `text` one byte every `intervalMs` until it is all sent or the peer goes away; a receiver trickling its
 * answer so that idle timers never fire.
 */
export function dribble(socket: Socket, text: string, intervalMs = 100): void {
  let sent = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || sent >= text.length) {
      clearInterval(timer);
      return;
    }
    socket.write(text[sent++]!);
  }, intervalMs);
  socket.on("close", () => clearInterval(timer));
}

/** A complete HTTP/1.1 answer with a body. */
export function httpAnswer(status: number, body = "", headers: Record<string, string> = {}): string {
  const lines = [`HTTP/1.1 ${status} Status`, `content-length: ${Buffer.byteLength(body)}`, ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)];
  return `${lines.join("\r\n")}\r\n\r\n${body}`;
}
