import { createHmac } from "node:crypto";

const SECRET_PREFIX = "whsec_";
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Decodes a `whsec_<base64>` secret to its key bytes, or says what is wrong with it (never echoing it). */
export function decodeSigningSecret(secret: string): { key: Buffer } | { problem: string } {
  if (!secret.startsWith(SECRET_PREFIX)) {
    return { problem: "must start with whsec_ (Standard Webhooks secret format)" };
  }
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (encoded.length === 0 || encoded.length % 4 === 1 || !BASE64.test(encoded)) {
    return {
      problem:
        "is not whsec_ followed by base64; generate one with: node -e \"console.log('whsec_' + crypto.randomBytes(32).toString('base64'))\"",
    };
  }
  return { key: Buffer.from(encoded, "base64") };
}

/**
 * The Standard Webhooks `webhook-signature` value: `v1,` + base64 HMAC-SHA256 of `id.timestamp.body`, keyed by the
 * secret's decoded bytes. `timestampSeconds` is the same value sent as `webhook-timestamp`.
 */
export function signWebhook(key: Buffer, webhookId: string, timestampSeconds: number, body: string): string {
  const mac = createHmac("sha256", key).update(`${webhookId}.${timestampSeconds}.${body}`).digest("base64");
  return `v1,${mac}`;
}
