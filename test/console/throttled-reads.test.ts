import { describe, expect, it } from "vitest";
import { MAX_DUTY, MIN_REFRESH_MS, ThrottledReads } from "../../runtime/console/throttled-reads.js";

describe("ThrottledReads (the console's counts and chart)", () => {
  it("shares one read between callers within MIN_REFRESH_MS, and reads again after", async () => {
    const reads = new ThrottledReads();
    let calls = 0;
    const read = async () => ++calls;
    expect(await reads.read("k", 0, read)).toBe(1);
    expect(await reads.read("k", MIN_REFRESH_MS - 1, read)).toBe(1);
    expect(await reads.read("other", MIN_REFRESH_MS - 1, read)).toBe(2);
    expect(await reads.read("k", MIN_REFRESH_MS, read)).toBe(3);
  });

  it("waits longer after a slow read, keeping its share of the time under MAX_DUTY", async () => {
    const reads = new ThrottledReads();
    let calls = 0;
    const slow = () => new Promise<number>((resolve) => setTimeout(() => resolve(++calls), 120));
    await reads.read("k", 0, slow);
    const spacing = 120 / MAX_DUTY; // at least 2.4 s after a 120 ms read
    expect(await reads.read("k", spacing * 0.9, slow)).toBe(1);
    // Well past it: a loaded machine lets a 120 ms timer run late, which lengthens the measured read.
    expect(await reads.read("k", spacing * 3, slow)).toBe(2);
  });

  it("keeps no failed read: the next caller tries again", async () => {
    const reads = new ThrottledReads();
    await expect(reads.read("k", 0, () => Promise.reject(new Error("store away")))).rejects.toThrow("store away");
    await new Promise((resolve) => setImmediate(resolve));
    expect(await reads.read("k", 1, async () => "back")).toBe("back");
  });
});
