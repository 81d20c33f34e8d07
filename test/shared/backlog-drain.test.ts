import { describe, expect, it } from "vitest";
import { BacklogDrain } from "../../runtime/shared/backlog-drain.js";
import { waitUntil } from "../helpers/wait-until.js";

/** A store holding `waiting` items and a consumer with `slots` slots; taken items stay running until released. */
function harness(waiting: number, slots: number) {
  const state = { waiting, running: 0, takes: [] as number[], errors: [] as unknown[], caughtUp: 0, fail: false };
  let resolveTake: (() => void) | undefined;
  const drain = new BacklogDrain({
    room: () => slots - state.running,
    take: async (limit) => {
      state.takes.push(limit);
      if (state.fail) throw new Error("disk gone");
      const taken = Math.min(limit, state.waiting);
      state.waiting -= taken;
      state.running += taken;
      if (resolveTake) {
        await new Promise<void>((resolve) => (resolveTake = resolve));
      }
      return taken;
    },
    onCaughtUp: async () => {
      state.caughtUp++;
    },
    onError: (error) => state.errors.push(error),
  });
  return {
    drain,
    state,
    /** Makes later takes wait until `release()` is called. */
    holdTakes: () => (resolveTake = () => undefined),
    /** Lets the held take finish; later takes no longer wait. */
    release: () => {
      const resolve = resolveTake;
      resolveTake = undefined;
      resolve?.();
    },
  };
}

describe("BacklogDrain", () => {
  it("does nothing until enabled, then takes up to the room and learns the backlog is empty", async () => {
    const { drain, state } = harness(3, 5);
    drain.kick();
    expect(state.takes).toEqual([]);
    expect(drain.backlog).toBe(true);
    drain.enable();
    await waitUntil("a pass ran", () => state.caughtUp === 1);
    expect(state.takes).toEqual([5]);
    expect(state.running).toBe(3);
    expect(drain.backlog).toBe(false);
  });

  it("keeps taking while a full take suggests more waits, and stops when the room is used up", async () => {
    const { drain, state } = harness(10, 4);
    drain.enable();
    await waitUntil("the room is full", () => state.running === 4 && !drain.draining);
    expect(state.takes).toEqual([4]);
    expect(drain.backlog).toBe(true);
    state.running = 0; // every running item finished
    drain.kick();
    await waitUntil("the next pass filled the room", () => state.running === 4 && !drain.draining);
    expect(state.waiting).toBe(2);
  });

  it("costs nothing when kicked with no backlog", async () => {
    const { drain, state } = harness(0, 2);
    drain.enable();
    await waitUntil("the first pass found nothing", () => state.caughtUp === 1);
    drain.kick();
    drain.kick();
    expect(state.takes).toEqual([2]);
  });

  it("does not forget work queued while a take was on its way", async () => {
    const h = harness(0, 3);
    h.holdTakes();
    h.drain.enable();
    await waitUntil("the first take started", () => h.state.takes.length === 1);
    h.state.waiting = 1; // stored after the take looked
    h.drain.queued();
    h.release();
    await waitUntil("a second pass took it", () => h.state.running === 1);
    expect(h.state.takes.length).toBeGreaterThanOrEqual(2);
  });

  it("reports a failed take and keeps the backlog for the owner's retry", async () => {
    const { drain, state } = harness(2, 2);
    state.fail = true;
    drain.enable();
    await waitUntil("the error was reported", () => state.errors.length === 1);
    expect(drain.backlog).toBe(true);
    state.fail = false;
    drain.kick();
    await waitUntil("the retry took the work", () => state.running === 2);
  });

  it("starts no pass once disabled", async () => {
    const { drain, state } = harness(5, 5);
    drain.disable();
    drain.queued();
    expect(state.takes).toEqual([]);
  });
});
