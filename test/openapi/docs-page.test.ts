import { existsSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT, startTestRuntime, type TestRuntime } from "../helpers/runtime-fixture.js";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
const required = process.env.REQUIRE_BROWSER_TESTS === "1";
if (!hasChromium && !required) {
  console.warn(`SKIPPING the /docs browser tests: ${CHROMIUM} is missing (apt-get install chromium; CI sets REQUIRE_BROWSER_TESTS=1 to make this a failure)`);
}
/** Runs when chromium exists, or when CI demands it (then a missing chromium fails instead of skipping). */
const browserIt = it.skipIf(!hasChromium && !required);

const sum = join(REPO_ROOT, "predictors/sum.ts");

describe("GET /docs", () => {
  let t: TestRuntime;
  let browser: Browser | undefined;

  beforeAll(async () => {
    t = await startTestRuntime({
      yaml: `
- name: sum
  kind: AsyncAPI
  predictor: { type: typescript, path: ${sum} }
  webhook:
    post_inference_hooks: [callback]
    default_callback_url: http://127.0.0.1:9/hook
    allow_networks: [127.0.0.0/8]
- name: sum-now
  kind: RealtimeAPI
  predictor: { type: typescript, path: ${sum} }
`,
    });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it("serves the page and its assets from the runtime, under a policy that forbids any other origin", async () => {
    const page = await request(t.url).get("/docs").expect(200).expect("content-type", /^text\/html/);
    expect(page.headers["content-security-policy"]).toContain("default-src 'none'");
    expect(page.headers["content-security-policy"]).toContain("script-src 'self'");
    const sources = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
    expect(sources.length).toBeGreaterThanOrEqual(4);
    for (const source of sources) {
      expect(source, "no absolute URL: nothing from a CDN").not.toMatch(/^(https?:)?\/\//);
      await request(t.url).get(`/${source}`).expect(200);
    }
    await request(t.url).get("/docs/").expect(301).expect("location", "../docs");
    // Only the files the page needs: swagger-ui-dist's sample page (pointing at the petstore) is not served.
    await request(t.url).get("/docs/assets/swagger-initializer.js").expect(404);
  });

  browserIt("shows an async API's callback, with the report schema's fields, and loads nothing from outside the runtime", async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    const page = await browser.newPage();
    const origin = new URL(t.url).origin;
    const requested: string[] = [];
    const problems: string[] = [];
    page.on("request", (req) => requested.push(req.url()));
    page.on("console", (message) => message.type() === "error" && problems.push(message.text()));
    page.on("pageerror", (error) => problems.push(error.message));

    await page.goto(`${t.url}/docs`);
    const submit = page.locator("#operations-sum-submit_sum");
    await submit.locator(".opblock-summary").first().click({ timeout: 15_000 });
    await submit.getByText("Callbacks", { exact: true }).click();
    // The callback section: its name, the runtime expression, and the report operation.
    await submit.locator("h2", { hasText: /^report$/ }).waitFor();
    await submit.getByText("{$request.query.callback_url}").first().waitFor();
    const callback = submit.locator(".opblock-post", { hasText: "The task's report (webhook)" }).last();
    await callback.locator(".opblock-summary").first().click();
    // The request body's schema view lists the report's fields.
    await callback.getByText("Schema", { exact: true }).first().click();
    const model = callback.locator(".model-box").first();
    await model.getByText("CortexReport").first().waitFor();
    await model.getByText("Expand all").first().click();
    // Both variants of the report body, with their fields and the status each carries.
    for (const text of ["CortexCompletedReport", "CortexFailedReport", "timestamp", "result", "error", '"completed"', '"failed"']) {
      await expect.poll(async () => (await model.innerText()).includes(text), { message: `the schema view shows ${text}` }).toBe(true);
    }
    await callback.getByText("webhook-id").first().waitFor();
    await expect.poll(async () => (await callback.innerText()).includes("webhook-timestamp")).toBe(true);

    // The realtime API has no Callbacks tab.
    const predict = page.locator("#operations-sum-now-predict_sum_now");
    await predict.locator(".opblock-summary").first().click();
    await predict.getByText("Request body").first().waitFor();
    expect(await predict.getByText("Callbacks", { exact: true }).count()).toBe(0);

    expect(requested.length).toBeGreaterThanOrEqual(4);
    expect(requested.filter((url) => !url.startsWith(origin) && !url.startsWith("data:"))).toEqual([]);
    expect(requested).toContain(`${origin}/openapi.json`);
    expect(problems).toEqual([]);
  });
});
