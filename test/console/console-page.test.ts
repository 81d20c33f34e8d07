import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { browserMissing, launchBrowser, openPage, screenshot } from "../helpers/browser.js";
import { deliveryYaml, postJson, waitForSettledWebhook } from "../helpers/delivery-config.js";
import { startRecorder, type Recorder } from "../helpers/recorder.js";
import { FIXTURE_PREDICTORS, startTestRuntime, type TestRuntime } from "../helpers/runtime-fixture.js";

const missing = browserMissing("console browser test");

describe.skipIf(missing)("console page GET /console in chromium", () => {
  let browser: Browser;
  let receiver: Recorder;
  /** What the receiver answers next: 503 until a test fixes it. */
  let answer = 503;
  let runtime: TestRuntime;

  beforeAll(async () => {
    browser = await launchBrowser();
    receiver = await startRecorder((_request, _index, res) => res.writeHead(answer, { "content-type": "application/json" }).end(`{"answer":${answer}}`));
    runtime = await startTestRuntime({
      yaml: deliveryYaml(
        { name: "hooks", webhook: { default_callback_url: `${receiver.url}/hook`, retry_schedule_s: [0, 0.05, 0.1] } },
        // setup() outlasts the test: its tasks stay queued, for cancel.
        { name: "stuck", predictor: { path: join(FIXTURE_PREDICTORS, "slow-setup.ts"), config: { setup_ms: 120_000 } }, webhook: { post_inference_hooks: [] } },
      ),
      waitReady: false,
    });
  });
  afterAll(async () => {
    await browser?.close();
    await runtime?.close(0);
    await receiver?.close();
  });

  it("shows a failed report's attempts after the receiver answered 503s, and redelivery turns it delivered", async () => {
    answer = 503;
    const id = String((await postJson(`${runtime.url}/hooks`, { order: 42, note: "three 503s then a fix" })).body.id);
    expect(await waitForSettledWebhook(runtime, `/hooks/${id}`)).toMatchObject({ status: "failed", attempts: 3 });

    const { page, errors, dialogs } = await openPage(browser);
    try {
      await page.goto(`${runtime.url}/console#task=${id}`);
      await page.locator("#task-view").waitFor();
      const rows = page.locator("#attempts tbody tr");
      await expect.poll(() => rows.count()).toBe(3);
      for (let index = 0; index < 3; index++) {
        const cells = await rows.nth(index).locator("td").allTextContents();
        expect(cells[0]).toBe(String(index + 1));
        expect(cells[2]).toBe(new URL(receiver.url).origin);
        expect(cells[3]).toBe("retryable");
        expect(cells[4]).toBe("503");
        expect(cells[6]).toContain("503");
        // Date and time, to the millisecond.
        expect(cells[1]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/);
      }
      // A next attempt was scheduled after the first two, not after the last.
      expect((await rows.nth(0).locator("td").nth(7).textContent())?.length).toBeGreaterThan(0);
      expect(await rows.nth(2).locator("td").nth(7).textContent()).toBe("");
      const card = page.locator('.card[data-api="hooks"]');
      await expect.poll(() => card.locator('[data-count="finally failed"] .n').textContent()).toBe("1");
      expect(await page.locator("#task-payload").textContent()).toContain('"three 503s then a fix"');
      await screenshot(page, "console-failed-report");

      // The receiver is fixed; redeliver from the task view.
      answer = 200;
      await page.locator('#task-actions [data-action="redeliver"]').click();
      await expect.poll(() => page.locator("#task-fields").textContent(), { timeout: 10_000 }).toContain("delivered");
      await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(4);
      const last = await rows.nth(3).locator("td").allTextContents();
      expect(last[0]).toBe("1"); // A redelivery starts a fresh schedule.
      expect(last[3]).toBe("delivered");
      expect(last[4]).toBe("200");
      expect((await waitForSettledWebhook(runtime, `/hooks/${id}`)).status).toBe("delivered");
      await screenshot(page, "console-redelivered");
      expect(errors).toEqual([]);
      expect(dialogs).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it("redelivers every finally-failed report of an API after a confirmation that gives the count", async () => {
    answer = 503;
    const ids = await Promise.all([1, 2].map(async (n) => String((await postJson(`${runtime.url}/hooks`, { n })).body.id)));
    for (const id of ids) expect((await waitForSettledWebhook(runtime, `/hooks/${id}`)).status).toBe("failed");
    const { page, errors } = await openPage(browser);
    try {
      await page.goto(`${runtime.url}/console`);
      const card = page.locator('.card[data-api="hooks"]');
      const button = card.locator('[data-action="redeliver-all"]');
      await expect.poll(() => button.textContent()).toBe("Redeliver finally-failed (2)");
      answer = 200;
      await button.click();
      expect(await card.locator(".confirm").textContent()).toBe("Redeliver 2 finally-failed reports of hooks?");
      await card.locator('[data-action="confirm-redeliver-all"]').click();
      for (const id of ids) expect((await waitForSettledWebhook(runtime, `/hooks/${id}`)).status).toBe("delivered");
      await expect.poll(() => page.locator('.card[data-api="hooks"] [data-count="finally failed"] .n').textContent(), { timeout: 10_000 }).toBe("0");
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it("cancels a queued task", async () => {
    const id = String((await postJson(`${runtime.url}/stuck`, { waiting: true })).body.id);
    const { page, errors } = await openPage(browser);
    try {
      await page.goto(`${runtime.url}/console`);
      // Find it through the list: filter by API and search by id.
      await page.locator("#filter-api").selectOption("stuck");
      await page.locator("#filter-id").fill(id);
      const row = page.locator(`#tasks tbody tr[data-task-id="${id}"]`);
      await row.waitFor();
      expect(await row.locator(".status").first().textContent()).toBe("in_queue");
      await row.click();
      await page.locator('#task-actions [data-action="cancel"]').click();
      await expect.poll(() => row.locator(".status").first().textContent(), { timeout: 10_000 }).toBe("cancelled");
      await expect.poll(() => page.locator('#task-actions [data-action="cancel"]').count()).toBe(0);
      const status = (await (await fetch(`${runtime.url}/stuck/${id}`)).json()) as { status: string };
      expect(status.status).toBe("cancelled");
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it("renders a payload holding <script> and <img onerror> as text: nothing of it runs or becomes an element", async () => {
    const payload = {
      "<b>key</b>": "<script>window.__pwned = 'script'</script>",
      image: '<img src=x onerror="window.__pwned = \'img\'">',
      nested: { deeper: ["<svg onload=alert(1)>", "</details><img src=y onerror=alert(2)>"] },
      long: "x".repeat(2000),
    };
    answer = 200;
    const id = String((await postJson(`${runtime.url}/hooks`, payload)).body.id);
    await waitForSettledWebhook(runtime, `/hooks/${id}`);
    const { page, errors, dialogs } = await openPage(browser);
    try {
      await page.goto(`${runtime.url}/console#task=${id}`);
      const view = page.locator("#task-payload");
      await expect.poll(() => view.textContent()).toContain("<script>window.__pwned = 'script'</script>");
      const text = await view.textContent();
      expect(text).toContain('<img src=x onerror=\\"window.__pwned = \'img\'\\">');
      expect(text).toContain('"<b>key</b>"');
      expect(text).toContain("</details><img src=y onerror=alert(2)>");
      // Not one element came out of the data; the result (the echo of the payload) neither.
      for (const tag of ["script", "img", "svg", "b"]) {
        expect(await page.locator(`#task-payload ${tag}, #task-outcome ${tag}`).count(), tag).toBe(0);
      }
      // A long string is folded, and unfolds on request.
      expect(text).not.toContain("x".repeat(2000));
      await view.locator("button.more").first().click();
      expect(await view.textContent()).toContain("x".repeat(2000));
      await page.waitForTimeout(300);
      expect(await page.evaluate(() => (globalThis as { __pwned?: string }).__pwned)).toBeUndefined();
      expect(dialogs).toEqual([]);
      expect(errors).toEqual([]);
      await screenshot(page, "console-escaped-payload");
    } finally {
      await page.close();
    }
  });

  it("with an admin key, the page asks for it and then shows the console", async () => {
    const key = "console-page-admin-key-42a7c9e1";
    const keyed = await startTestRuntime({ yaml: deliveryYaml({ name: "keyed", webhook: { post_inference_hooks: [] } }), adminKey: key });
    const { page } = await openPage(browser);
    try {
      await page.goto(`${keyed.url}/console`);
      await page.locator("#key-form").waitFor();
      expect(await page.locator("#error").textContent()).toContain("admin key");
      expect(await page.locator(".card").count()).toBe(0);
      await page.locator("#key-input").fill(key);
      await page.locator("#key-form button").click();
      await page.locator('.card[data-api="keyed"]').waitFor();
      expect(await page.locator("#key-form").isHidden()).toBe(true);
      // The key stays in the tab, never in the URL or the page's text.
      expect(page.url()).not.toContain(key);
      expect(await page.locator("body").textContent()).not.toContain(key);
    } finally {
      await page.close();
      await keyed.close();
    }
  });
});
