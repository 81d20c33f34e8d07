import type { ReportFormat } from "../../runtime/tasks/task.js";
import type { CheckSource } from "./check-result.js";
import type { ResolvedConformanceOptions } from "./conformance-options.js";
import type { DeliveryTweaks } from "./delivery-crafter.js";
import type { ClientIdentity } from "./delivery-sender.js";
import type { ReportFactory, ReportMessage } from "./report-bodies.js";
import type { SendOutcome } from "./send-outcome.js";

/** The option that makes a check applicable; checks without one always run. */
export type CheckRequirement = "secret" | "basic" | "mtls";

/** What a check may use while it runs. */
export interface CheckContext {
  readonly options: ResolvedConformanceOptions;
  /** Makes realistic reports, each a new task unless a check repeats one. */
  readonly reports: ReportFactory;
  /** Crafts `message` (valid in every respect but `tweaks`) and sends it, presenting `identity` under mTLS. */
  deliver(message: ReportMessage, tweaks?: DeliveryTweaks, identity?: ClientIdentity): Promise<SendOutcome>;
  /** The deliveries an earlier check kept as its evidence (empty when it kept none or did not run). */
  evidenceOf(checkId: string): readonly SendOutcome[];
}

/** How a check that ran came out. */
export interface CheckOutcome {
  verdict: "pass" | "fail";
  /** What was seen. */
  detail: string;
  /** How to fix the receiver (failures). */
  fix?: string;
  /** Deliveries later checks may judge again (the latency check reads the acknowledgement checks'). */
  evidence?: SendOutcome[];
}

/** One conformance check: its identity, when it applies, what it depends on, and how it runs. */
export interface CheckDefinition {
  /** Stable id, `group.name`. */
  id: string;
  /** The one-line rule it enforces. */
  clause: string;
  source: CheckSource | ((format: ReportFormat) => CheckSource);
  /** The option without which the check is skipped as not applicable. */
  requires?: CheckRequirement;
  /**
   * Checks that must pass for this one to mean anything; a need that is not applicable is dropped. Without them
   * passed, this check is skipped, naming the root cause, instead of failing for someone else's reason.
   */
  needs: readonly string[];
  /** Said of the checks that need this one when it did not pass: "the receiver refuses validly signed deliveries". */
  whenNotPassed?: string;
  run(context: CheckContext): Promise<CheckOutcome>;
}
