import { createHash } from "node:crypto";
import { Agent, buildConnector, type Dispatcher } from "undici";
import { ErrorCode, RuntimeError } from "../errors.js";
import type { CallbackAuth, MtlsCallbackAuth } from "../tasks/task.js";
import type { NetworkGuard } from "./network-guard.js";

/** Options of {@link ConnectionPool}. */
export interface ConnectionPoolOptions {
  /** Dispatchers kept at once; beyond it the least recently used one is closed. @defaultValue 100 */
  maxDispatchers?: number;
  /** Longest wait for a TCP/TLS connection; the attempt's timeout_s still bounds the whole exchange. @defaultValue 10 s */
  connectTimeoutMs?: number;
}

const DEFAULT_MAX_DISPATCHERS = 100;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/**
 * The undici dispatchers (connection pools) reports are sent through, one per network guard and client certificate,
 * built once and reused, so keep-alive connections and TLS sessions survive from one report to the next. Every
 * dispatcher connects only through its guard: names resolve through the guard's lookup, and IP literals (which never
 * reach a lookup) are checked before a socket is opened.
 */
export class ConnectionPool {
  readonly #maxDispatchers: number;
  readonly #connectTimeoutMs: number;
  /** Insertion order is recency: a hit is moved to the end, eviction takes the first. */
  readonly #dispatchers = new Map<string, Agent>();
  readonly #closing = new Set<Promise<void>>();
  #closed = false;

  constructor(options: ConnectionPoolOptions = {}) {
    this.#maxDispatchers = options.maxDispatchers ?? DEFAULT_MAX_DISPATCHERS;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  }

  /** Dispatchers held now. */
  get size(): number {
    return this.#dispatchers.size;
  }

  /** The dispatcher for reports guarded by `guard` and sent with `auth` (only a client certificate matters here). */
  dispatcherFor(guard: NetworkGuard, auth: CallbackAuth | undefined): Dispatcher {
    if (this.#closed) throw new RuntimeError(ErrorCode.shuttingDown, "the connection pool is closed; the runtime is shutting down");
    const certificate = auth?.kind === "mtls" ? auth : undefined;
    const key = `${guard.id}/${certificate === undefined ? "anonymous" : fingerprint(certificate)}`;
    const cached = this.#dispatchers.get(key);
    if (cached !== undefined) {
      this.#dispatchers.delete(key);
      this.#dispatchers.set(key, cached);
      return cached;
    }
    const agent = new Agent({ connect: this.#connector(guard, certificate) });
    this.#dispatchers.set(key, agent);
    while (this.#dispatchers.size > this.#maxDispatchers) {
      const [oldestKey, oldest] = this.#dispatchers.entries().next().value as [string, Agent];
      this.#dispatchers.delete(oldestKey);
      // close() lets attempts already running on it finish, then frees its sockets.
      this.#track(oldest.close());
    }
    return agent;
  }

  /** Closes every dispatcher, letting running requests finish. Later calls of dispatcherFor throw. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const agent of this.#dispatchers.values()) this.#track(agent.close());
    this.#dispatchers.clear();
    await Promise.allSettled([...this.#closing]);
  }

  #connector(guard: NetworkGuard, certificate: MtlsCallbackAuth | undefined): buildConnector.connector {
    const connect = buildConnector({
      timeout: this.#connectTimeoutMs,
      lookup: guard.lookup,
      ...(certificate === undefined
        ? {}
        : { cert: certificate.cert, key: certificate.key, ...(certificate.ca === undefined ? {} : { ca: certificate.ca }) }),
    });
    return (options, callback) => {
      const refusal = guard.refusedLiteral(options.hostname);
      if (refusal !== undefined) {
        queueMicrotask(() => callback(refusal, null));
        return;
      }
      connect(options, callback);
    };
  }

  #track(closing: Promise<void>): void {
    const tracked = closing.catch(() => undefined).finally(() => this.#closing.delete(tracked));
    this.#closing.add(tracked);
  }
}

/** Identifies a credential set without holding its text: a key in a log or heap dump reveals nothing. */
function fingerprint(certificate: MtlsCallbackAuth): string {
  return createHash("sha256")
    .update(JSON.stringify([certificate.cert, certificate.key, certificate.ca ?? null]))
    .digest("hex");
}
