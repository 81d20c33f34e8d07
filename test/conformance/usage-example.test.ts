// The README's example, as a test: check your own receiver from your own test suite.
import { expect, test } from "vitest";
import { runConformance, startReceiver } from "../../toolkit/index.js";

test("my webhook receiver conforms", async () => {
  const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"; // the receiver's signing secret
  // Start your receiver here; this example uses the toolkit's mock receiver, which is conformant.
  const receiver = await startReceiver({ secret });
  try {
    const report = await runConformance({ url: `${receiver.url}/hook`, secret });
    // On failure vitest prints each failed check with what was seen and how to fix it.
    expect(report.checks.filter((check) => check.verdict === "fail")).toEqual([]);
    expect(report.passed).toBe(true);
  } finally {
    await receiver.close();
  }
});
