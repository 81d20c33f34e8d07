import type { Verdicts } from "../delivery.js";
import type { ReceiverQuirk } from "../receiver-quirks.js";
import { noClientCertificate } from "./tls-verdict.js";

/** How the receiver refuses a request whose credentials failed. */
export interface Refusal {
  status: 401 | 403;
  refusedBy: "tls" | "basic" | "signature";
  /** The `{"error": ...}` text: what failed, never what was expected. */
  error: string;
  headers: Record<string, string>;
}

/** What shapes a refusal besides the verdicts. */
export interface RefusalContext {
  /** Whether the request carried an `Authorization` header at all (the `basic-403-on-wrong` quirk refuses only those 403). */
  sentAuthorization?: boolean;
  quirks?: readonly ReceiverQuirk[];
}

/**
 * The refusal for a request's verdicts, or `null` when every checked verdict passed. The transport is judged
 * first (a client without a certificate 401, a refused certificate 403), then basic auth, then the signature.
 */
export function refusalFor(verdicts: Verdicts, reasons: { basic?: string; signature?: string }, context: RefusalContext = {}): Refusal | null {
  if (verdicts.tls !== null && !verdicts.tls.authorized) {
    if (verdicts.tls.error === noClientCertificate) {
      return {
        status: 401,
        refusedBy: "tls",
        error: "client certificate required: present one signed by the receiver's CA (ca.pem)",
        headers: {},
      };
    }
    return {
      status: 403,
      refusedBy: "tls",
      error: `client certificate refused: ${verdicts.tls.error ?? "not trusted"}`,
      headers: {},
    };
  }
  if (verdicts.basic === "fail") {
    if (context.sentAuthorization === true && context.quirks?.includes("basic-403-on-wrong")) {
      return { status: 403, refusedBy: "basic", error: `basic auth failed: ${reasons.basic ?? "wrong credentials"}`, headers: {} };
    }
    return {
      status: 401,
      refusedBy: "basic",
      error: `basic auth failed: ${reasons.basic ?? "wrong credentials"}`,
      headers: { "www-authenticate": 'Basic realm="predictor-runtime receiver", charset="UTF-8"' },
    };
  }
  if (verdicts.signature === "fail") {
    return {
      status: 401,
      refusedBy: "signature",
      error: `Standard Webhooks signature check failed: ${reasons.signature ?? "no matching signature"}`,
      headers: {},
    };
  }
  return null;
}
