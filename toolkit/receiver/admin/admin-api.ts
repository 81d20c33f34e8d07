import type { IncomingMessage, ServerResponse } from "node:http";
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

  constructor(context: AdminContext) {
    this.#routes = new Map<string, Record<string, Handler>>([
      ["/_/", { GET: (_request, response) => sendText(response, 200, "text/html; charset=utf-8", livePageHtml, { "content-security-policy": livePageCsp }) }],
      ["/_/live.js", { GET: (_request, response) => sendText(response, 200, "text/javascript; charset=utf-8", livePageScript) }],
      ["/_/events", { GET: (request, response) => context.events.open(request, response) }],
      [
        "/_/deliveries",
        {
          GET: (_request, response) => sendJson(response, 200, context.store.list()),
          DELETE: (_request, response) => sendJson(response, 200, { deleted: context.store.clear() }),
        },
      ],
      ["/_/deliveries/wait", { GET: (request, response, params) => waitForDeliveries(context.store, response, params) }],
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
    sendJson(response, 200, await store.waitFor(count, timeoutMs, abandoned.signal));
  } catch (error) {
    if (response.destroyed) return;
    if (error instanceof ToolkitError && error.code === ToolkitErrorCode.waitTimeout) {
      sendJson(response, 408, { error: error.message, count: store.recordedCount, deliveries: store.list() });
    } else if (error instanceof ToolkitError && error.code === ToolkitErrorCode.receiverClosed) {
      sendJson(response, 503, { error: error.message });
    } else {
      throw error;
    }
  }
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
