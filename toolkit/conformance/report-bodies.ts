import { randomUUID } from "node:crypto";
import { webhookIdOf } from "../../runtime/outbox/plan-delivery.js";
import { buildReport } from "../../runtime/outbox/report.js";
import type { ReportFormat, TaskOutcome } from "../../runtime/tasks/task.js";

/** One report as the runtime would send it: its task, its `webhook-id`, and the exact body bytes that get signed. */
export interface ReportMessage {
  taskId: string;
  webhookId: string;
  /** Compact JSON, as the runtime serializes it. */
  body: string;
}

/** Every top-level field a Cortex or Launch report has; anything else is an "unknown field" to a strict receiver. */
export const reportFieldNames = ["id", "task_id", "status", "result", "error", "traceback", "timestamp"] as const;

/** A realistic result: what a sentiment predictor returns. */
const sampleResult = { label: "positive", score: 0.93, tokens: ["I", "love", "it"] };

/** A realistic failure: what a predictor that threw reports. */
const sampleError = new Error("predict() failed: input text is empty");

/**
 * Makes the reports the checks send, with the runtime's own report builder, so a receiver is judged on the bodies
 * it will really get. Every report is a new task (its own `webhook-id`) unless a check repeats one on purpose.
 */
export class ReportFactory {
  readonly #format: ReportFormat;

  constructor(format: ReportFormat) {
    this.#format = format;
  }

  /** A completed task's report. */
  completed(): ReportMessage {
    return this.#message({ status: "completed", resultJson: JSON.stringify(sampleResult), finishedAt: Date.now() });
  }

  /** A failed task's report (Launch: with the traceback). */
  failed(): ReportMessage {
    return this.#message({
      status: "failed",
      error: sampleError.message,
      traceback: `Error: ${sampleError.message}\n    at SentimentPredictor.predict (predictors/sentiment.ts:12:11)`,
      finishedAt: Date.now(),
    });
  }

  /** A completed report carrying top-level fields no version of the report has (yet). */
  withUnknownFields(): ReportMessage {
    return this.#message({ status: "completed", resultJson: JSON.stringify(sampleResult), finishedAt: Date.now() }, (report) => ({
      ...report,
      x_future_field: "added by a later version of the sender",
      x_future_object: { nested: [1, true, null], note: "receivers must ignore fields they do not know" },
    }));
  }

  /** A completed report whose body is exactly `bytes` long: the result is padded with ASCII text. */
  large(bytes: number): ReportMessage {
    const taskId = randomUUID();
    const finishedAt = Date.now();
    const emptyResult = this.#bodyOf(taskId, { status: "completed", resultJson: '""', finishedAt });
    const padding = "lorem ipsum dolor sit amet ".repeat(Math.ceil(bytes / 27)).slice(0, Math.max(0, bytes - Buffer.byteLength(emptyResult)));
    return { taskId, webhookId: webhookIdOf(taskId), body: this.#bodyOf(taskId, { status: "completed", resultJson: JSON.stringify(padding), finishedAt }) };
  }

  #message(outcome: TaskOutcome, extend: (report: object) => object = (report) => report): ReportMessage {
    const taskId = randomUUID();
    return { taskId, webhookId: webhookIdOf(taskId), body: JSON.stringify(extend(buildReport(taskId, this.#format, outcome))) };
  }

  #bodyOf(taskId: string, outcome: TaskOutcome): string {
    return JSON.stringify(buildReport(taskId, this.#format, outcome));
  }
}
