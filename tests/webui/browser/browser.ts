// Debian's Chromium driven through playwright-core, headless, for the web UI tests:
//
//   const ui = await openBrowser(t, { ns: link.a.ns });   // the browser runs inside ns
//   await ui.page.goto(`https://${link.b.v4}:${port}/`);
//   ...
//   ui.assertClean(t);   // no dialog opened, no script error, no CSP violation, nothing remote
//
// With `ns` the browser process runs in that network namespace (through `ip netns exec`, a
// tiny wrapper script as its executable), so it reaches the appliance over the test's veth
// like an operator's browser on the LAN would. The appliance's certificate is its own
// self-signed one: the context ignores certificate errors (that is what the operator clicks
// through at first start, until ACME gives a real one).
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { tempDir } from '../../helpers/tmp.ts';

export const CHROMIUM = '/usr/bin/chromium';

export interface UiBrowser {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Every JavaScript dialog (alert, confirm, prompt) any page opened. */
  dialogs: string[];
  /** Uncaught exceptions in pages. */
  pageErrors: string[];
  /** Console messages about the Content Security Policy (a refused inline script, …). */
  cspViolations: string[];
  /** Requests to any origin but the appliance's. */
  foreignRequests: string[];
  /** Asserts none of the above happened. */
  assertClean(t: ExecutionContext): void;
  /** Records the same for a page of another context (a second login, a phone). */
  watch(page: Page): void;
}

export async function openBrowser(
  t: ExecutionContext,
  options: { ns?: string; origin: string; viewport?: { width: number; height: number } },
): Promise<UiBrowser> {
  let executablePath = CHROMIUM;
  if (options.ns) {
    executablePath = join(tempDir(t, 'tollgate-chromium-'), 'chromium-in-ns');
    writeFileSync(
      executablePath,
      `#!/bin/sh\nexec /usr/sbin/ip netns exec ${options.ns} ${CHROMIUM} "$@"\n`,
    );
    chmodSync(executablePath, 0o755);
  }
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    // No first-run tasks, no background network of its own (updates, safe browsing).
    args: ['--no-first-run', '--disable-background-networking', '--disable-component-update'],
    timeout: 60_000,
  });
  t.teardown(() => browser.close().catch(() => undefined));
  const context = await browser.newContext({
    ignoreHTTPSErrors: true,
    viewport: options.viewport ?? { width: 1280, height: 900 },
  });
  const ui: UiBrowser = {
    browser,
    context,
    page: await context.newPage(),
    dialogs: [],
    pageErrors: [],
    cspViolations: [],
    foreignRequests: [],
    watch: () => undefined,
    assertClean(tt) {
      tt.deepEqual(ui.dialogs, [], 'no dialog opened (no injected script ran)');
      tt.deepEqual(ui.pageErrors, [], 'no script error');
      tt.deepEqual(ui.cspViolations, [], 'nothing refused by the Content Security Policy');
      tt.deepEqual(ui.foreignRequests, [], 'no request left the appliance');
    },
  };
  const watch = (page: Page): void => {
    page.on('dialog', (dialog) => {
      ui.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
      void dialog.dismiss().catch(() => undefined);
    });
    page.on('pageerror', (err) => ui.pageErrors.push(err.message));
    page.on('console', (msg) => {
      if (/Content Security Policy/i.test(msg.text())) ui.cspViolations.push(msg.text());
    });
    page.on('request', (req) => {
      const url = req.url();
      if (!url.startsWith(options.origin) && !url.startsWith('data:')) ui.foreignRequests.push(url);
    });
  };
  ui.watch = watch;
  context.on('page', watch);
  watch(ui.page);
  return ui;
}

/** Logs in on the admin UI's form and waits for the dashboard. */
export async function logIn(page: Page, name: string, password: string): Promise<void> {
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
}

/** Goes to one admin page through its navigation link (as a user would). */
export async function openSection(page: Page, name: string): Promise<void> {
  const link = page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name });
  if (!(await link.isVisible())) await page.getByRole('button', { name: 'Menu' }).click();
  await link.click();
  await page.getByRole('heading', { level: 1 }).first().waitFor();
}

/** Logs in unless this page already shows the admin UI (a test run alone, with --match). */
export async function ensureLoggedIn(
  page: Page,
  origin: string,
  name: string,
  password: string,
): Promise<void> {
  if ((await page.getByRole('navigation', { name: 'Sections' }).count()) > 0) return;
  await page.goto(`${origin}/`);
  await logIn(page, name, password);
}
