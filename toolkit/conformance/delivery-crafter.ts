import { randomBytes } from "node:crypto";
import { reportHeaders } from "../../runtime/webhook/send-attempt.js";
import { signWebhook } from "../../runtime/webhook/signature.js";
import type { BasicCredentials } from "../receiver/verdicts/basic-verdict.js";
import type { ReportMessage } from "./report-bodies.js";

/**
 * How a delivery's `webhook-signature` is made:
 * - `valid`: as the runtime signs it;
 * - `missing`: no header (webhook-id and webhook-timestamp still sent);
 * - `malformed`: a value with no `v1,<base64>` entry at all;
 * - `wrong-key`: a full-length v1 signature made with another key;
 * - `partial`: the first 24 base64 characters of the valid signature;
 * - `rotation`: a signature by a retired key, then the valid one, space-separated (secret rotation).
 */
export type SignatureVariant = "valid" | "missing" | "malformed" | "wrong-key" | "partial" | "rotation";

/** The one thing a check changes about an otherwise valid delivery. */
export interface DeliveryTweaks {
  /** @defaultValue "valid" (nothing is signed without a secret) */
  signature?: SignatureVariant;
  /** Seconds added to now for `webhook-timestamp`; the signature is made for that timestamp. @defaultValue 0 */
  timestampOffsetS?: number;
  /** Sign the compact body, then send it re-serialized with indentation (same keys, order and values). */
  reserialize?: boolean;
  /** @defaultValue "valid" (no Authorization header without basic credentials) */
  basic?: "valid" | "missing" | "wrong";
}

/** The bytes and headers of one delivery, ready to send. */
export interface CraftedDelivery {
  body: string;
  headers: Record<string, string>;
}

/** Characters of the valid signature a `partial` one keeps: 18 of the 32 bytes, whole base64 quads. */
const partialSignatureChars = 24;

/**
 * Makes deliveries with the runtime's own headers (`reportHeaders`, `signWebhook`), then changes exactly what a
 * check asks for. The wrong and retired keys are random per run, so no receiver can know them.
 */
export class DeliveryCrafter {
  readonly #signing: { secret: string; key: Buffer } | undefined;
  readonly #basic: BasicCredentials | undefined;
  readonly #wrongKey = randomBytes(32);
  readonly #retiredKey = randomBytes(32);
  readonly #wrongPassword = `not-the-password-${randomBytes(6).toString("hex")}`;

  constructor(credentials: { signing: { secret: string; key: Buffer } | undefined; basic: BasicCredentials | undefined }) {
    this.#signing = credentials.signing;
    this.#basic = credentials.basic;
  }

  /** The delivery of `message` now, with `tweaks` applied. */
  craft(message: ReportMessage, tweaks: DeliveryTweaks = {}): CraftedDelivery {
    const timestampS = Math.floor(Date.now() / 1000) + (tweaks.timestampOffsetS ?? 0);
    const basicTweak = tweaks.basic ?? "valid";
    const auth =
      this.#basic === undefined || basicTweak === "missing"
        ? undefined
        : { kind: "basic" as const, ...this.#basic, ...(basicTweak === "wrong" ? { password: this.#wrongPassword } : {}) };
    const headers = reportHeaders(message, { signingSecret: this.#signing?.secret }, timestampS, auth);
    const signing = this.#signing;
    if (signing !== undefined) {
      const sign = (key: Buffer): string => signWebhook(key, message.webhookId, timestampS, message.body);
      const valid = sign(signing.key);
      const variant = tweaks.signature ?? "valid";
      if (variant === "missing") delete headers["webhook-signature"];
      else headers["webhook-signature"] = signatureOf(variant, valid, sign(this.#wrongKey), sign(this.#retiredKey));
    }
    const body = tweaks.reserialize === true ? JSON.stringify(JSON.parse(message.body), null, 2) : message.body;
    return { body, headers };
  }
}

function signatureOf(variant: Exclude<SignatureVariant, "missing">, valid: string, wrong: string, retired: string): string {
  switch (variant) {
    case "valid":
      return valid;
    case "malformed":
      return "not-a-signature";
    case "wrong-key":
      return wrong;
    case "partial":
      return valid.slice(0, "v1,".length + partialSignatureChars);
    case "rotation":
      return `${retired} ${valid}`;
  }
}
