import type { SendOutcome } from "./send-outcome.js";

/** What replaces a secret in any text the suite prints or writes. */
export const redactedMark = "[redacted]";

/** Secrets shorter than this are blanked only as whole tokens, so "p" does not garble every word with a p. */
const shortSecretLength = 4;

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Returns a function that blanks every given secret out of a text. Short secrets are blanked where they stand
 * alone (not inside a longer word), long ones anywhere.
 */
export function createRedactor(secrets: readonly string[]): (text: string) => string {
  const needles = [...new Set(secrets.filter((secret) => secret.length > 0))].sort((a, b) => b.length - a.length);
  if (needles.length === 0) return (text) => text;
  const alternatives = needles.map((needle) =>
    needle.length >= shortSecretLength ? escape(needle) : `(?<![A-Za-z0-9])${escape(needle)}(?![A-Za-z0-9])`,
  );
  const pattern = new RegExp(alternatives.join("|"), "g");
  return (text) => text.replace(pattern, redactedMark);
}

/**
 * The outcome with the receiver's words (its answer body and headers, connection errors) redacted: they are the
 * only text a check quotes that the suite did not write itself, and a receiver may echo what it was sent.
 */
export function redactOutcome(outcome: SendOutcome, redact: (text: string) => string): SendOutcome {
  switch (outcome.kind) {
    case "answered":
      return {
        ...outcome,
        body: redact(outcome.body),
        headers: Object.fromEntries(Object.entries(outcome.headers).map(([name, value]) => [name, redact(value)])),
      };
    case "tls-refused":
    case "broken":
    case "unreachable":
      return { ...outcome, error: redact(outcome.error) };
    case "timeout":
      return outcome;
  }
}
