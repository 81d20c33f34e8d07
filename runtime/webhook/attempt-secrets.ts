import type { WebhookConfig } from "../config/api-config.js";
import type { CallbackAuth } from "../tasks/task.js";

/** The `Authorization: Basic` token of a username and password (RFC 7617). */
export function basicToken(username: string, password: string): string {
  return Buffer.from(`${username}:${password}`).toString("base64");
}

/** The secret strings of an attempt, as they could come back in a receiver's answer or an error message. */
export function secretsOf(webhook: Pick<WebhookConfig, "signingSecret">, auth: CallbackAuth | undefined): string[] {
  const secrets: string[] = [];
  if (webhook.signingSecret !== undefined) secrets.push(webhook.signingSecret, webhook.signingSecret.replace(/^whsec_/, ""));
  if (auth?.kind === "basic") secrets.push(basicToken(auth.username, auth.password), auth.password);
  if (auth?.kind === "mtls") secrets.push(auth.key);
  // Longest first, so a secret containing another is removed whole.
  return secrets.filter((secret) => secret.length > 0).sort((a, b) => b.length - a.length);
}

/** `text` with every secret replaced; applied to everything a receiver or a library wrote. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  return secrets.reduce((result, secret) => result.split(secret).join("[redacted]"), text);
}
