import { createHmac, timingSafeEqual, type Hmac } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { ToolkitError, ToolkitErrorCode } from "../../errors.js";
import type { ReceiverQuirk } from "../receiver-quirks.js";
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
  /** Deliberate flaws (the `signature-*` receiver quirks), for showing that a conformance suite notices them. @defaultValue [] */
  quirks?: readonly ReceiverQuirk[];
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
  readonly #quirks: ReadonlySet<ReceiverQuirk>;

  constructor(secret: string, options: SignatureVerifierOptions = {}) {
    this.#key = decodeSigningSecret(secret);
    this.#toleranceS = options.toleranceS ?? 300;
    if (!Number.isFinite(this.#toleranceS) || this.#toleranceS < 0) {
      throw new ToolkitError(ToolkitErrorCode.optionInvalid, `signature tolerance must be a number of seconds >= 0, got ${this.#toleranceS}`);
    }
    this.#now = options.now ?? Date.now;
    this.#quirks = new Set(options.quirks ?? []);
  }

  /** Starts a check from the request headers; the timestamp is judged now, when the headers arrived. */
  begin(headers: IncomingHttpHeaders): SignatureCheck {
    const quirks = this.#quirks;
    const id = single(headers["webhook-id"]);
    const timestamp = single(headers["webhook-timestamp"]);
    const signatures = single(headers["webhook-signature"]);
    if (signatures === undefined && quirks.has("signature-allow-unsigned")) return settled(passed);
    const missing = [
      ...(id === undefined ? ["webhook-id"] : []),
      ...(timestamp === undefined ? ["webhook-timestamp"] : []),
      ...(signatures === undefined ? ["webhook-signature"] : []),
    ];
    if (missing.length > 0) return settled(failed(`missing header ${missing.join(", ")}`));
    const timestampProblem = this.#timestampProblem(timestamp ?? "");
    if (timestampProblem !== null) return settled(failed(timestampProblem));
    const entries = v1Signatures(signatures ?? "");
    if (entries.length === 0) {
      return settled(quirks.has("signature-allow-no-v1-entry") ? passed : failed("webhook-signature has no v1,<base64> entry"));
    }
    const candidates = quirks.has("signature-first-entry-only") ? entries.slice(0, 1) : entries;

    const hmac: Hmac = createHmac("sha256", this.#key).update(`${id}.${timestamp}.`, "utf8");
    // Re-serializing needs the whole body; every other check streams it.
    const kept: Buffer[] | undefined = quirks.has("signature-verify-reserialized") ? [] : undefined;
    return {
      update: (chunk) => {
        if (kept === undefined) hmac.update(chunk);
        else kept.push(chunk);
      },
      finish: () => {
        if (kept !== undefined) hmac.update(reserialized(Buffer.concat(kept)));
        const computed = hmac.digest();
        // Every entry is compared (no early exit), each in constant time.
        let matched = false;
        for (const candidate of candidates) {
          if (this.#matches(candidate, computed)) matched = true;
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

  #matches(candidate: Buffer, computed: Buffer): boolean {
    if (this.#quirks.has("signature-length-only")) return candidate.length === computed.length;
    if (this.#quirks.has("signature-prefix-match")) {
      return candidate.length > 0 && candidate.length <= computed.length && timingSafeEqual(candidate, computed.subarray(0, candidate.length));
    }
    return candidate.length === computed.length && timingSafeEqual(candidate, computed);
  }

  #timestampProblem(timestamp: string): string | null {
    if (!/^\d{1,15}$/.test(timestamp)) return "webhook-timestamp is not whole Unix seconds";
    const skewS = Math.floor(this.#now() / 1000) - Number(timestamp);
    if (skewS > this.#toleranceS && !this.#quirks.has("signature-ignore-stale")) {
      return `webhook-timestamp is ${skewS} s old, more than the ${this.#toleranceS} s tolerance`;
    }
    if (-skewS > this.#toleranceS && !this.#quirks.has("signature-ignore-future")) {
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

/** The body as a receiver that parses and re-serializes it sees it; a body that is not JSON stays as it is. */
function reserialized(body: Buffer): Buffer {
  try {
    return Buffer.from(JSON.stringify(JSON.parse(body.toString("utf8"))), "utf8");
  } catch {
    return body;
  }
}

function settled(result: CheckResult): SignatureCheck {
  return { update: () => undefined, finish: () => result };
}
