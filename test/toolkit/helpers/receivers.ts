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
