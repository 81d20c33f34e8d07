import { afterEach } from "vitest";
import { startReceiver, type MockReceiver } from "../../../toolkit/receiver/receiver.js";
import type { ReceiverOptions } from "../../../toolkit/receiver/receiver-options.js";

/** Returns a `start(options)` whose receivers are all closed after each test, pass or fail. */
export function useReceivers(): (options?: ReceiverOptions) => Promise<MockReceiver> {
  const open: MockReceiver[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((receiver) => receiver.close()));
  });
  return async (options = {}) => {
    const receiver = await startReceiver(options);
    open.push(receiver);
    return receiver;
  };
}

/** Polls `condition` every 10 ms until it holds, failing after `timeoutMs`: for state with no event to await. */
export async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs = 5000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what} did not hold within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
