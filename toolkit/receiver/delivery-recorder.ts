import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import { writeAnswer, type AnswerContext } from "./answer-writer.js";
import { boundedJson, decodeBody, shownBody } from "./body-decoding.js";
import type { Delivery, DeliveryResponse, Verdicts } from "./delivery.js";
import type { DeliveryStore } from "./delivery-store.js";
import type { ReceiverQuirk } from "./receiver-quirks.js";
import { readRequestBody } from "./request-body.js";
import { queryOf, splitTarget } from "./request-target.js";
import type { PlannedAnswer, RuleSet } from "./rules/rule-set.js";
import { checkBasic, type BasicCredentials } from "./verdicts/basic-verdict.js";
import type { CheckResult } from "./verdicts/check-result.js";
import { refusalFor, type Refusal } from "./verdicts/enforcement.js";
import type { SignatureVerifier } from "./verdicts/signature-verdict.js";
import { tlsVerdictOf } from "./verdicts/tls-verdict.js";
import { WebhookIdLog } from "./webhook-id-log.js";

/** What recording a delivery needs from the receiver. */
export interface RecorderContext extends AnswerContext {
  store: DeliveryStore;
  rules: RuleSet;
  basic: BasicCredentials | undefined;
  signature: SignatureVerifier | undefined;
  /** True on an mTLS listener: every delivery gets a `tls` verdict. */
  mtls: boolean;
  enforce: boolean;
  maxBodyBytes: number;
  /** Deliberate flaws of the basic and mTLS checks (the signature verifier holds its own). */
  quirks: readonly ReceiverQuirk[];
  onDelivery: ((delivery: Delivery) => void) | undefined;
}

/**
 * Handles one request outside `/_/`: reads and checks it, decides the answer (a refusal when enforcement is on
 * and a verdict failed, else the rules), records it with that answer, then sends the answer. Recording
 * happens before the answer is sent, so a wait resolves even for a request the receiver will hang on.
 */
export class DeliveryRecorder {
  readonly #context: RecorderContext;
  readonly #webhookIds = new WebhookIdLog();
  #sequence = 0;
  #inFlight = 0;

  constructor(context: RecorderContext) {
    this.#context = context;
    context.store.subscribe((event) => {
      if (event.type === "cleared") this.#webhookIds.clear();
    });
  }

  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    // Counted from arrival until the answer is written, delay included: the `in_flight_over` condition.
    this.#inFlight += 1;
    try {
      await this.#handle(request, response);
    } finally {
      this.#inFlight -= 1;
    }
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const context = this.#context;
    const receivedAt = new Date();
    const signatureCheck = context.signature?.begin(request.headers);
    const body = await readRequestBody(request, context.maxBodyBytes, (chunk) => signatureCheck?.update(chunk));

    const basic: CheckResult | undefined = context.basic && checkBasic(request.headers.authorization, context.basic, context.quirks);
    const signature = signatureCheck?.finish();
    const verdicts: Verdicts = {
      basic: basic?.verdict ?? null,
      signature: signature?.verdict ?? null,
      tls: context.mtls ? tlsVerdictOf(request.socket as TLSSocket, context.quirks) : null,
    };
    const reasons = {
      ...(basic?.verdict === "fail" ? { basic: basic.reason } : {}),
      ...(signature?.verdict === "fail" ? { signature: signature.reason } : {}),
    };

    const target = splitTarget(request.url);
    const query = queryOf(target.params);
    const method = (request.method ?? "GET").toUpperCase();
    const refusal = context.enforce
      ? refusalFor(verdicts, reasons, { sentAuthorization: request.headers.authorization !== undefined, quirks: context.quirks })
      : null;
    const decoded = decodeBody(body.kept, request.headers["content-type"], body.truncated);
    const webhookIdHeader = request.headers["webhook-id"];
    const webhookId = Array.isArray(webhookIdHeader) ? webhookIdHeader.join(", ") : webhookIdHeader;
    let answer: PlannedAnswer;
    if (refusal === null) {
      answer = context.rules.answer({
        method,
        path: target.path,
        headers: request.headers,
        query,
        verdicts,
        json: boundedJson(decoded),
        bodyBytes: body.totalBytes,
        webhookIdRepeated: webhookId !== undefined && this.#webhookIds.has(webhookId),
        inFlight: this.#inFlight,
      });
      if (webhookId !== undefined) this.#webhookIds.add(webhookId);
    } else {
      answer = refusalAnswer(refusal);
    }

    this.#sequence += 1;
    const delivery: Delivery = {
      id: String(this.#sequence),
      method,
      path: target.path,
      url: request.url ?? "/",
      query,
      headers: flattenHeaders(request),
      body: undefined,
      raw_body: decoded.raw_body,
      raw_body_encoding: decoded.raw_body_encoding,
      body_bytes: body.totalBytes,
      body_truncated: body.truncated,
      received_at: receivedAt.toISOString(),
      timing: { body_ms: Math.round(body.durationMs * 1000) / 1000 },
      remote_address: request.socket.remoteAddress ?? "",
      http_version: request.httpVersion,
      verdicts,
      verdict_reasons: reasons,
      response: responseOf(answer, refusal),
    };
    // Parsed each time it is read, within bounds, never kept: the record holds only the text (see decodeBody).
    Object.defineProperty(delivery, "body", { get: () => shownBody(decoded), enumerable: true, configurable: true });
    context.store.add(delivery);
    context.onDelivery?.(delivery);
    await writeAnswer(request, response, answer, context);
  }
}

function refusalAnswer(refusal: Refusal): PlannedAnswer {
  return {
    status: refusal.status,
    headers: { "content-type": "application/json", ...refusal.headers },
    body: Buffer.from(JSON.stringify({ error: refusal.error })),
    fault: null,
    delayMs: 0,
    dribbleIntervalMs: 0,
    rule: null,
  };
}

function responseOf(answer: PlannedAnswer, refusal: Refusal | null): DeliveryResponse {
  const sendsNothing = answer.fault === "reset" || answer.fault === "empty" || answer.fault === "hang";
  const garbled = answer.fault === "malformed";
  return {
    status: sendsNothing ? null : garbled ? 200 : answer.status,
    headers: sendsNothing || garbled ? {} : answer.headers,
    body: sendsNothing || garbled ? "" : answer.body.toString("utf8"),
    fault: answer.fault,
    delay_ms: answer.delayMs,
    rule: answer.rule,
    refused_by: refusal?.refusedBy ?? null,
  };
}

/** Lower-case names; a repeated header's values joined with ", " (set-cookie included, for one shape). */
function flattenHeaders(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headersDistinct)) {
    if (value !== undefined) headers[name] = value.join(", ");
  }
  return headers;
}
