import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useReceivers } from "./helpers/receivers.js";

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
      expect(await page.locator("tr.details:not([hidden]) pre.reasons").textContent()).toBe("basic failed: no Authorization header");

      await page.locator("#clear").click();
      await page.locator("tr.delivery").first().waitFor({ state: "detached" });
      expect(receiver.deliveries).toEqual([]);
      expect(loads).toBe(1);
      expect(pageErrors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
