import { STATUS_CODES, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { ConnectionTracker } from "./connection-tracker.js";
import type { PlannedAnswer } from "./rules/rule-set.js";
import type { TimerRegistry } from "./timer-registry.js";

/** What writing an answer needs from the receiver. */
export interface AnswerContext {
  timers: TimerRegistry;
  connections: ConnectionTracker;
}

/** Bytes a `malformed` answer sends: a valid status line, then a line no HTTP parser accepts as a header. */
export const malformedAnswer = Buffer.from("HTTP/1.1 200 OK\r\n\u0001\u0002 this is not a header \u00ff\r\n\r\n{garbage", "latin1");

/**
 * Sends a planned answer: waits its delay, then answers normally or breaks the connection as its fault says.
 * Resolves when the answer is fully sent or the connection is gone; a hang resolves at once and leaves the
 * socket to close() (or to the client).
 */
export async function writeAnswer(request: IncomingMessage, response: ServerResponse, answer: PlannedAnswer, context: AnswerContext): Promise<void> {
  const socket = request.socket;
  if (answer.delayMs > 0) {
    const waited = await context.timers.sleep(answer.delayMs);
    if (!waited || socket.destroyed) return;
  }
  switch (answer.fault) {
    case null:
      writeNormally(request, response, answer);
      return;
    case "reset":
      // RST instead of FIN: the client sees ECONNRESET, not a clean close.
      context.connections.tcpSocketOf(socket).resetAndDestroy();
      return;
    case "empty":
      socket.destroy();
      return;
    case "malformed":
      socket.end(malformedAnswer);
      return;
    case "hang":
      return;
    case "dribble":
      // Nagle's algorithm would batch the bytes; on TLS the TCP socket underneath is the one to tell.
      context.connections.tcpSocketOf(socket).setNoDelay(true);
      await dribble(socket, serializeAnswer(request, answer), answer.dribbleIntervalMs, context.timers);
      return;
  }
}

function writeNormally(request: IncomingMessage, response: ServerResponse, answer: PlannedAnswer): void {
  const body = hasBody(request, answer.status) ? answer.body : Buffer.alloc(0);
  response.writeHead(answer.status, { ...answer.headers, "content-length": String(body.length) });
  response.end(body);
}

/** The whole answer as raw HTTP/1.1 bytes, for a fault that writes to the socket itself. */
export function serializeAnswer(request: IncomingMessage, answer: PlannedAnswer): Buffer {
  const body = hasBody(request, answer.status) ? answer.body : Buffer.alloc(0);
  const headers = { ...answer.headers, "content-length": String(body.length), connection: "close" };
  const head =
    `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? "Unknown"}\r\n` +
    Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join("") +
    "\r\n";
  return Buffer.concat([Buffer.from(head, "latin1"), body]);
}

/**
 * Sends `bytes` one at a time, `intervalMs` apart, then closes. It ends by itself after `bytes.length` steps,
 * and stops early when the client goes away or the receiver closes.
 */
async function dribble(socket: Socket, bytes: Buffer, intervalMs: number, timers: TimerRegistry): Promise<void> {
  for (let offset = 0; offset < bytes.length; offset += 1) {
    if (socket.destroyed || !socket.writable) return;
    socket.write(bytes.subarray(offset, offset + 1));
    if (offset + 1 < bytes.length && !(await timers.sleep(intervalMs))) return;
  }
  socket.end();
}

function hasBody(request: IncomingMessage, status: number): boolean {
  return request.method !== "HEAD" && status !== 204 && status !== 304 && status >= 200;
}
