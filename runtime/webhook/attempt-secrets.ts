import type { WebhookConfig } from "../config/api-config.js";
import type { CallbackAuth } from "../tasks/task.js";

/** The `Authorization: Basic` token of a username and password (RFC 7617). */
export function basicToken(username: string, password: string): string {
  return Buffer.from(`${username}:${password}`).toString("base64");
}

/**
 * The secret strings of an attempt, in every form they could come back in a receiver's answer or an error message:
 * the signing secret whole, its base64 with and without padding and URL-safe, its decoded key bytes (as hex, and as
 * text when they are text); a password as sent, JSON-escaped and URL-encoded, and in its basic token; a private key
 * as PEM and JSON-escaped.
 */
export function secretsOf(webhook: Pick<WebhookConfig, "signingSecret">, auth: CallbackAuth | undefined): string[] {
  const secrets = new Set<string>();
  if (webhook.signingSecret !== undefined) {
    const encoded = webhook.signingSecret.replace(/^whsec_/, "");
    const key = Buffer.from(encoded, "base64");
    secrets.add(webhook.signingSecret).add(encoded).add(encoded.replace(/=+$/, ""));
    secrets.add(key.toString("base64url")).add(encoded.replace(/\+/g, "-").replace(/\//g, "_"));
    secrets.add(key.toString("hex")).add(key.toString("hex").toUpperCase());
    const asText = key.toString("utf8");
    if (Buffer.from(asText, "utf8").equals(key)) secrets.add(asText);
  }
  if (auth?.kind === "basic") {
    secrets.add(basicToken(auth.username, auth.password)).add(auth.password).add(jsonEscaped(auth.password)).add(encodeURIComponent(auth.password));
  }
  if (auth?.kind === "mtls") secrets.add(auth.key).add(jsonEscaped(auth.key)).add(auth.key.trim());
  // Longest first, so a secret containing another is removed whole.
  return [...secrets].filter((secret) => secret.length > 0).sort((a, b) => b.length - a.length);
}

/** `text` as it appears inside a JSON string (quotes, backslashes and control characters escaped). */
function jsonEscaped(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}

/** `text` with every secret replaced; applied to everything a receiver or a library wrote. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  return secrets.reduce((result, secret) => result.split(secret).join("[redacted]"), text);
}
