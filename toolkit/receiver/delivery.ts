/** One verdict of contract section 6: `null` where the receiver was not asked to check. */
export type Verdict = "pass" | "fail" | null;

/** The client certificate check of an mTLS receiver. */
export interface TlsVerdict {
  authorized: boolean;
  /** Why the certificate was refused: `NO_CLIENT_CERTIFICATE`, or Node's code such as `CERT_HAS_EXPIRED`. */
  error?: string;
  /** The client certificate's subject as `CN=..., O=...`, when one was presented. */
  subject?: string;
}

/** The verdicts of one delivery (contract section 6). */
export interface Verdicts {
  basic: Verdict;
  signature: Verdict;
  tls: TlsVerdict | null;
}

/** The connection faults a rule can inject (contract section 6). */
export const faults = ["reset", "empty", "malformed", "hang", "dribble"] as const;

/** One of {@link faults}. */
export type Fault = (typeof faults)[number];

/** What the receiver answered, decided when the request was recorded. */
export interface DeliveryResponse {
  /** The HTTP status sent, or `null` when a fault sent none (reset, empty, hang). */
  status: number | null;
  headers: Record<string, string>;
  /** The answer body as text (empty for a fault that sends none). */
  body: string;
  fault: Fault | null;
  /** How long the receiver waited before answering. */
  delay_ms: number;
  /** Index of the rule that answered, `null` for the default answer or an enforcement refusal. */
  rule: number | null;
  /** The verdict that made the receiver refuse the request, when it did. */
  refused_by: "tls" | "basic" | "signature" | null;
}

/** One recorded request: everything the admin API, the live page and the HAR export show. */
export interface Delivery {
  /** Sequence number as a string, unique for the receiver's lifetime (not reset by clear()). */
  id: string;
  method: string;
  /** The path without the query string. */
  path: string;
  /** The request target as received: path and query string. */
  url: string;
  /** Query parameters; a repeated name gives an array. */
  query: Record<string, string | string[]>;
  /** Header names in lower case; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** The parsed JSON when the content type is JSON and the body parses, else the raw text. */
  body: unknown;
  /** The body as received, UTF-8 text, or base64 when the bytes are not valid UTF-8. */
  raw_body: string;
  raw_body_encoding: "utf8" | "base64";
  /** Bytes received in the body, including any beyond the recording limit. */
  body_bytes: number;
  /** True when the body was longer than the recording limit and only its start was kept. */
  body_truncated: boolean;
  /** When the request line and headers arrived (ISO 8601, UTC). */
  received_at: string;
  timing: {
    /** Milliseconds from the headers to the body's last byte. */
    body_ms: number;
  };
  remote_address: string;
  http_version: string;
  verdicts: Verdicts;
  /** Why a `basic` or `signature` verdict failed, for people reading the record. */
  verdict_reasons: { basic?: string; signature?: string };
  response: DeliveryResponse;
}
