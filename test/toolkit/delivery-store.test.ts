import { describe, expect, it } from "vitest";
import { ToolkitErrorCode } from "../../toolkit/errors.js";
import type { Delivery } from "../../toolkit/receiver/delivery.js";
import { DeliveryStore, type StoreEvent } from "../../toolkit/receiver/delivery-store.js";

let sequence = 0;
function delivery(path: string, status: number | null = 200, rawBody = "{}"): Delivery {
  sequence += 1;
  return {
    id: String(sequence),
    method: "POST",
    path,
    url: path,
    query: {},
    headers: {},
    body: {},
    raw_body: rawBody,
    raw_body_encoding: "utf8",
    body_bytes: rawBody.length,
    body_truncated: false,
    received_at: new Date().toISOString(),
    timing: { body_ms: 0 },
    remote_address: "127.0.0.1",
    http_version: "1.1",
    verdicts: { basic: null, signature: null, tls: null },
    verdict_reasons: {},
    response: { status, headers: {}, body: "", fault: status === null ? "reset" : null, delay_ms: 0, rule: null, refused_by: null },
  };
}

const roomy = { maxDeliveries: 100, maxStoredBytes: 1024 * 1024 };

describe("DeliveryStore", () => {
  it("settles a wait synchronously inside add(), as the Nth delivery lands", async () => {
    const store = new DeliveryStore(roomy);
    let resolved: Delivery[] | undefined;
    const waiting = store.waitFor(2, 5000).then((deliveries) => (resolved = deliveries));
    store.add(delivery("/a"));
    store.add(delivery("/b"));
    expect(store.pendingWaits).toBe(0);
    await waiting;
    expect(resolved?.map((item) => item.path)).toEqual(["/a", "/b"]);
  });

  it("lists the last five arrivals in a timeout, and how many came before", async () => {
    const store = new DeliveryStore(roomy);
    for (let index = 1; index <= 7; index += 1) store.add(delivery(`/d${index}`, index === 7 ? null : 503));
    const error = await store.waitFor(9, 10).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: ToolkitErrorCode.waitTimeout });
    expect((error as Error).message).toBe(
      "expected 9 deliveries within 10 ms, got 7: POST /d3 -> 503, POST /d4 -> 503, POST /d5 -> 503, POST /d6 -> 503, POST /d7 -> reset, and 2 earlier",
    );
    expect(store.pendingWaits).toBe(0);
  });

  it("drops a wait whose caller aborted", async () => {
    const store = new DeliveryStore(roomy);
    const controller = new AbortController();
    const waiting = store.waitFor(1, 60_000, controller.signal).catch((error: unknown) => error);
    expect(store.pendingWaits).toBe(1);
    controller.abort(new Error("caller left"));
    expect(await waiting).toMatchObject({ message: "caller left" });
    expect(store.pendingWaits).toBe(0);
  });

  it("tells subscribers about deliveries and clears, until they unsubscribe", () => {
    const store = new DeliveryStore(roomy);
    const events: string[] = [];
    const unsubscribe = store.subscribe((event: StoreEvent) => events.push(event.type === "delivery" ? event.delivery.path : "cleared"));
    store.add(delivery("/a"));
    store.clear();
    unsubscribe();
    store.add(delivery("/b"));
    expect(events).toEqual(["/a", "cleared"]);
  });

  it("keeps at least the newest delivery even when it alone passes the byte bound", () => {
    const store = new DeliveryStore({ maxDeliveries: 10, maxStoredBytes: 100 });
    store.add(delivery("/a", 200, "x".repeat(500)));
    store.add(delivery("/b", 200, "y".repeat(500)));
    expect(store.list().map((item) => item.path)).toEqual(["/b"]);
    expect(store.recordedCount).toBe(2);
  });
});
