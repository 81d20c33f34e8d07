/** What replaces a secret in any text the suite prints or writes. */
export const redactedMark = "[redacted]";

/**
 * Returns a function that blanks every given secret (and its base64 forms a receiver might echo: the basic header
 * value, the secret's key) out of a text. Applied to everything a check reports, since details quote the
 * receiver's answers and a receiver may echo what it was sent.
 */
export function createRedactor(secrets: readonly string[]): (text: string) => string {
  const needles = [...new Set(secrets.filter((secret) => secret.length > 0))].sort((a, b) => b.length - a.length);
  if (needles.length === 0) return (text) => text;
  const pattern = new RegExp(needles.map((needle) => needle.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"), "g");
  return (text) => text.replace(pattern, redactedMark);
}
