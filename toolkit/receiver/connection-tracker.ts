import type { Server } from "node:http";
import type { Socket } from "node:net";

/**
 * The raw TCP sockets of a listener. close() destroys them all (hung, dribbling, mid-handshake and keep-alive
 * connections alike), and a TLS connection is mapped back to its TCP socket, because only a TCP socket can
 * be closed with a reset (`resetAndDestroy` refuses a TLS socket).
 */
export class ConnectionTracker {
  readonly #byRemote = new Map<string, Socket>();

  /** Starts tracking every connection the server accepts. */
  attach(server: Server): void {
    server.on("connection", (socket: Socket) => {
      const key = remoteKey(socket);
      this.#byRemote.set(key, socket);
      socket.once("close", () => {
        if (this.#byRemote.get(key) === socket) this.#byRemote.delete(key);
      });
    });
  }

  /** The TCP socket under `socket` (itself for plain HTTP). */
  tcpSocketOf(socket: Socket): Socket {
    return this.#byRemote.get(remoteKey(socket)) ?? socket;
  }

  /** Number of open connections. */
  get size(): number {
    return this.#byRemote.size;
  }

  /** Destroys every open connection. */
  destroyAll(): void {
    for (const socket of this.#byRemote.values()) socket.destroy();
    this.#byRemote.clear();
  }
}

/** Address and port of the peer: unique among a listener's open connections. */
function remoteKey(socket: Socket): string {
  return `${socket.remoteAddress ?? "?"}|${socket.remotePort ?? "?"}`;
}
