import { join } from "node:path";
import { stringify } from "yaml";
import { FIXTURE_PREDICTORS, type TestRuntime } from "./runtime-fixture.js";
import { waitUntil } from "./wait-until.js";

/** An AsyncAPI spec for delivery tests: the echo predictor, callbacks on, and a retry schedule of milliseconds. */
export interface DeliveryApi {
  name: string;
  /** Keys of the webhook block (snake_case, as in cortex.yaml); overrides the defaults below. */
  webhook?: Record<string, unknown>;
  predictor?: Record<string, unknown>;
}

/** Test defaults: fast retries, loopback allowed (the only network tests may reach). */
const WEBHOOK_DEFAULTS = {
  post_inference_hooks: ["callback"],
  retry_schedule_s: [0, 0.05, 0.1],
  timeout_s: 5,
  allow_networks: ["127.0.0.0/8", "::1/128"],
};

/** cortex.yaml text for `apis`, each an AsyncAPI serving test/fixtures/predictors/echo.ts. */
export function deliveryYaml(...apis: DeliveryApi[]): string {
  return stringify(
    apis.map((api) => ({
      name: api.name,
      kind: "AsyncAPI",
      predictor: { type: "typescript", path: join(FIXTURE_PREDICTORS, "echo.ts"), ...api.predictor },
      webhook: { ...WEBHOOK_DEFAULTS, ...api.webhook },
    })),
  );
}

/** The `webhook` object of a status answer, in wire form. */
export interface WebhookView {
  status: string;
  attempts: number;
  last_status_code?: number;
  last_error?: string;
}

/** GET a task's status answer from either surface (`/API/ID` or `/v1/async-tasks/ID`). */
export async function statusOf(runtime: TestRuntime, path: string): Promise<Record<string, unknown> & { webhook?: WebhookView }> {
  const response = await fetch(`${runtime.url}${path}`);
  if (response.status !== 200) throw new Error(`GET ${path} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as Record<string, unknown> & { webhook?: WebhookView };
}

/** Polls a task's status answer until its webhook satisfies `done`; resolves with that webhook object. */
export function waitForWebhook(runtime: TestRuntime, path: string, done: (webhook: WebhookView) => boolean, timeoutMs = 10_000): Promise<WebhookView> {
  return waitUntil(
    `the webhook of ${path} reached the expected state`,
    async () => {
      const webhook = (await statusOf(runtime, path)).webhook;
      return webhook !== undefined && done(webhook) && webhook;
    },
    timeoutMs,
  );
}

/** Polls until the webhook is settled (delivered, failed or skipped). */
export function waitForSettledWebhook(runtime: TestRuntime, path: string, timeoutMs?: number): Promise<WebhookView> {
  return waitForWebhook(runtime, path, (webhook) => webhook.status !== "pending", timeoutMs);
}

/** POSTs JSON and returns the status and parsed body. */
export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown>; text: string }> {
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, body: JSON.parse(text) as Record<string, unknown>, text };
}
