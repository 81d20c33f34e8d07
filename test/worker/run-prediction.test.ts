import { describe, expect, it } from "vitest";
import type { Predictor } from "../../runtime/predictor/predictor.js";
import { runPrediction } from "../../runtime/worker/run-prediction.js";

const now = () => 1_700_000_000_000;

function predictor(predict: Predictor["predict"]): Predictor {
  return { predict };
}

describe("runPrediction", () => {
  it("returns a sync or async value as completed, stamped with the finish time", async () => {
    expect(await runPrediction(predictor(() => 7), {}, "id", { now })).toEqual({ status: "completed", resultJson: "7", finishedAt: now() });
    expect(await runPrediction(predictor(async () => ({ a: [1] })), {}, "id", { now })).toEqual({
      status: "completed",
      resultJson: '{"a":[1]}',
      finishedAt: now(),
    });
  });

  it("normalises the result through JSON: undefined becomes null, a Date its ISO string", async () => {
    expect(await runPrediction(predictor(() => undefined), {}, "id", { now })).toEqual({ status: "completed", resultJson: "null", finishedAt: now() });
    const date = new Date(0);
    expect(await runPrediction(predictor(() => ({ at: date })), {}, "id", { now })).toMatchObject({ resultJson: '{"at":"1970-01-01T00:00:00.000Z"}' });
  });

  it("fails with the message of a sync throw or a rejection, keeping the stack as traceback", async () => {
    const sync = await runPrediction(predictor(() => { throw new RangeError("out of range"); }), {}, "id", { now });
    expect(sync).toMatchObject({ status: "failed", error: "out of range", finishedAt: now() });
    expect(sync.status === "failed" && sync.traceback).toMatch(/^RangeError: out of range\n\s+at /);
    expect(await runPrediction(predictor(async () => Promise.reject(new Error("async boom"))), {}, "id")).toMatchObject({ status: "failed", error: "async boom" });
  });

  it("fails readably when something other than an Error is thrown", async () => {
    expect(await runPrediction(predictor(() => { throw "plain string"; }), {}, "id")).toMatchObject({ status: "failed", error: "plain string" });
    expect(await runPrediction(predictor(() => { throw { code: 7 }; }), {}, "id")).toMatchObject({ status: "failed", error: '{"code":7}' });
    expect(await runPrediction(predictor(() => { throw new Error(""); }), {}, "id")).toMatchObject({ status: "failed", error: "Error (without a message)" });
  });

  it("fails a result JSON cannot carry, saying what to return instead", async () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    for (const result of [10n, circular]) {
      const outcome = await runPrediction(predictor(() => result), {}, "id");
      expect(outcome.status).toBe("failed");
      expect(outcome.status === "failed" && outcome.error).toMatch(/^predict\(\) returned a value JSON cannot carry \(.+\); return plain objects/);
    }
  });

  it("fails at the timeout and aborts the signal it passed to predict()", async () => {
    let seenSignal: AbortSignal | undefined;
    const outcome = await runPrediction(
      predictor((_payload, _id, context) => {
        seenSignal = context.signal;
        return new Promise(() => undefined);
      }),
      {},
      "id",
      { timeoutMs: 50 },
    );
    expect(outcome).toMatchObject({ status: "failed", error: "predict() did not finish within predict_timeout_s (0.05 s)", timedOut: true });
    expect(outcome.status === "failed" && outcome.traceback).toBeUndefined();
    expect(seenSignal?.aborted).toBe(true);
  });

  it("passes the payload and request id through", async () => {
    const outcome = await runPrediction(predictor((payload, requestId) => ({ payload, requestId })), { n: 1 }, "req-1");
    expect(outcome).toMatchObject({ status: "completed", resultJson: '{"payload":{"n":1},"requestId":"req-1"}' });
  });
});
