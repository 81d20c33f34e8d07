import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useReceivers } from "./helpers/receivers.js";
import { screenshot } from "../helpers/browser.js";
import { startRecorder } from "../helpers/recorder.js";

/** Debian's chromium; CHROMIUM_PATH points elsewhere (and lets the skip path be tried). */
const chromiumPath = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium";
const browserRequired = process.env["REQUIRE_BROWSER_TESTS"] === "1";
const chromiumMissing = !existsSync(chromiumPath);
if (chromiumMissing) {
  const why = `live page browser test: ${chromiumPath} is missing (apt-get install -y chromium)`;
  if (browserRequired) throw new Error(`${why}, and REQUIRE_BROWSER_TESTS=1 requires it`);
  console.warn(`\n*** SKIPPING ${why}. Set REQUIRE_BROWSER_TESTS=1 to make this a failure. ***\n`);
}

const start = useReceivers();
let browser: Browser | undefined;

beforeAll(async () => {
  if (chromiumMissing) return;
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});
afterAll(async () => {
  await browser?.close();
});

describe("live page GET /_/", () => {
  it.skipIf(chromiumMissing)("shows earlier deliveries, then each new one as it arrives, without a reload", async () => {
    const receiver = await start({ basic: { username: "u", password: "p" }, rules: [{ path: "/flaky", statuses: [503] }] });
    await (await request(`${receiver.url}/earlier`, { method: "POST", body: "{}", headers: { authorization: `Basic ${Buffer.from("u:p").toString("base64")}` } })).body.dump();

    const page = await (browser as Browser).newPage();
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));
    page.on("console", (message) => {
      if (message.type() === "error") pageErrors.push(message.text());
    });
    let loads = 0;
    page.on("load", () => (loads += 1));
    try {
      await page.goto(`${receiver.url}/_/`);
      await page.locator("#status.live").waitFor();
      await page.locator('tr[data-delivery-id="1"]').waitFor();
      expect(await page.locator("#count").getAttribute("data-count")).toBe("1");
      // Regression: opening the page used to record the browser's own GET /favicon.ico as a delivery.
      expect(receiver.deliveries.map((delivery) => delivery.path)).toEqual(["/earlier"]);

      // Arrives while the page is open: an unauthorized request to a path with a rule, with a body worth escaping.
      await (await request(`${receiver.url}/flaky?n=2`, { method: "POST", body: '{"x":"<img src=x onerror=alert(1)>"}', headers: { "content-type": "application/json" } })).body.dump();
      const row = page.locator('tr[data-delivery-id="2"]');
      await row.waitFor();
      expect(await row.locator("td.path").textContent()).toBe("/flaky?n=2");
      expect(await row.locator("td.verdicts").textContent()).toBe("basic: fail");
      expect(await row.locator("td.answer").textContent()).toBe("401 refused (basic)");
      expect(await page.locator("#count").getAttribute("data-count")).toBe("2");
      // Newest first.
      expect(await page.locator("tr.delivery").first().getAttribute("data-delivery-id")).toBe("2");
      // The hostile body is shown as text, never parsed as markup.
      await row.click();
      expect(await page.locator("tr.details:not([hidden]) pre.body").textContent()).toContain("<img src=x onerror=alert(1)>");
      expect(await page.locator("img").count()).toBe(0);
      expect(await page.locator("tr.details:not([hidden]) .verdict.fail").textContent()).toBe("basic: fail \u2014 no Authorization header");

      await page.locator("#clear").click();
      await page.locator("tr.delivery").first().waitFor({ state: "detached" });
      expect(receiver.deliveries).toEqual([]);
      expect(loads).toBe(1);
      expect(pageErrors).toEqual([]);
    } finally {
      await page.close();
    }
  });
  it.skipIf(chromiumMissing)("a delivery's detail: masked Authorization until asked, pretty body, verdicts with reasons, the answer, curl, resend", async () => {
    const secret = `whsec_${Buffer.from("live-page-detail-test-secret-32b").toString("base64")}`;
    const receiver = await start({ basic: { username: "runtime", password: "hunter2-live-page" }, secret, rules: [{ path: "/hook", statuses: [202], body: { queued: true } }] });
    const authorization = `Basic ${Buffer.from("runtime:hunter2-live-page").toString("base64")}`;
    const body = JSON.stringify({ id: "task-1", result: { score: 0.9, label: "<b>cat</b>" } });
    // Good credentials, no signature: basic passes, signature fails with its reason.
    await (await request(`${receiver.url}/hook?attempt=1`, { method: "POST", body, headers: { "content-type": "application/json", authorization } })).body.dump();
    const target = await startRecorder();
    const page = await (browser as Browser).newPage({ viewport: { width: 1200, height: 1100 } });
    await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: receiver.url });
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));
    try {
      await page.goto(`${receiver.url}/_/`);
      const row = page.locator('tr.delivery[data-delivery-id="1"]');
      await row.waitFor();
      // Date and time in the list.
      expect(await row.locator("td.received").textContent()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
      await row.click();
      const detail = page.locator('tr.details[data-detail-of="1"]');
      const headers = detail.locator("pre.headers");
      expect(await headers.textContent()).toContain("authorization: Basic \u2022\u2022\u2022\u2022\u2022\u2022\u2022\u2022");
      expect(await headers.textContent()).not.toContain(authorization);
      expect(await detail.locator("pre.curl").textContent()).toContain("authorization: REDACTED");
      await screenshot(page, "receiver-delivery-detail");
      await detail.locator("button.reveal").click();
      expect(await headers.textContent()).toContain(`authorization: ${authorization}`);
      expect(await headers.textContent()).toContain("content-type: application/json");
      // Pretty JSON of the raw body, as text.
      expect(await detail.locator("pre.body").textContent()).toBe(JSON.stringify(JSON.parse(body), null, 2));
      expect(await detail.locator("b").count()).toBe(0);
      const verdicts = await detail.locator(".verdict").allTextContents();
      expect(verdicts[0]).toBe("basic: pass");
      expect(verdicts[1]).toMatch(/^signature: fail \u2014 ./);
      expect(await detail.locator(".answer-summary").textContent()).toBe("answered 401, refused by the signature check");

      await detail.locator("button.copy-curl").click();
      await expect.poll(() => detail.locator(".copied").textContent()).toBe("copied");
      const curl = await page.evaluate(() => (globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }).navigator.clipboard.readText());
      expect(curl).toContain(`curl -X POST '${receiver.url}/hook?attempt=1'`);
      expect(curl).toContain(`-H 'authorization: ${authorization}'`);
      expect(curl).toContain(`--data-binary '${body}'`);

      // Resend to another loopback URL: the same method, headers and body arrive there.
      await detail.locator("input.resend-url").fill(`${target.url}/debug`);
      await detail.locator("button.resend").click();
      await expect.poll(() => detail.locator("pre.resend-result").textContent()).toMatch(/^200 after \d+ ms/);
      const [resent] = await target.waitFor(1);
      expect(resent!.path).toBe("/debug");
      expect(resent!.body).toBe(body);
      expect(resent!.headers.authorization).toBe(authorization);
      // Not loopback, not allowed: refused.
      await detail.locator("input.resend-url").fill("http://example.com/hook");
      await detail.locator("button.resend").click();
      await expect.poll(() => detail.locator("pre.resend-result").textContent()).toContain("refused: a delivery is resent only to loopback");
      expect(target.requests).toHaveLength(1);
      expect(pageErrors).toEqual([]);
    } finally {
      await page.close();
      await target.close();
    }
  });
});
