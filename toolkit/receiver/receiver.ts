import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { ToolkitError, ToolkitErrorCode } from "../errors.js";
import { AdminApi, sendJson } from "./admin/admin-api.js";
import { EventStream } from "./admin/event-stream.js";
import { ConnectionTracker } from "./connection-tracker.js";
import type { Delivery } from "./delivery.js";
import { DeliveryRecorder } from "./delivery-recorder.js";
import { DeliveryStore } from "./delivery-store.js";
import { resolveReceiverOptions, type ReceiverOptions, type ResolvedReceiverOptions } from "./receiver-options.js";
import type { ReceiverRule, RulesDocument } from "./rules/receiver-rule.js";
import { parseRulesDocument } from "./rules/rule-schema.js";
import { RuleSet } from "./rules/rule-set.js";
import { TimerRegistry } from "./timer-registry.js";
import { SignatureVerifier } from "./verdicts/signature-verdict.js";

/** Options of {@link MockReceiver.waitFor}. */
export interface WaitForOptions {
  /** Deliveries recorded since the last clear() to wait for. */
  count: number;
  /** @defaultValue 10000 */
  timeoutMs?: number;
}

/**
 * A mock webhook receiver (contract section 6): records every request outside `/_/` with its verdicts, answers
 * by its rules, and serves the admin API and live page under `/_/`. Start it, point a sender at `url`, then
 * read `deliveries` or await `waitFor`; close() ends every connection (hung and dribbling ones too) and timer.
 */
export class MockReceiver {
  readonly #options: ResolvedReceiverOptions;
  readonly #timers = new TimerRegistry();
  readonly #connections = new ConnectionTracker();
  readonly #store: DeliveryStore;
  readonly #rules: RuleSet;
  readonly #events: EventStream;
  readonly #admin: AdminApi;
  readonly #recorder: DeliveryRecorder;
  readonly #server: Server;
  #url = "";
  #state: "new" | "listening" | "closed" = "new";

  /** Checks the options (throws ToolkitError) without opening a port; call start() next. */
  constructor(options: ReceiverOptions = {}) {
    this.#options = resolveReceiverOptions(options);
    const { maxDeliveries, maxStoredBytes } = this.#options;
    this.#store = new DeliveryStore({ maxDeliveries, maxStoredBytes });
    this.#rules = new RuleSet(this.#options.rules);
    this.#events = new EventStream(this.#store, this.#timers);
    this.#admin = new AdminApi({
      store: this.#store,
      events: this.#events,
      baseUrl: () => this.#url,
      listenHost: this.#options.host,
      rules: () => ({ rules: [...this.#rules.rules] }),
      setRules: (document) => this.#replaceRules(document),
      resendAllow: this.#options.resendAllow,
    });
    const { basic, secret, signatureToleranceS, clientCa, enforce, quirks, maxBodyBytes, onDelivery } = this.#options;
    this.#recorder = new DeliveryRecorder({
      store: this.#store,
      rules: this.#rules,
      timers: this.#timers,
      connections: this.#connections,
      basic,
      signature: secret === undefined ? undefined : new SignatureVerifier(secret, { toleranceS: signatureToleranceS, quirks }),
      mtls: clientCa !== undefined,
      enforce,
      quirks,
      maxBodyBytes,
      onDelivery,
    });
    this.#server = this.#createServer();
  }

  /** Listens on the configured host and port; resolves once `url` is known. */
  async start(): Promise<this> {
    if (this.#state !== "new") throw new ToolkitError(ToolkitErrorCode.optionInvalid, "a receiver can be started only once");
    const { host, port } = this.#options;
    await new Promise<void>((resolve, reject) => {
      const refuse = (error: NodeJS.ErrnoException): void => {
        reject(
          error.code === "EADDRINUSE"
            ? new ToolkitError(ToolkitErrorCode.portInUse, `port ${port} on ${host} is in use; pick another (port 0 picks a free one)`, { cause: error })
            : error,
        );
      };
      this.#server.once("error", refuse);
      this.#server.listen(port, host, () => {
        this.#server.off("error", refuse);
        resolve();
      });
    });
    const address = this.#server.address() as AddressInfo;
    const scheme = this.#options.tls === undefined ? "http" : "https";
    this.#url = `${scheme}://${host.includes(":") ? `[${host}]` : host}:${address.port}`;
    this.#state = "listening";
    return this;
  }

  /** `http://127.0.0.1:PORT` (or https), without a trailing slash; empty before start(). */
  get url(): string {
    return this.#url;
  }

  /** The recorded deliveries, oldest first (the newest 10,000 by default; see `maxDeliveries`). */
  get deliveries(): readonly Delivery[] {
    return this.#store.list();
  }

  /** The rules in force. */
  get rules(): readonly ReceiverRule[] {
    return this.#rules.rules;
  }

  /**
   * Resolves with the deliveries as soon as `count` have been recorded since the last clear(), or rejects with
   * a WAIT_TIMEOUT ToolkitError that lists what did arrive ("expected 3 deliveries within 2000 ms, got 1: ...").
   */
  waitFor(options: WaitForOptions): Promise<Delivery[]> {
    const { count, timeoutMs = 10_000 } = options;
    if (!Number.isInteger(count) || count < 1 || !Number.isFinite(timeoutMs) || timeoutMs < 0) {
      return Promise.reject(
        new ToolkitError(ToolkitErrorCode.optionInvalid, `waitFor needs a whole count >= 1 and timeoutMs >= 0, got ${count} and ${timeoutMs}`),
      );
    }
    return this.#store.waitFor(count, timeoutMs);
  }

  /** Replaces the rules (and their counters); throws RULES_INVALID naming the bad field. */
  setRules(rules: readonly ReceiverRule[]): void {
    this.#replaceRules({ rules });
  }

  /** Forgets every delivery and restarts the count waits compare against. */
  clear(): void {
    this.#store.clear();
  }

  /** Stops listening, ends every connection, wait and timer; resolves when the port is released. */
  async close(): Promise<void> {
    if (this.#state === "closed") return;
    const wasListening = this.#state === "listening";
    this.#state = "closed";
    const closed = wasListening ? new Promise<void>((resolve) => this.#server.close(() => resolve())) : Promise.resolve();
    this.#events.closeAll();
    this.#store.close();
    this.#timers.close();
    this.#connections.destroyAll();
    await closed;
  }

  #replaceRules(document: unknown): RulesDocument {
    const parsed = parseRulesDocument(document);
    this.#rules.replace(parsed.rules);
    return { rules: [...parsed.rules] };
  }

  #createServer(): Server {
    const { tls, clientCa } = this.#options;
    const listener = (request: IncomingMessage, response: ServerResponse): void => {
      const work = AdminApi.handles(request) ? this.#admin.handle(request, response) : this.#recorder.handle(request, response);
      work.catch(() => {
        // A client that went away mid-request needs no answer; anything else gets a 500 if it still can.
        if (!response.headersSent && !request.socket.destroyed) sendJson(response, 500, { error: "the receiver failed to handle this request" });
        else request.socket.destroy();
      });
    };
    const server =
      tls === undefined
        ? createHttpServer(listener)
        : createHttpsServer(
            {
              cert: tls.cert,
              key: tls.key,
              ...(clientCa === undefined ? {} : { ca: clientCa, requestCert: true, rejectUnauthorized: false }),
            },
            listener,
          );
    this.#connections.attach(server);
    return server;
  }
}

/** Starts a {@link MockReceiver}; the usual way in from a test: `const receiver = await startReceiver()`. */
export async function startReceiver(options: ReceiverOptions = {}): Promise<MockReceiver> {
  return new MockReceiver(options).start();
}
