import type { ApiConfig } from "../config/api-config.js";
import { defaultAuthFor } from "../outbox/plan-delivery.js";
import type { DeliveryRecord } from "../tasks/delivery.js";
import { ConnectionPool } from "./connection-pool.js";
import { NetworkGuard } from "./network-guard.js";
import type { AttemptOutcome } from "./retry-policy.js";
import { sendAttempt } from "./send-attempt.js";

/** The API settings an attempt reads: its name (the network guard's) and its webhook section. */
export type AttemptApi = Pick<ApiConfig, "name" | "webhook">;

/**
 * Sends single attempts of reports for the dispatcher. `send` resolves to how the attempt ended and never throws;
 * aborting `signal` (shutdown) cuts attempts off, and their outcome is then not recorded.
 */
export interface AttemptSender {
  send(delivery: DeliveryRecord, api: AttemptApi, signal: AbortSignal, now?: () => number): Promise<AttemptOutcome>;
  /** Lets running attempts end, then frees every connection. */
  close(): Promise<void>;
}

/** One network guard per API: allow_networks is an API setting, and refusal messages name the API. */
export function networkGuards(apis: readonly AttemptApi[]): Map<string, NetworkGuard> {
  return new Map(apis.map((api) => [api.name, new NetworkGuard({ allowNetworks: api.webhook.allowNetworks, apiName: api.name })]));
}

/**
 * Sends attempts in the calling thread: picks the credentials (the request's, or the API's default where it may go),
 * the connection pool for the API's guard and client certificate, and makes the exchange. Used inside the attempt
 * thread (see AttemptThread), and directly where a thread is not wanted.
 */
export class InThreadSender implements AttemptSender {
  readonly #connections = new ConnectionPool();
  readonly #guards: Map<string, NetworkGuard>;

  constructor(apis: readonly AttemptApi[]) {
    this.#guards = networkGuards(apis);
  }

  send(delivery: DeliveryRecord, api: AttemptApi, signal: AbortSignal, now?: () => number): Promise<AttemptOutcome> {
    const auth = delivery.auth ?? defaultAuthFor(api, delivery.url);
    let guard = this.#guards.get(api.name);
    if (guard === undefined) this.#guards.set(api.name, (guard = networkGuards([api]).get(api.name)!));
    const through = this.#connections.dispatcherFor(guard, auth);
    return sendAttempt(delivery, api.webhook, { dispatcher: through, auth, signal, ...(now === undefined ? {} : { now }) });
  }

  close(): Promise<void> {
    return this.#connections.close();
  }
}
