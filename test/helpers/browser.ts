import { mkdirSync } from "node:fs";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { REPO_ROOT } from "./runtime-fixture.js";

/** Debian's chromium; CHROMIUM_PATH points elsewhere (and lets the skip path be tried). */
export const CHROMIUM_PATH = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium";

/** Where browser tests save screenshots (gitignored): CI keeps the folder as its artifacts. */
export const ARTIFACTS_DIR = join(REPO_ROOT, "test-artifacts");

/**
 * True when chromium is missing and the suite should skip; says so loudly. Under REQUIRE_BROWSER_TESTS=1 (.ci/run)
 * a missing chromium throws instead, failing the suite.
 */
export function browserMissing(suite: string): boolean {
  if (existsSync(CHROMIUM_PATH)) return false;
  const why = `${suite}: ${CHROMIUM_PATH} is missing (apt-get install -y chromium)`;
  if (process.env["REQUIRE_BROWSER_TESTS"] === "1") throw new Error(`${why}, and REQUIRE_BROWSER_TESTS=1 requires it`);
  console.warn(`\n*** SKIPPING ${why}. Set REQUIRE_BROWSER_TESTS=1 to make this a failure. ***\n`);
  return true;
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/** A page that collects script errors and failed console messages, for a test to assert there were none. */
export async function openPage(browser: Browser, width = 1280, height = 900): Promise<{ page: Page; errors: string[]; dialogs: string[] }> {
  const page = await browser.newPage({ viewport: { width, height } });
  const errors: string[] = [];
  const dialogs: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  // An alert() would mean data ran as script.
  page.on("dialog", (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  return { page, errors, dialogs };
}

/** Saves a screenshot under test-artifacts/NAME.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const path = join(ARTIFACTS_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
