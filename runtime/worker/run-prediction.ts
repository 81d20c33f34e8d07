import type { Predictor } from "../predictor/predictor.js";
import { MAX_JSON_DEPTH, isTooDeep } from "../shared/json-depth.js";
import type { TaskOutcome } from "../tasks/task.js";
import { predictorTraceback } from "./predictor-traceback.js";

/** Options of {@link runPrediction}. */
export interface RunPredictionOptions {
  /** predict_timeout_s in ms; undefined: no limit. */
  timeoutMs?: number;
  /** Aborts the prediction from outside (shutdown past its grace period). */
  signal?: AbortSignal;
  /** Clock for finishedAt; injectable for tests. */
  now?: () => number;
}

/**
 * Calls predict() once and turns whatever happens into a {@link TaskOutcome}: a value, a sync throw, a rejection,
 * a timeout, or a result JSON cannot carry. Never throws; one task's failure stays that task's.
 */
export async function runPrediction(
  predictor: Predictor,
  payload: unknown,
  requestId: string,
  options: RunPredictionOptions = {},
): Promise<TaskOutcome> {
  const now = options.now ?? Date.now;
  if (options.timeoutMs === undefined) {
    // No timeout of its own: predict() sees the outer signal as it is, with no per-task controller or listener.
    try {
      const signal = options.signal ?? NEVER_ABORTED;
      return completed(await predictor.predict(payload, requestId, { signal }), now());
    } catch (error) {
      return failed(error, now());
    }
  }
  const timeoutMs = options.timeoutMs;
  const controller = new AbortController();
  const onOuterAbort = (): void => controller.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", onOuterAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  try {
    const prediction = (async () => predictor.predict(payload, requestId, { signal: controller.signal }))();
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new PredictTimeout(timeoutMs);
        controller.abort(error);
        reject(error);
      }, timeoutMs);
    });
    // A predict() that outlives its timeout keeps running (JavaScript cannot stop it); its late result is dropped.
    prediction.catch(() => undefined);
    return completed(await Promise.race([prediction, timeout]), now());
  } catch (error) {
    return failed(error, now());
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onOuterAbort);
  }
}

/**
 * The failed outcome a stored task ends with when its payload nests deeper than the runtime accepts (stored by an
 * older version): one bad task fails alone instead of reaching a host. Checked on the text, without parsing it;
 * text that is not JSON at all is the host's to report.
 */
export function refuseStoredPayload(payloadJson: string, now: () => number = Date.now): TaskOutcome | undefined {
  if (!isTooDeep(payloadJson)) return undefined;
  return {
    status: "failed",
    error: `the stored payload nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep, which the runtime no longer accepts; submit it again nested at most ${MAX_JSON_DEPTH} levels`,
    finishedAt: now(),
  };
}

/** Why a task fails whose predict() returned a value nested deeper than the runtime carries (any host). */
export const RESULT_TOO_DEEP = `predict() returned a value nested more than ${MAX_JSON_DEPTH} levels of arrays and objects deep, which the runtime does not carry; return a flatter value (or a string holding it)`;

/** The signal predict() gets when nothing can abort it. */
const NEVER_ABORTED = new AbortController().signal;

class PredictTimeout extends Error {
  override readonly name = "PredictTimeout";

  constructor(timeoutMs: number) {
    super(`predict() did not finish within predict_timeout_s (${timeoutMs / 1000} s)`);
  }
}

function completed(result: unknown, finishedAt: number): TaskOutcome {
  let json: string;
  try {
    // undefined (a predict() without a return value) is reported as null.
    json = JSON.stringify(result) ?? "null";
  } catch (error) {
    return {
      status: "failed",
      error: `predict() returned a value JSON cannot carry (${(error as Error).message.split("\n")[0]}); return plain objects, arrays, strings, numbers, booleans or null`,
      finishedAt,
    };
  }
  if (isTooDeep(json)) return { status: "failed", error: RESULT_TOO_DEEP, finishedAt };
  // Serialized once, here: the stored outcome, the report and the answers embed this text.
  return { status: "completed", resultJson: json, finishedAt };
}

function failed(error: unknown, finishedAt: number): TaskOutcome {
  if (error instanceof Error) {
    const message = error.message.trim() || `${error.name} (without a message)`;
    if (error instanceof PredictTimeout) return { status: "failed", error: message, timedOut: true, finishedAt };
    const outcome: TaskOutcome = { status: "failed", error: message, finishedAt };
    if (error.stack) outcome.traceback = predictorTraceback(error.stack);
    return outcome;
  }
  const message = typeof error === "string" ? error : safeStringify(error);
  return { status: "failed", error: message || "predict() threw an empty value", finishedAt };
}

function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
