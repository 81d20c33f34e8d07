import type { Logger } from "pino";
import type { ApiConfig } from "../config/api-config.js";
import type { AttemptResult, ReportAttempter } from "../engine/engine.js";
import type { AttemptRecord, DeliveryRecord, DeliveryUpdate } from "../tasks/delivery.js";
import type { AttemptSender } from "./attempt-sender.js";
import { redactCallbackUrl } from "./callback-url.js";
import { describeOutcome } from "./describe-outcome.js";
import { nextStep, type AttemptOutcome } from "./retry-policy.js";

/** Options of {@link reportAttempter}. */
export interface ReportAttempterOptions {
  apis: ReadonlyMap<string, ApiConfig>;
  sender: AttemptSender;
  log: Logger;
  /** Called after every attempt (metrics). */
  onAttempt?: (delivery: DeliveryRecord, outcome: AttemptOutcome, update: DeliveryUpdate, durationMs: number) => void;
  now?: () => number;
  random?: () => number;
}

/** How long a report whose API left the config waits before it is looked at again. */
const ORPHAN_RECHECK_MS = 60 * 60 * 1000; // 1 h

/**
 * The core's half of one report attempt, the same for every engine: send it (guard, sign, auth, exchange), then let
 * the retry policy decide whether and when the next attempt is due. The engine records the result and keeps time.
 */
export function reportAttempter(options: ReportAttempterOptions): ReportAttempter {
  const { apis, sender, log, onAttempt, random } = options;
  const now = options.now ?? Date.now;
  return async (delivery, signal): Promise<AttemptResult | undefined> => {
    const api = apis.get(delivery.api);
    if (api === undefined) {
      return {
        update: {
          status: "pending",
          attempts: delivery.attempts,
          nextAttemptAt: now() + ORPHAN_RECHECK_MS,
          lastError: `API ${delivery.api} is not in the loaded config; the report waits until it is configured again`,
        },
      };
    }
    const started = now();
    const outcome = await sender.send(delivery, api, signal, now);
    if (signal.aborted) return undefined;
    const attempts = delivery.attempts + 1;
    // A report may override ignore_timeout (Modelbit's response_webhook_ignore_timeout); the rest is the API's.
    const settings = delivery.ignoreTimeout === undefined ? api.webhook : { ...api.webhook, ignoreTimeout: delivery.ignoreTimeout };
    const step = nextStep(settings, attempts, outcome, random);
    const update: DeliveryUpdate =
      step.kind === "retry"
        ? { status: "pending", attempts, nextAttemptAt: now() + step.delayMs, ...describeOutcome(outcome, step, settings) }
        : { status: step.status, attempts, ...describeOutcome(outcome, step, settings) };
    const durationMs = now() - started;
    onAttempt?.(delivery, outcome, update, durationMs);
    log.info(
      {
        taskId: delivery.taskId,
        api: delivery.api,
        url: redactCallbackUrl(delivery.url),
        attempt: attempts,
        outcome: outcome.kind,
        statusCode: update.lastStatusCode,
        webhookStatus: update.status,
        ...(step.kind === "retry" ? { retryInMs: step.delayMs } : {}),
        ...(update.lastError === undefined ? {} : { error: update.lastError }),
        durationMs,
      },
      "webhook attempt",
    );
    return { update, attempt: attemptRecord(delivery, attempts, started, durationMs, outcome, update) };
  };
}

/** One attempt for the delivery timeline: the target's origin only (a path or query can hold a token), no credentials. */
export function attemptRecord(
  delivery: Pick<DeliveryRecord, "url">,
  attempt: number,
  startedAt: number,
  durationMs: number,
  outcome: AttemptOutcome,
  update: DeliveryUpdate,
): AttemptRecord {
  const record: AttemptRecord = { attempt, startedAt, durationMs, origin: originOf(delivery.url), outcome: outcome.kind };
  if (update.lastStatusCode !== undefined) record.statusCode = update.lastStatusCode;
  if (update.lastError !== undefined && outcome.kind !== "delivered") record.error = update.lastError;
  if (update.status === "pending" && update.nextAttemptAt !== undefined) record.nextAttemptAt = update.nextAttemptAt;
  return record;
}

function originOf(url: string): string {
  try {
    const parsed = new URL(url);
    // URL.origin leaves out a default port; the timeline says which port was called.
    const port = parsed.port !== "" ? parsed.port : parsed.protocol === "https:" ? "443" : "80";
    return `${parsed.protocol}//${parsed.hostname}:${port}`;
  } catch {
    return "(invalid URL)";
  }
}

/** Beyond an attempt's own timeout, how long its lease lasts before a crashed attempt becomes due again. */
const LEASE_MARGIN_MS = 60 * 1000;

/** How long an engine leases a report to one attempt: the longest webhook.timeout_s of any API, plus a margin. */
export function reportLeaseMs(apis: Iterable<Pick<ApiConfig, "webhook">>): number {
  return Math.max(0, ...[...apis].map((api) => api.webhook.timeoutMs)) + LEASE_MARGIN_MS;
}
