import { Agent, request } from "undici";
import type { ConformanceCertificates } from "./conformance-options.js";
import type { CraftedDelivery } from "./delivery-crafter.js";
import type { SendOutcome } from "./send-outcome.js";

/** Which client certificate a delivery presents: a fixture name, or none at all. */
export type ClientIdentity = "client" | "client-expired" | "client-wrong-eku" | "client-foreign-ca" | "none";

/** Options of {@link DeliverySender}. */
export interface DeliverySenderOptions {
  url: URL;
  /** When set, the receiver's certificate is checked against `ca` and deliveries present `client` by default. */
  mtls: ConformanceCertificates | undefined;
  /** Whole-exchange limit of one delivery, up to its status line. */
  timeoutMs: number;
}

/** The most of an answer body read, for the detail of a check. */
const answerBytesKept = 2048;

/** Error codes meaning "nobody answered there", as opposed to a receiver that answered badly. */
const unreachableCodes = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL"]);

/** Error codes of this side refusing the receiver's certificate. */
const untrustedServerCodes = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/**
 * Sends crafted deliveries to the receiver and says how each ended; never throws for the receiver's behaviour.
 * Every delivery uses a fresh connection (`connection: close`), so one check's connection state (a TLS session, a
 * half-closed socket) can never decide another's verdict. One undici Agent per client identity; close() ends them.
 */
export class DeliverySender {
  readonly #options: DeliverySenderOptions;
  readonly #agents = new Map<ClientIdentity, Agent>();

  constructor(options: DeliverySenderOptions) {
    this.#options = options;
  }

  /** POSTs one delivery; `identity` picks the client certificate (default: the good one under mTLS, else none). */
  async send(delivery: CraftedDelivery, identity?: ClientIdentity): Promise<SendOutcome> {
    const { url, timeoutMs } = this.#options;
    const dispatcher = this.#agentFor(identity ?? (this.#options.mtls === undefined ? "none" : "client"));
    const signal = AbortSignal.timeout(timeoutMs);
    const started = performance.now();
    const elapsed = (): number => performance.now() - started;
    try {
      const response = await request(url, { method: "POST", headers: delivery.headers, body: delivery.body, dispatcher, signal, reset: true });
      const elapsedMs = elapsed();
      return { kind: "answered", status: response.statusCode, headers: flatten(response.headers), body: await readSome(response.body), elapsedMs };
    } catch (error) {
      if (signal.aborted) return { kind: "timeout", elapsedMs: elapsed() };
      return classifyFailure(error, elapsed());
    }
  }

  /** Closes every connection. */
  async close(): Promise<void> {
    await Promise.all([...this.#agents.values()].map((agent) => agent.destroy()));
    this.#agents.clear();
  }

  #agentFor(identity: ClientIdentity): Agent {
    let agent = this.#agents.get(identity);
    if (agent === undefined) {
      const { mtls, timeoutMs } = this.#options;
      const certificate = mtls === undefined || identity === "none" ? {} : { cert: mtls[identity].cert, key: mtls[identity].key };
      agent = new Agent({
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        // Without --mtls an https receiver is checked against Node's trust store (NODE_EXTRA_CA_CERTS included).
        connect: { timeout: timeoutMs, ...(mtls === undefined ? {} : { ca: mtls.ca.cert }), ...certificate },
      });
      this.#agents.set(identity, agent);
    }
    return agent;
  }
}

/** The start of an answer body as text; the rest is dropped with the connection. */
async function readSome(body: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  let kept = 0;
  try {
    for await (const chunk of body) {
      chunks.push(chunk);
      kept += chunk.length;
      if (kept >= answerBytesKept) break;
    }
  } catch {
    // The status decided the verdict; a body cut short only shortens the detail.
  }
  return Buffer.concat(chunks).subarray(0, answerBytesKept).toString("utf8");
}

function flatten(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(", ") : value;
  return flat;
}

/** Sorts a failed request by the codes along its cause chain. */
export function classifyFailure(error: unknown, elapsedMs: number): SendOutcome {
  const chain: { code?: string; message: string; name?: string }[] = [];
  for (let cause: unknown = error; cause instanceof Error && chain.length < 5; cause = cause.cause) {
    chain.push({ code: (cause as NodeJS.ErrnoException).code, message: cause.message, name: cause.name });
  }
  const codes = chain.map((link) => link.code).filter((code): code is string => typeof code === "string");
  const innermost = chain.at(-1);
  const label = codes.at(-1) ?? innermost?.name ?? "error";
  const error_ = `${label}: ${innermost?.message ?? String(error)}`;
  if (chain.some((link) => link.name === "TimeoutError" || link.code === "UND_ERR_HEADERS_TIMEOUT" || link.code === "UND_ERR_CONNECT_TIMEOUT")) {
    return { kind: "timeout", elapsedMs };
  }
  if (codes.some((code) => unreachableCodes.has(code))) return { kind: "unreachable", error: error_, elapsedMs };
  const untrusted = codes.find((code) => untrustedServerCodes.has(code));
  if (untrusted !== undefined) {
    return {
      kind: "unreachable",
      error: `its certificate is not trusted here, ${untrusted}: pass --mtls DIR to trust DIR/ca.pem, or NODE_EXTRA_CA_CERTS=ca.pem`,
      elapsedMs,
    };
  }
  if (codes.some((code) => /^ERR_SSL_.*ALERT/.test(code)) || chain.some((link) => /alert/i.test(link.message))) {
    return { kind: "tls-refused", error: error_, elapsedMs };
  }
  return { kind: "broken", error: error_, elapsedMs };
}
