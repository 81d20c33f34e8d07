/**
 * The positive controls, which run first and which every other check needs, so that a receiver refusing
 * everything fails one check (the control) instead of "passing" every rejection check and failing every other.
 */

/**
 * The accepts-valid control of each credential, in the order they run: transport first, then the header checks.
 * Each needs the ones before it: a delivery carries every credential given, so a refusal is pinned on the first
 * control to see it (with more than one credential the suite cannot tell which one a receiver refused).
 */
export const credentialControls = ["mtls.accepts-valid", "basic.accepts-valid", "signature.accepts-valid"] as const;

/** What every check that varies one thing of a valid completed report needs: valid credentials are accepted, and that report is acknowledged. */
export const baseline = [...credentialControls, "ack.completed"] as const;
