import type { IncomingMessage, ServerResponse } from "node:http";
import { isIP } from "node:net";
import { hostname } from "node:os";
import { ToolkitError, ToolkitErrorCode } from "../../errors.js";
import type { DeliveryStore } from "../delivery-store.js";
import { readRequestBody } from "../request-body.js";
import { splitTarget } from "../request-target.js";
import type { RulesDocument } from "../rules/receiver-rule.js";
import type { EventStream } from "./event-stream.js";
import { toHar } from "./har.js";
import { livePageCsp, livePageHtml, livePageScript } from "./live-page.js";
import { resendDelivery } from "./resend.js";

/** Paths under this prefix are the admin API: never recorded, never refused for credentials. */
export const adminPrefix = "/_/";

/** Longest wait `GET /_/deliveries/wait` accepts. */
export const maxWaitMs = 10 * 60 * 1000; // 10 min
const defaultWaitMs = 10_000;
const maxRulesBytes = 1024 * 1024;

/** What the admin API needs from the receiver. */
export interface AdminContext {
  store: DeliveryStore;
  events: EventStream;
  baseUrl: () => string;
  /** The address the receiver listens on: admin requests must name it (or a name of this machine) as their Host. */
  listenHost: string;
  rules: () => RulesDocument;
  /** Validates and replaces the rules; throws RULES_INVALID. */
  setRules: (document: unknown) => RulesDocument;
  /** URL prefixes besides loopback that `POST /_/resend` may send to (`--allow-resend`). */
  resendAllow?: readonly string[];
}

type Handler = (request: IncomingMessage, response: ServerResponse, params: URLSearchParams) => Promise<void> | void;

/** The admin API of contract section 6, plus the live page's script and event stream. */
export class AdminApi {
  readonly #routes: ReadonlyMap<string, Readonly<Record<string, Handler>>>;
  readonly #listenHost: string;

  constructor(context: AdminContext) {
    this.#listenHost = context.listenHost;
    this.#routes = new Map<string, Record<string, Handler>>([
      ["/_/", { GET: (_request, response) => sendText(response, 200, "text/html; charset=utf-8", livePageHtml, { "content-security-policy": livePageCsp }) }],
      ["/_/live.js", { GET: (_request, response) => sendText(response, 200, "text/javascript; charset=utf-8", livePageScript) }],
      ["/_/events", { GET: (request, response) => context.events.open(request, response) }],
      [
        "/_/deliveries",
        {
          GET: (_request, response) => sendJson(response, 200, context.store.list(), droppedHeader(context.store)),
          DELETE: (_request, response) => sendJson(response, 200, { deleted: context.store.clear() }),
        },
      ],
      ["/_/deliveries/wait", { GET: (_request, response, params) => waitForDeliveries(context.store, response, params) }],
      [
        "/_/rules",
        {
          GET: (_request, response) => sendJson(response, 200, context.rules()),
          PUT: (request, response) => putRules(context, request, response),
        },
      ],
      ["/_/har", { GET: (_request, response) => sendJson(response, 200, toHar(context.store.list(), context.baseUrl())) }],
      [
        "/_/resend",
        {
          POST: (request, response) =>
            resendDelivery(request, response, (id) => context.store.list().find((delivery) => delivery.id === id), context.resendAllow ?? [], sendJson),
        },
      ],
    ]);
  }

  /** True for a request the admin API answers. */
  static handles(request: IncomingMessage): boolean {
    return (request.url ?? "/").startsWith(adminPrefix);
  }

  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const host = hostOf(request.headers.host);
    if (!adminHostAllowed(host, this.#listenHost)) {
      // A page on another site that rebinds its own DNS name to this address must not read recorded Authorization
      // headers: its requests carry its own name as Host.
      sendJson(response, 403, {
        error: `the admin API answers only requests addressed to this receiver by IP address, localhost or ${hostname()} (Host was ${JSON.stringify(host ?? "")})`,
      });
      return;
    }
    const target = splitTarget(request.url);
    const route = this.#routes.get(target.path);
    if (route === undefined) {
      sendJson(response, 404, { error: `no admin endpoint ${target.path}; see ${[...this.#routes.keys()].join(", ")}` });
      return;
    }
    const method = (request.method ?? "GET").toUpperCase();
    const handler = route[method] ?? (method === "HEAD" ? route["GET"] : undefined);
    if (handler === undefined) {
      const allowed = Object.keys(route).join(", ");
      sendJson(response, 405, { error: `${target.path} answers ${allowed}, not ${method}` }, { allow: allowed });
      return;
    }
    await handler(request, response, target.params);
  }
}

async function waitForDeliveries(store: DeliveryStore, response: ServerResponse, params: URLSearchParams): Promise<void> {
  const count = integerParam(params, "count", { min: 1, max: 1_000_000 });
  const timeoutMs = integerParam(params, "timeout_ms", { min: 0, max: maxWaitMs, default: defaultWaitMs });
  if (typeof count === "string" || typeof timeoutMs === "string") {
    sendJson(response, 400, { error: [count, timeoutMs].filter((value) => typeof value === "string").join("; ") });
    return;
  }
  // A caller that gives up stops the wait, so its timer does not outlive it.
  const abandoned = new AbortController();
  response.once("close", () => abandoned.abort());
  try {
    const deliveries = await store.waitFor(count, timeoutMs, abandoned.signal);
    sendJson(response, 200, deliveries, droppedHeader(store));
  } catch (error) {
    if (response.destroyed) return;
    if (error instanceof ToolkitError && error.code === ToolkitErrorCode.waitTimeout) {
      sendJson(response, 408, { error: error.message, count: store.recordedCount, dropped: store.droppedCount, deliveries: store.list() }, droppedHeader(store));
    } else if (error instanceof ToolkitError && error.code === ToolkitErrorCode.receiverClosed) {
      sendJson(response, 503, { error: error.message });
    } else {
      throw error;
    }
  }
}

/** The host name of a Host header, without port or IPv6 brackets, lower case. */
function hostOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(header);
  if (bracketed !== null) return bracketed[1]!.toLowerCase();
  return header.replace(/:\d+$/, "").toLowerCase();
}

/**
 * Whether an admin request's Host names this receiver: the address it listens on, localhost, this machine's host
 * name, or (listening on every address) any IP literal. A name that merely resolves here is refused.
 */
export function adminHostAllowed(host: string | undefined, listenHost: string): boolean {
  if (host === undefined || host === "") return false;
  if (host === "localhost" || host === hostname().toLowerCase()) return true;
  if (isIP(host) === 0) return false;
  const unspecified = listenHost === "0.0.0.0" || listenHost === "::";
  const loopback = listenHost === "localhost" || listenHost === "127.0.0.1" || listenHost === "::1";
  return unspecified || host === listenHost.toLowerCase() || (loopback && (host === "127.0.0.1" || host === "::1"));
}

/** `x-dropped-deliveries`: how many deliveries the memory bounds dropped since the last clear (the list is a window). */
function droppedHeader(store: DeliveryStore): Record<string, string> {
  return { "x-dropped-deliveries": String(store.droppedCount) };
}

/** A whole-number query parameter, or a message saying what is wrong with it. */
function integerParam(params: URLSearchParams, name: string, range: { min: number; max: number; default?: number }): number | string {
  const text = params.get(name);
  if (text === null || text === "") {
    return range.default ?? `query parameter ${name} is required (a whole number from ${range.min} to ${range.max})`;
  }
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < range.min || value > range.max) {
    return `query parameter ${name} must be a whole number from ${range.min} to ${range.max}, got ${JSON.stringify(text)}`;
  }
  return value;
}

async function putRules(context: AdminContext, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const body = await readRequestBody(request, maxRulesBytes, () => undefined);
  if (body.truncated) {
    sendJson(response, 413, { error: `a rules document may be at most ${maxRulesBytes} bytes` });
    return;
  }
  let document: unknown;
  try {
    document = JSON.parse(body.kept.toString("utf8"));
  } catch (error) {
    sendJson(response, 400, { error: `the body is not JSON (${(error as Error).message}); send {"rules": [...]}` });
    return;
  }
  try {
    sendJson(response, 200, context.setRules(document));
  } catch (error) {
    if (error instanceof ToolkitError && error.code === ToolkitErrorCode.rulesInvalid) {
      sendJson(response, 400, { error: error.message });
      return;
    }
    throw error;
  }
}

/** Sends a JSON answer with its length, so keep-alive clients know where it ends. */
export function sendJson(response: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  sendText(response, status, "application/json", JSON.stringify(value), headers);
}

function sendText(response: ServerResponse, status: number, contentType: string, text: string, headers: Record<string, string> = {}): void {
  const body = Buffer.from(text, "utf8");
  response.writeHead(status, { "content-type": contentType, "content-length": String(body.length), "cache-control": "no-store", ...headers });
  response.end(response.req.method === "HEAD" ? undefined : body);
}
