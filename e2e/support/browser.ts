import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { contracts } from './contracts';

/** Debian's chromium package; playwright-core drives it, and downloads no browser of its own. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/**
 * Where screenshots go: the README's, docs/screenshots, only when asked (UPDATE_SCREENSHOTS=1),
 * so a test run leaves the repository as it found it; otherwise .test-results/screenshots.
 */
export const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS
  ? join(__dirname, '..', '..', 'docs', 'screenshots')
  : join(__dirname, '..', '..', '.test-results', 'screenshots');

/**
 * Whether the browser tests can run here. Without chromium they fail in CI (CI=true), where a
 * skipped suite would read as a pass, and are skipped with a warning elsewhere.
 */
export function browserAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  const message = `${CHROMIUM} not found: the browser tests need Debian's chromium (apt-get install -y chromium)`;
  if (process.env.CI) return true; // launch() then fails the suite, naming the missing browser
  console.warn(`\n*** SKIPPING the browser tests: ${message} ***\n`);
  return false;
}

export async function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: the browser tests need Debian's chromium (apt-get install -y chromium)`);
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  contracts.watchBrowser(browser);
  return browser;
}

/** The whole page, or only `part` of it (a panel worth a picture of its own). */
export async function screenshot(page: Page, name: string, part?: Locator): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await (part ? part.screenshot({ path }) : page.screenshot({ path, fullPage: true }));
}
