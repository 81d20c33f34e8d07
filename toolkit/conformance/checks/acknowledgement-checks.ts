import type { ReportFormat } from "../../../runtime/tasks/task.js";
import type { CheckContext, CheckDefinition, CheckOutcome } from "../check-definition.js";
import type { CheckSource } from "../check-result.js";
import type { ReportMessage } from "../report-bodies.js";
import { describeOutcome, formatDuration, isAcknowledged, type SendOutcome } from "../send-outcome.js";
import { baseline, credentialControls } from "./prerequisites.js";

/** The report bodies are the chosen surface's, so their acknowledgement is that surface's rule. */
const surface = (format: ReportFormat): CheckSource => (format === "launch" ? "Launch" : "Cortex");

const acknowledgeFix =
  "answer 2xx (200, 202 or 204) once the report is safely stored; any other answer makes the sender retry the same report for hours";

/** What a 401 or 403 to a report means, depending on whether the suite was given credentials to send. */
function credentialNote(outcome: SendOutcome, context: CheckContext): string {
  if (outcome.kind !== "answered" || (outcome.status !== 401 && outcome.status !== 403)) return "";
  const { signing, basic, mtls } = context.options;
  return signing !== undefined || basic !== undefined || mtls !== undefined
    ? " (the delivery carried every credential given, all valid)"
    : " (the receiver wants credentials: pass --secret, --basic or --mtls as it needs)";
}

/** A check that one report is acknowledged with 2xx; the delivery is kept as evidence for `ack.latency`. */
async function acknowledges(context: CheckContext, what: string, message: ReportMessage, fix = acknowledgeFix): Promise<CheckOutcome> {
  const outcome = await context.deliver(message);
  const seen = describeOutcome(outcome);
  return isAcknowledged(outcome)
    ? { verdict: "pass", detail: `acknowledged ${what}: ${seen}`, evidence: [outcome] }
    : { verdict: "fail", detail: `did not acknowledge ${what}: ${seen}${credentialNote(outcome, context)}`, fix, evidence: [outcome] };
}

/** `200 × 47, 503 × 3` */
function tally(outcomes: readonly SendOutcome[]): string {
  const counts = new Map<string, number>();
  for (const outcome of outcomes) {
    const key = outcome.kind === "answered" ? String(outcome.status) : outcome.kind;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([key, count]) => `${key} × ${count}`).join(", ");
}

async function judgeLatency(context: CheckContext): Promise<CheckOutcome> {
  const deadline = context.options.ackDeadlineMs;
  // Only acknowledgements are timed: an answer that is not a 2xx is the ack checks' failure, not a slow one.
  const candidates: [string, SendOutcome | undefined][] = [
    ["completed report", context.evidenceOf("ack.completed")[0]],
    ["failed report", context.evidenceOf("ack.failed")[0]],
  ];
  const timed = candidates.flatMap(([what, outcome]) => (outcome !== undefined && isAcknowledged(outcome) ? [[what, outcome] as const] : []));
  const seen = timed.map(([what, outcome]) => `${what} in ${formatDuration(outcome.elapsedMs)}`).join(", ");
  const late = timed.filter(([, outcome]) => outcome.elapsedMs > deadline);
  if (late.length === 0) return { verdict: "pass", detail: `acknowledged within ${formatDuration(deadline)}: ${seen}` };
  return {
    verdict: "fail",
    detail: `acknowledged too late (deadline ${formatDuration(deadline)}): ${seen}`,
    fix: `acknowledge within ${formatDuration(deadline)}: store the report, answer 2xx, and do the work afterwards (a queue); a slower answer counts as a timeout and the report is sent again`,
  };
}

async function judgeLargeReport(context: CheckContext): Promise<CheckOutcome> {
  const bytes = context.options.largeReportBytes;
  const size = bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes}-byte`;
  const outcome = await context.deliver(context.reports.large(bytes));
  const seen = describeOutcome(outcome);
  if (isAcknowledged(outcome)) return { verdict: "pass", detail: `acknowledged a ${size} report: ${seen}` };
  if (outcome.kind === "answered" && outcome.status === 413) {
    return { verdict: "pass", detail: `declined a ${size} report with 413, which tells the sender to stop: ${seen}` };
  }
  return {
    verdict: "fail",
    detail: `answered a ${size} report neither 2xx nor 413: ${seen}`,
    fix: `accept reports up to ${size} (raise the body limit of your framework or proxy), or answer 413 Payload Too Large; never crash, reset or hang on a large body`,
  };
}

async function judgeDuplicate(context: CheckContext): Promise<CheckOutcome> {
  const message = context.reports.completed();
  const first = await context.deliver(message);
  if (!isAcknowledged(first)) {
    return {
      verdict: "fail",
      detail: `did not acknowledge the first delivery of the report: ${describeOutcome(first)}`,
      fix: acknowledgeFix,
    };
  }
  // A retry: same webhook-id and body, a new webhook-timestamp and signature, as a sender's next attempt.
  const repeat = await context.deliver(message);
  const seen = `first ${describeOutcome(first)}; repeat ${describeOutcome(repeat)}`;
  if (isAcknowledged(repeat)) return { verdict: "pass", detail: `acknowledged a repeated webhook-id again: ${seen}` };
  return {
    verdict: "fail",
    detail: `did not acknowledge a repeated delivery (same webhook-id): ${seen}`,
    fix: "treat webhook-id as an idempotency key: answer a repeat 2xx without processing it again (a 409 or 5xx makes the sender retry, and the report was delivered)",
  };
}

async function judgeConcurrency(context: CheckContext): Promise<CheckOutcome> {
  const count = context.options.concurrentDeliveries;
  const started = performance.now();
  const outcomes = await Promise.all(Array.from({ length: count }, () => context.deliver(context.reports.completed())));
  const elapsed = formatDuration(performance.now() - started);
  const acknowledged = outcomes.filter(isAcknowledged).length;
  const seen = `${acknowledged} of ${count} acknowledged in ${elapsed} (${tally(outcomes)})`;
  if (acknowledged === count) return { verdict: "pass", detail: seen };
  const example = outcomes.find((outcome) => !isAcknowledged(outcome));
  return {
    verdict: "fail",
    detail: `${seen}; for example ${example === undefined ? "" : describeOutcome(example)}`,
    fix: `handle at least ${count} deliveries at once (a sender reports parallel tasks in parallel): raise worker, thread or connection limits, and queue work instead of refusing it`,
  };
}

/** The acknowledgement checks, which run with or without credentials. */
export const acknowledgementChecks: readonly CheckDefinition[] = [
  {
    id: "ack.completed",
    clause: "acknowledges a completed report with 2xx",
    source: surface,
    needs: [...credentialControls],
    whenNotPassed: "the receiver does not acknowledge a valid completed report with 2xx",
    run: (context) => acknowledges(context, "a completed report", context.reports.completed()),
  },
  {
    id: "ack.failed",
    clause: "acknowledges a failed report with 2xx",
    source: surface,
    needs: [...credentialControls],
    run: (context) =>
      acknowledges(
        context,
        "a failed report",
        context.reports.failed(),
        "answer 2xx to a failed task's report too: it is a delivered report (the task failed, the delivery did not)",
      ),
  },
  {
    id: "ack.latency",
    clause: "acknowledges reports within 10 s (the sender's per-attempt timeout)",
    source: "Cortex",
    needs: [...credentialControls, "ack.completed"],
    run: judgeLatency,
  },
  {
    id: "ack.unknown-fields",
    clause: "acknowledges a report carrying fields it does not know with 2xx",
    source: "Standard Webhooks",
    needs: baseline,
    run: (context) =>
      acknowledges(
        context,
        "a completed report with two unknown top-level fields",
        context.reports.withUnknownFields(),
        "ignore fields you do not know (no additionalProperties: false, no strict decoding): reports gain fields over time",
      ),
  },
  {
    id: "ack.large-report",
    clause: "acknowledges a 1 MiB report with 2xx, or answers 413 (never 5xx, a reset or silence)",
    source: "Cortex",
    needs: baseline,
    run: judgeLargeReport,
  },
  {
    id: "ack.duplicate",
    clause: "acknowledges a repeated delivery of the same webhook-id with 2xx again (idempotent acknowledgement)",
    source: "Standard Webhooks",
    needs: baseline,
    run: judgeDuplicate,
  },
  {
    id: "ack.concurrent",
    clause: "acknowledges 50 concurrent deliveries, every one with 2xx",
    source: "Cortex",
    needs: baseline,
    run: judgeConcurrency,
  },
];
