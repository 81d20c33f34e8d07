import { checkCatalog } from "./check-catalog.js";
import type { CheckContext, CheckDefinition, CheckRequirement } from "./check-definition.js";
import type { CheckResult, ConformanceReport } from "./check-result.js";
import { resolveConformanceOptions, type ConformanceOptions, type ResolvedConformanceOptions } from "./conformance-options.js";
import { DeliveryCrafter } from "./delivery-crafter.js";
import { DeliverySender } from "./delivery-sender.js";
import { createRedactor, redactOutcome } from "./redaction.js";
import { ReportFactory } from "./report-bodies.js";
import type { SendOutcome } from "./send-outcome.js";

/** Why a check does not apply, per missing option. */
const notApplicable: Record<CheckRequirement, string> = {
  secret: "not applicable: pass --secret whsec_... to check signatures",
  basic: "not applicable: pass --basic USER:PASS to check basic auth",
  mtls: "not applicable: pass --mtls DIR (from predictor-runtime certs) to check client certificates",
};

/** A finished check, with the check its skip traces back to. */
interface Finished {
  result: CheckResult;
  /** For a skip caused by a prerequisite: the check that actually did not pass. */
  rootCause?: string;
}

/**
 * Runs every conformance check against a webhook receiver and returns the results; never throws for the
 * receiver's behaviour (bad options throw a ToolkitError before anything is sent). Checks run one after another
 * in catalog order, each skipped when its option is absent or a check it needs did not pass.
 */
export async function runConformance(options: ConformanceOptions): Promise<ConformanceReport> {
  const resolved = await resolveConformanceOptions(options);
  const startedAt = new Date();
  const started = performance.now();
  const sender = new DeliverySender({ url: resolved.url, mtls: resolved.mtls, timeoutMs: resolved.timeoutMs });
  const crafter = new DeliveryCrafter(resolved);
  const evidence = new Map<string, SendOutcome[]>();
  const redact = createRedactor(secretsOf(resolved));
  const context: CheckContext = {
    options: resolved,
    reports: new ReportFactory(resolved.format),
    deliver: async (message, tweaks, identity) => redactOutcome(await sender.send(crafter.craft(message, tweaks), identity), redact),
    evidenceOf: (id) => evidence.get(id) ?? [],
  };
  const finished = new Map<string, Finished>();
  resolved.onProgress({ type: "run-started", url: resolved.displayUrl, total: checkCatalog.length });
  try {
    for (const [index, check] of checkCatalog.entries()) {
      const total = checkCatalog.length;
      resolved.onProgress({ type: "check-started", id: check.id, index, total });
      const checkStarted = performance.now();
      const outcome = await decide(check, resolved, finished, context);
      if (outcome.evidence !== undefined) evidence.set(check.id, outcome.evidence);
      const result: CheckResult = {
        id: check.id,
        clause: check.clause,
        source: typeof check.source === "function" ? check.source(resolved.format) : check.source,
        verdict: outcome.verdict,
        detail: outcome.detail,
        ...(outcome.fix === undefined ? {} : { fix: outcome.fix }),
        durationMs: Math.round(performance.now() - checkStarted),
      };
      finished.set(check.id, { result, ...(outcome.rootCause === undefined ? {} : { rootCause: outcome.rootCause }) });
      resolved.onProgress({ type: "check-finished", result, index, total });
    }
  } finally {
    await sender.close();
  }
  const checks = [...finished.values()].map((entry) => entry.result);
  return {
    passed: checks.every((check) => check.verdict !== "fail"),
    checks,
    url: resolved.displayUrl,
    startedAt: startedAt.toISOString(),
    durationMs: Math.round(performance.now() - started),
  };
}

type Decision = { verdict: CheckResult["verdict"]; detail: string; fix?: string; evidence?: SendOutcome[]; rootCause?: string };

/** Skips a check that does not apply or whose prerequisite did not pass; otherwise runs it. */
async function decide(check: CheckDefinition, options: ResolvedConformanceOptions, finished: ReadonlyMap<string, Finished>, context: CheckContext): Promise<Decision> {
  if (check.requires !== undefined && !isEnabled(check.requires, options)) return { verdict: "skip", detail: notApplicable[check.requires] };
  for (const need of check.needs) {
    const prerequisite = finished.get(need);
    // A need that did not apply was skipped as "not applicable" and has no root cause: it is simply dropped.
    if (prerequisite === undefined) throw new Error(`check ${check.id} needs ${need}, which has not run before it`);
    if (prerequisite.result.verdict === "pass" || isNotApplicable(need, options)) continue;
    const rootId = prerequisite.rootCause ?? need;
    const root = checkCatalog.find((candidate) => candidate.id === rootId);
    return {
      verdict: "skip",
      detail: `not checked: ${root?.whenNotPassed ?? `${rootId} did not pass`} (see ${rootId})`,
      rootCause: rootId,
    };
  }
  return check.run(context);
}

function isNotApplicable(id: string, options: ResolvedConformanceOptions): boolean {
  const requirement = checkCatalog.find((check) => check.id === id)?.requires;
  return requirement !== undefined && !isEnabled(requirement, options);
}

function isEnabled(requirement: CheckRequirement, options: ResolvedConformanceOptions): boolean {
  switch (requirement) {
    case "secret":
      return options.signing !== undefined;
    case "basic":
      return options.basic !== undefined;
    case "mtls":
      return options.mtls !== undefined;
  }
}

/** The strings no output may contain, in every form a receiver could echo them back. */
function secretsOf(options: ResolvedConformanceOptions): string[] {
  const secrets: string[] = [];
  if (options.basic !== undefined) {
    const { username, password } = options.basic;
    secrets.push(password, Buffer.from(`${username}:${password}`).toString("base64"));
  }
  if (options.signing !== undefined) secrets.push(options.signing.secret, options.signing.key.toString("base64"));
  if (options.mtls !== undefined) {
    for (const pair of Object.values(options.mtls)) secrets.push(...pemBodyLines(pair.key));
  }
  return secrets;
}

/** The base64 lines of a private key PEM: any one of them echoed would leak part of the key. */
function pemBodyLines(pem: string): string[] {
  return pem.split(/\r?\n/).filter((line) => line.length >= 16 && !line.startsWith("-----"));
}
