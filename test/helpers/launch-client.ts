/**
 * The wire behaviour of the official Launch Python client (`scale-launch`, module `launch`), ported line for line
 * from launch/client.py and launch/model_endpoint.py (scaleapi/launch-python-client), since the client itself cannot
 * be installed here: the exact requests it sends (its generated ApiClient's headers, Basic auth with the API key as
 * the username and an empty password, Python's json.dumps body) and exactly the fields it parses from each answer.
 * A runtime that satisfies this helper satisfies the client.
 */

/** The client's `Configuration(username=api_key, password="")` becomes this header on every request. */
export function launchAuthorization(apiKey: string): string {
  return `Basic ${Buffer.from(`${apiKey}:`).toString("base64")}`;
}

/** What the generated ApiClient sends besides auth. */
const CLIENT_HEADERS = { accept: "application/json", "user-agent": "OpenAPI-Generator/1.0.0/python" };

/** Python's `json.dumps` with its default separators, as the generated client serializes bodies. */
export function pythonJsonDumps(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(", ")}]`;
  if (typeof value === "object") {
    return `{${Object.entries(value as Record<string, unknown>)
      .map(([key, item]) => `${JSON.stringify(key)}: ${pythonJsonDumps(item)}`)
      .join(", ")}}`;
  }
  return JSON.stringify(value);
}

/** Raised where the client itself would raise (ApiException on a non-2xx answer, ValueError, KeyError). */
export class LaunchClientError extends Error {}

/** The client's `ModelEndpoint.from_dict`: `name` required, the rest optional, unknown keys dropped. */
export interface ModelEndpoint {
  name: string;
  id?: string;
  status?: string;
  endpoint_type?: string;
  post_inference_hooks?: string[];
  default_callback_url?: string;
}

/** The client's `EndpointResponse`. */
export interface EndpointResponse {
  status: string;
  result_url: unknown;
  result: unknown;
  traceback: unknown;
}

/** One LaunchClient(api_key, endpoint=baseUrl), speaking HTTP as the official client does. */
export class LaunchClientWire {
  /** Every request it made: method, path and query, headers. */
  readonly requests: Array<{ method: string; path: string; headers: Record<string, string>; body?: string }> = [];

  constructor(
    private readonly apiKey: string,
    private readonly baseUrl: string,
  ) {}

  async #call(method: "GET" | "POST", path: string, body?: unknown): Promise<any> {
    const headers: Record<string, string> = { ...CLIENT_HEADERS, authorization: launchAuthorization(this.apiKey) };
    let text: string | undefined;
    if (body !== undefined) {
      headers["content-type"] = "application/json";
      text = pythonJsonDumps(body);
    }
    this.requests.push({ method, path, headers, ...(text === undefined ? {} : { body: text }) });
    const response = await fetch(`${this.baseUrl}${path}`, { method, headers, ...(text === undefined ? {} : { body: text }) });
    const answer = await response.text();
    // The generated client raises ApiException on any status outside 2xx, skip_deserialization or not.
    if (response.status < 200 || response.status > 299) throw new LaunchClientError(`ApiException(${response.status}): ${answer}`);
    return JSON.parse(answer);
  }

  /** `get_model_endpoint(name)`: GET /v1/model-endpoints?name=NAME, the first entry, dispatched on endpoint_type. */
  async getModelEndpoint(name: string): Promise<{ kind: "AsyncEndpoint" | "SyncEndpoint"; model_endpoint: ModelEndpoint } | null> {
    const resp = await this.#call("GET", `/v1/model-endpoints?name=${encodeURIComponent(name)}`);
    if (resp.model_endpoints.length === 0) return null;
    const first = resp.model_endpoints[0];
    const model_endpoint = fromDict(first);
    if (first.endpoint_type === "async") return { kind: "AsyncEndpoint", model_endpoint };
    if (first.endpoint_type === "sync") return { kind: "SyncEndpoint", model_endpoint };
    throw new LaunchClientError("ValueError: Endpoint should be one of the types 'sync' or 'async'");
  }

  /** `list_model_endpoints()`: GET /v1/model-endpoints; async ones first, then sync ones. */
  async listModelEndpoints(): Promise<Array<{ kind: string; model_endpoint: ModelEndpoint }>> {
    const resp = await this.#call("GET", "/v1/model-endpoints");
    const all = resp.model_endpoints as any[];
    return [
      ...all.filter((e) => e.endpoint_type === "async").map((e) => ({ kind: "AsyncEndpoint", model_endpoint: fromDict(e) })),
      ...all.filter((e) => e.endpoint_type === "sync").map((e) => ({ kind: "SyncEndpoint", model_endpoint: fromDict(e) })),
    ];
  }

  /**
   * `AsyncEndpoint.predict(EndpointRequest(args=..., callback_url=...))`: looks the endpoint up, then POST
   * /v1/async-tasks?model_endpoint_id=ID with dict_not_none(return_pickled, url, args, callback_url, callback_auth);
   * resolves to `response["task_id"]`.
   */
  async asyncPredict(endpointName: string, request: { args: unknown; callback_url?: string; callback_auth?: Record<string, string> }): Promise<string> {
    const endpoint = await this.getModelEndpoint(endpointName);
    if (endpoint === null) throw new LaunchClientError("AttributeError: 'NoneType' object has no attribute 'model_endpoint'");
    const payload: Record<string, unknown> = { return_pickled: false, args: request.args };
    if (request.callback_url !== undefined) payload.callback_url = request.callback_url;
    if (request.callback_auth !== undefined) payload.callback_auth = request.callback_auth;
    const resp = await this.#call("POST", `/v1/async-tasks?model_endpoint_id=${encodeURIComponent(endpoint.model_endpoint.id ?? "None")}`, payload);
    if (typeof resp.task_id !== "string") throw new LaunchClientError("KeyError: 'task_id'");
    return resp.task_id;
  }

  /** `EndpointResponseFuture.get(timeout)`: polls GET /v1/async-tasks/ID (every 2 s in the client; `pollMs` here). */
  async futureGet(taskId: string, timeoutMs = 20_000, pollMs = 50): Promise<EndpointResponse & { polls: string[] }> {
    const polls: string[] = [];
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const resp = await this.#call("GET", `/v1/async-tasks/${encodeURIComponent(taskId)}`);
      const status = resp.status;
      polls.push(status);
      if (status === "PENDING") {
        await new Promise((resolve) => setTimeout(resolve, pollMs));
        continue;
      }
      if (status === "SUCCESS") {
        const result = dictGet(resp, "result", {});
        return { status, result_url: dictGet(result, "result_url", null), result: dictGet(result, "result", null), traceback: null, polls };
      }
      if (status === "FAILURE") return { status, result_url: null, result: null, traceback: dictGet(resp, "traceback", null), polls };
      throw new LaunchClientError(`ValueError: Unrecognized status: ${status}`);
    }
    throw new LaunchClientError("TimeoutError");
  }

  /** `SyncEndpoint.predict(EndpointRequest(args=...))`: POST /v1/sync-tasks?model_endpoint_id=ID, None values dropped. */
  async syncPredict(endpointName: string, args: unknown): Promise<EndpointResponse> {
    const endpoint = await this.getModelEndpoint(endpointName);
    if (endpoint === null) throw new LaunchClientError("AttributeError: 'NoneType' object has no attribute 'model_endpoint'");
    const raw = await this.#call("POST", `/v1/sync-tasks?model_endpoint_id=${encodeURIComponent(endpoint.model_endpoint.id ?? "None")}`, { return_pickled: false, args });
    const response = Object.fromEntries(Object.entries(raw as Record<string, unknown>).filter(([, value]) => value !== null));
    const result = dictGet(response, "result", {});
    return { status: dictGet(response, "status", null) as string, result_url: dictGet(result, "result_url", null), result: dictGet(result, "result", null), traceback: dictGet(response, "traceback", null) };
  }
}

/** Python's `d.get(key, default)`, which raises AttributeError when `d` is not a dict (the bug a bare result caused). */
function dictGet(value: unknown, key: string, fallback: unknown): unknown {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new LaunchClientError(`AttributeError: '${value === null ? "NoneType" : Array.isArray(value) ? "list" : typeof value === "number" ? "int" : typeof value}' object has no attribute 'get'`);
  }
  return key in (value as object) ? (value as Record<string, unknown>)[key] : fallback;
}

function fromDict(entry: any): ModelEndpoint {
  if (typeof entry?.name !== "string") throw new LaunchClientError("KeyError: 'name' (ModelEndpoint.from_dict)");
  const endpoint: ModelEndpoint = { name: entry.name };
  for (const key of ["id", "status", "endpoint_type", "default_callback_url"] as const) if (entry[key] !== undefined && entry[key] !== null) endpoint[key] = entry[key];
  if (Array.isArray(entry.post_inference_hooks)) endpoint.post_inference_hooks = entry.post_inference_hooks;
  return endpoint;
}
