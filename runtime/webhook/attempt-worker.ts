import { setMaxListeners } from "node:events";
import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import type { DeliveryRecord } from "../tasks/delivery.js";
import { InThreadSender, type AttemptApi } from "./attempt-sender.js";
import type { AttemptOutcome } from "./retry-policy.js";

/** What the attempt thread is started with. */
export interface AttemptThreadData {
  apis: AttemptApi[];
}

/** One attempt to make, as it crosses to the thread. */
export interface AttemptRequest {
  id: number;
  /** Attempts sent with the same abort signal share a group, and are aborted together. */
  group: number;
  delivery: DeliveryRecord;
  api: string;
  /** The sender's clock when the attempt was handed over (webhook-timestamp, Retry-After dates). */
  sentAt: number;
}

/** Messages to the thread. */
export type ToAttemptThread = { type: "send"; attempts: AttemptRequest[] } | { type: "abort"; group: number } | { type: "close" };

/** Messages from the thread: outcomes in the order the attempts ended, and the answer to close. */
export type FromAttemptThread = { type: "outcomes"; outcomes: Array<{ id: number; outcome: AttemptOutcome }> } | { type: "closed" };

/**
 * The thread that makes webhook attempts: it holds the connection pools (keep-alive connections, TLS sessions,
 * client certificates) and runs each exchange, so the HTTP client's work is off the event loop that serves
 * submits and runs predict(). Outcomes go back in one message per event-loop turn.
 */
function serve(port: MessagePort, data: AttemptThreadData): void {
  const apis = new Map(data.apis.map((api) => [api.name, api]));
  const sender = new InThreadSender(data.apis);
  const groups = new Map<number, AbortController>();
  let ended: Array<{ id: number; outcome: AttemptOutcome }> = [];
  let flushScheduled = false;

  const flush = (): void => {
    flushScheduled = false;
    const outcomes = ended;
    ended = [];
    port.postMessage({ type: "outcomes", outcomes } satisfies FromAttemptThread);
  };

  const controllerOf = (group: number): AbortController => {
    let controller = groups.get(group);
    if (controller === undefined) {
      groups.set(group, (controller = new AbortController()));
      // Every attempt in flight listens on it: hundreds at once under load are expected, not a leak.
      setMaxListeners(0, controller.signal);
    }
    return controller;
  };

  const run = (attempt: AttemptRequest): void => {
    const api = apis.get(attempt.api);
    const receivedAt = Date.now();
    let outcome: Promise<AttemptOutcome>;
    try {
      if (api === undefined) throw new Error(`API ${attempt.api} is not known to the webhook attempt thread`);
      outcome = sender.send(attempt.delivery, api, controllerOf(attempt.group).signal, () => attempt.sentAt + (Date.now() - receivedAt));
    } catch (error) {
      outcome = Promise.resolve({ kind: "retryable", error: (error as Error).message });
    }
    void outcome.then((settled) => {
      ended.push({ id: attempt.id, outcome: settled });
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flush);
      }
    });
  };

  port.on("message", (message: ToAttemptThread) => {
    switch (message.type) {
      case "send":
        for (const attempt of message.attempts) run(attempt);
        return;
      case "abort":
        controllerOf(message.group).abort(new Error("the runtime is shutting down"));
        return;
      case "close":
        void sender.close().then(() => {
          port.postMessage({ type: "closed" } satisfies FromAttemptThread);
          port.close();
        });
        return;
    }
  });
}

if (parentPort) serve(parentPort, workerData as AttemptThreadData);
