import type { IncomingMessage, ServerResponse } from "node:http";
import type { Delivery } from "../delivery.js";
import type { DeliveryStore, StoreEvent } from "../delivery-store.js";
import type { TimerRegistry } from "../timer-registry.js";

/** Deliveries the live page receives on connecting; older ones stay available at /_/deliveries. */
const snapshotSize = 200;
/** Body text sent to the page per delivery; the full body stays available at /_/deliveries. */
const pageBodyChars = 64 * 1024;
/** A comment line this often keeps proxies and browsers from dropping an idle stream. */
const keepAliveMs = 15_000;

/**
 * The server-sent events behind the live page (`GET /_/events`): a `snapshot` event with the latest deliveries
 * on connecting, then a `delivery` event as each one is recorded and `cleared` when the list is emptied.
 * Snapshot and subscription happen in one step, so no delivery falls between them.
 */
export class EventStream {
  readonly #store: DeliveryStore;
  readonly #timers: TimerRegistry;
  readonly #open = new Set<ServerResponse>();

  constructor(store: DeliveryStore, timers: TimerRegistry) {
    this.#store = store;
    this.#timers = timers;
  }

  /** Serves one event stream until the client leaves or closeAll() is called. */
  open(request: IncomingMessage, response: ServerResponse): void {
    response.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
    });
    response.write("retry: 1000\n\n");
    send(response, "snapshot", this.#store.list().slice(-snapshotSize).map(pageView));
    const unsubscribe = this.#store.subscribe((event: StoreEvent) => {
      if (event.type === "delivery") send(response, "delivery", pageView(event.delivery));
      else send(response, "cleared", {});
    });
    const stopKeepAlive = this.#timers.every(() => response.write(": keep-alive\n\n"), keepAliveMs);
    this.#open.add(response);
    request.socket.setNoDelay(true);
    response.once("close", () => {
      unsubscribe();
      stopKeepAlive();
      this.#open.delete(response);
    });
  }

  /** Ends every open stream (on receiver close). */
  closeAll(): void {
    for (const response of this.#open) response.end();
    this.#open.clear();
  }
}

function send(response: ServerResponse, event: string, data: unknown): void {
  // JSON.stringify never emits a raw newline, so one `data:` line carries the whole event.
  response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

/** A delivery as the page shows it: a long body is cut to its start. */
function pageView(delivery: Delivery): Delivery {
  if (delivery.raw_body.length <= pageBodyChars) return delivery;
  const preview = delivery.raw_body.slice(0, pageBodyChars);
  return { ...delivery, body: preview, raw_body: preview };
}
