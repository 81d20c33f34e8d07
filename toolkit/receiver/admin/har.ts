import { STATUS_CODES } from "node:http";
import { VERSION } from "../../../runtime/version.js";
import type { Delivery } from "../delivery.js";

/** A HAR 1.2 name/value pair. */
interface HarPair {
  name: string;
  value: string;
}

/** The HAR 1.2 document of `GET /_/har` (only the parts this receiver fills). */
export interface HarDocument {
  log: {
    version: "1.2";
    creator: { name: string; version: string };
    entries: HarEntry[];
  };
}

/** One HAR entry: a delivery and the receiver's answer, plus `_`-prefixed custom fields HAR 1.2 allows. */
export interface HarEntry {
  startedDateTime: string;
  time: number;
  request: {
    method: string;
    url: string;
    httpVersion: string;
    cookies: [];
    headers: HarPair[];
    queryString: HarPair[];
    postData?: { mimeType: string; text: string; encoding?: "base64" };
    headersSize: -1;
    bodySize: number;
  };
  response: {
    status: number;
    statusText: string;
    httpVersion: string;
    cookies: [];
    headers: HarPair[];
    content: { size: number; mimeType: string; text: string };
    redirectURL: "";
    headersSize: -1;
    bodySize: number;
  };
  cache: Record<string, never>;
  timings: { send: number; wait: number; receive: number };
  _id: string;
  _verdicts: Delivery["verdicts"];
  _fault: Delivery["response"]["fault"];
}

/**
 * The deliveries as a HAR 1.2 log, oldest first, for browser dev tools and HAR viewers. A fault that sent no
 * answer gets status 0 (HAR's "no response"); verdicts and faults ride along as `_verdicts` and `_fault`.
 */
export function toHar(deliveries: readonly Delivery[], baseUrl: string): HarDocument {
  return {
    log: {
      version: "1.2",
      creator: { name: "predictor-runtime receiver", version: VERSION },
      entries: deliveries.map((delivery) => entryOf(delivery, baseUrl)),
    },
  };
}

function entryOf(delivery: Delivery, baseUrl: string): HarEntry {
  const response = delivery.response;
  const mimeType = delivery.headers["content-type"] ?? "application/octet-stream";
  const httpVersion = `HTTP/${delivery.http_version}`;
  return {
    startedDateTime: delivery.received_at,
    time: delivery.timing.body_ms + response.delay_ms,
    request: {
      method: delivery.method,
      // Origin-form targets (`/hook?a=1`) are joined literally; `new URL` would resolve `..` and `//`.
      url: delivery.url.startsWith("/") ? `${baseUrl}${delivery.url}` : delivery.url,
      httpVersion,
      cookies: [],
      headers: pairs(delivery.headers),
      queryString: Object.entries(delivery.query).flatMap(([name, value]) =>
        (Array.isArray(value) ? value : [value]).map((item) => ({ name, value: item })),
      ),
      ...(delivery.body_bytes > 0
        ? {
            postData: {
              mimeType,
              text: delivery.raw_body,
              ...(delivery.raw_body_encoding === "base64" ? { encoding: "base64" as const } : {}),
            },
          }
        : {}),
      headersSize: -1,
      bodySize: delivery.body_bytes,
    },
    response: {
      status: response.status ?? 0,
      statusText: response.status === null ? "" : (STATUS_CODES[response.status] ?? ""),
      httpVersion,
      cookies: [],
      headers: pairs(response.headers),
      content: {
        size: Buffer.byteLength(response.body),
        mimeType: response.headers["content-type"] ?? "x-unknown",
        text: response.body,
      },
      redirectURL: "",
      headersSize: -1,
      bodySize: response.status === null ? -1 : Buffer.byteLength(response.body),
    },
    cache: {},
    timings: { send: delivery.timing.body_ms, wait: response.delay_ms, receive: 0 },
    _id: delivery.id,
    _verdicts: delivery.verdicts,
    _fault: response.fault,
  };
}

function pairs(headers: Record<string, string>): HarPair[] {
  return Object.entries(headers).map(([name, value]) => ({ name, value }));
}
