import { createHmac, timingSafeEqual, type Hmac } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { ToolkitError, ToolkitErrorCode } from "../../errors.js";
import { failed, passed, type CheckResult } from "./check-result.js";

/** Options of {@link SignatureVerifier}. */
export interface SignatureVerifierOptions {
  /**
   * How far `webhook-timestamp` may be from now, in seconds, in either direction (the Standard Webhooks default).
   * @defaultValue 300
   */
  toleranceS?: number;
  /** Clock in milliseconds since the epoch; tests replace it. @defaultValue `Date.now` */
  now?: () => number;
}

/** A signature check fed the body as it streams in, so a body of any size is checked without keeping it. */
export interface SignatureCheck {
  update(chunk: Buffer): void;
  finish(): CheckResult;
}

const secretPrefix = "whsec_";
const base64Pattern = /^[A-Za-z0-9+/]+={0,2}$/;

/** Decodes a Standard Webhooks secret (`whsec_<base64>`, prefix optional as in the reference libraries). */
export function decodeSigningSecret(secret: string): Buffer {
  const encoded = secret.startsWith(secretPrefix) ? secret.slice(secretPrefix.length) : secret;
  if (!base64Pattern.test(encoded) || encoded.length % 4 !== 0) {
    throw new ToolkitError(
      ToolkitErrorCode.secretInvalid,
      "the signing secret must be whsec_ followed by base64 (a Standard Webhooks secret: whsec_ and the base64 of 24 to 64 random bytes)",
    );
  }
  return Buffer.from(encoded, "base64");
}

/**
 * Verifies Standard Webhooks signatures: `webhook-signature` holds space-separated `v1,<base64>` entries, each an
 * HMAC-SHA256 of `webhook-id.webhook-timestamp.body` keyed by the decoded secret; one matching entry passes.
 * Written independently of the `standardwebhooks` package so the tests can check one against the other.
 */
export class SignatureVerifier {
  readonly #key: Buffer;
  readonly #toleranceS: number;
  readonly #now: () => number;

  constructor(secret: string, options: SignatureVerifierOptions = {}) {
    this.#key = decodeSigningSecret(secret);
    this.#toleranceS = options.toleranceS ?? 300;
    if (!Number.isFinite(this.#toleranceS) || this.#toleranceS < 0) {
      throw new ToolkitError(ToolkitErrorCode.optionInvalid, `signature tolerance must be a number of seconds >= 0, got ${this.#toleranceS}`);
    }
    this.#now = options.now ?? Date.now;
  }

  /** Starts a check from the request headers; the timestamp is judged now, when the headers arrived. */
  begin(headers: IncomingHttpHeaders): SignatureCheck {
    const id = single(headers["webhook-id"]);
    const timestamp = single(headers["webhook-timestamp"]);
    const signatures = single(headers["webhook-signature"]);
    const missing = [
      ...(id === undefined ? ["webhook-id"] : []),
      ...(timestamp === undefined ? ["webhook-timestamp"] : []),
      ...(signatures === undefined ? ["webhook-signature"] : []),
    ];
    if (missing.length > 0) return settled(failed(`missing header ${missing.join(", ")}`));
    const timestampProblem = this.#timestampProblem(timestamp ?? "");
    if (timestampProblem !== null) return settled(failed(timestampProblem));
    const expectedSignatures = v1Signatures(signatures ?? "");
    if (expectedSignatures.length === 0) return settled(failed("webhook-signature has no v1,<base64> entry"));

    const hmac: Hmac = createHmac("sha256", this.#key).update(`${id}.${timestamp}.`, "utf8");
    return {
      update: (chunk) => void hmac.update(chunk),
      finish: () => {
        const computed = hmac.digest();
        // Every entry is compared (no early exit), each in constant time.
        let matched = false;
        for (const candidate of expectedSignatures) {
          if (candidate.length === computed.length && timingSafeEqual(candidate, computed)) matched = true;
        }
        return matched ? passed : failed("no v1 signature in webhook-signature matches the body");
      },
    };
  }

  /** Checks a whole body at once. */
  verify(headers: IncomingHttpHeaders, body: Buffer | string): CheckResult {
    const check = this.begin(headers);
    check.update(typeof body === "string" ? Buffer.from(body, "utf8") : body);
    return check.finish();
  }

  #timestampProblem(timestamp: string): string | null {
    if (!/^\d{1,15}$/.test(timestamp)) return "webhook-timestamp is not whole Unix seconds";
    const skewS = Math.floor(this.#now() / 1000) - Number(timestamp);
    if (skewS > this.#toleranceS) return `webhook-timestamp is ${skewS} s old, more than the ${this.#toleranceS} s tolerance`;
    if (-skewS > this.#toleranceS) {
      return `webhook-timestamp is ${-skewS} s in the future, more than the ${this.#toleranceS} s tolerance`;
    }
    return null;
  }
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(" ") : value;
}

/** The decoded `v1` entries; other versions (such as the asymmetric `v1a`) are not ours to check. */
function v1Signatures(header: string): Buffer[] {
  return header
    .split(/\s+/)
    .filter((entry) => entry.startsWith("v1,"))
    .map((entry) => Buffer.from(entry.slice(3), "base64"));
}

function settled(result: CheckResult): SignatureCheck {
  return { update: () => undefined, finish: () => result };
}
