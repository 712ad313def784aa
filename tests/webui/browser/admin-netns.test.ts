// The admin UI in a real browser (Debian's Chromium through playwright-core) against the real
// daemon: XDP on the veth, real floods (trafgen) and real scanners (sipvicious). What an
// operator does and checks:
//   - logs in (a wrong password is refused and said so; the session cookie is Secure,
//     HttpOnly, SameSite=Strict; the strict CSP is in force);
//   - watches a flood's kernel drops rise on the dashboard while it runs, finds the flooder
//     in the bans table and unbans it;
//   - sees a scanner whose User-Agent is `<script>alert(1)</script>` banned, its User-Agent
//     shown as text in the bans table, and no script run;
//   - changes a configuration key from the audit's fix link and sees the finding go;
//   - uses the UI on a phone-sized screen.
// No dialog may open, no script error happen, no CSP violation be reported and no request
// leave the appliance, in any of it (ui.assertClean).
//
// TOLLGATE_SCREENSHOTS=1 saves the dashboard (during the flood) and the bans page to
// docs/screenshots/ for the README.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { freePort } from '../../helpers/daemon.ts';
import { sipOptionsPayload, startFlood } from '../../helpers/flood.ts';
import { runSipp } from '../../helpers/sipp.ts';
import { keepBlocks } from '../../helpers/sipp-blocks.ts';
import { startSipvicious } from '../../helpers/sipvicious.ts';
import { ADMIN, type Appliance, eventually, SIP_PORT, startAppliance } from './appliance.ts';
import { ensureLoggedIn, logIn, openBrowser, openSection, type UiBrowser } from './browser.ts';

const SCREENSHOTS = process.env.TOLLGATE_SCREENSHOTS
  ? join(import.meta.dirname, '..', '..', '..', 'docs', 'screenshots')
  : undefined;
const XSS_UA = '<script>alert(1)</script>';
/** The single flooder: outside the link's /24 and not private, so nothing trusts it. */
const FLOODER = '198.18.7.7';

let a: Appliance;
let ui: UiBrowser;

test.before(async () => {
  a = await startAppliance({
    // A User-Agent carrying markup is hostile whatever else it does: ban on sight.
    blockua: '<script',
    // The SIPp phones send no RTP: the call must stay up until the operator hangs it up.
    mediatimeout: 0,
  });
  // One browser for the serial tests, as one operator's session would be.
  ui = await openBrowser(a.t, { ns: a.link.b.ns, origin: a.origin });
});

test.after.always(async () => {
  await a?.cleanup();
});

interface Ban {
  ip: string;
  reason: string;
  evidence?: { userAgent?: string };
}

async function storedBans(): Promise<Ban[]> {
  const r = await a.d.ctl('bans', '--json');
  return JSON.parse(r.stdout) as Ban[];
}

/** The total shown for one kernel drop reason in the dashboard's table. */
async function dropTotal(reason: string): Promise<number> {
  const text = await ui.page
    .locator(`#drops-table tr[data-reason="${reason}"] td`)
    .last()
    .textContent();
  return Number((text ?? '').replace(/[^0-9]/g, ''));
}

test.serial('log in: a wrong password is refused, the right one opens the dashboard', async (t) => {
  t.timeout(120_000);
  const page = ui.page;
  const response = await page.goto(`${a.origin}/`);
  const csp = response?.headers()['content-security-policy'] ?? '';
  t.regex(csp, /script-src 'self'/, 'strict CSP: scripts from the appliance only');
  t.notRegex(csp, /unsafe-inline|unsafe-eval/);

  await page.getByLabel('Name').fill(ADMIN.name);
  await page.getByLabel('Password', { exact: true }).fill('Wrong-password-123');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByText('Wrong name, password or code.').waitFor();
  t.is(await page.getByRole('heading', { name: 'Dashboard' }).count(), 0, 'not logged in');

  await logIn(page, ADMIN.name, ADMIN.password);
  const cookie = (await ui.context.cookies()).find((c) => c.name === 'tg_session');
  t.truthy(cookie, 'the session cookie is set');
  t.true(cookie?.secure, 'Secure');
  t.true(cookie?.httpOnly, 'HttpOnly');
  t.is(cookie?.sameSite, 'Strict');
  await page.getByText('Live: updated every second.').waitFor();
  ui.assertClean(t);
});

test.serial(
  'a flood’s drops rise on the dashboard; the flooder is found in the bans table and unbanned',
  async (t) => {
    t.timeout(240_000);
    const page = ui.page;
    await ensureLoggedIn(page, a.origin, ADMIN.name, ADMIN.password);
    await openSection(page, 'Dashboard');
    await page.getByText('Live: updated every second.').waitFor();
    const before = await dropTotal('flood');
    // One source far over the per-source budget (434 packets/s with the defaults): the kernel
    // drops the excess as "flood", reports it, and the guard bans the source.
    const flood = await startFlood(a.link, {
      dport: SIP_PORT,
      payload: sipOptionsPayload(a.link.b.v4, SIP_PORT),
      source: FLOODER,
      gapUs: 100,
    });
    t.teardown(() => flood.stop().catch(() => undefined));
    try {
      // The dashboard's figures come from the live stream: wait for them to move. (Read from
      // here: the page's CSP refuses the string evaluation waitForFunction would need.)
      await eventually('the dashboard to show the flood', async () =>
        (await dropTotal('flood')) > before + 100 ? true : undefined,
      );
      const rate = await page
        .locator('#drops-table tr[data-reason="flood"] td')
        .nth(1)
        .textContent();
      t.log(
        `dashboard: flood drops ${before} → ${await dropTotal('flood')} (${rate}/s at one sample)`,
      );
      await eventually('the flooder to be banned', async () =>
        (await storedBans()).some((b) => b.ip === FLOODER) ? true : undefined,
      );
      if (SCREENSHOTS) {
        // Some seconds of the chart, the flood and then the ban dropping it, for the README.
        const shown = await dropTotal('banned');
        await eventually('the chart to fill', async () =>
          (await dropTotal('banned')) > shown + 20_000 ? true : undefined,
        );
        mkdirSync(SCREENSHOTS, { recursive: true });
        await page.screenshot({ path: join(SCREENSHOTS, 'dashboard.png'), fullPage: true });
      }
    } finally {
      await flood.stop();
    }

    await openSection(page, 'Bans');
    await page.getByLabel('Search address, reason or rule').fill(FLOODER);
    const row = page.getByRole('row').filter({ hasText: FLOODER });
    await row.waitFor();
    t.regex((await row.textContent()) ?? '', /flood: over the per-source packet budget/);
    await page.getByRole('button', { name: `Unban ${FLOODER}` }).click();
    await page.getByText(`${FLOODER} is no longer banned.`).waitFor();
    await page.getByText('No ban matches.').waitFor();
    t.false(
      (await storedBans()).some((b) => b.ip === FLOODER),
      'the ban is lifted in the store',
    );
    ui.assertClean(t);
  },
);

test.serial(
  'a scanner whose User-Agent is <script>alert(1)</script> is banned and its User-Agent shows as text',
  async (t) => {
    t.timeout(180_000);
    const svmap = startSipvicious(t, {
      ns: a.link.a.ns,
      tool: 'svmap',
      bindIp: a.attacker,
      userAgent: XSS_UA,
      args: ['-p', String(SIP_PORT), a.link.b.v4],
      timeoutSeconds: 30,
    });
    const ban = await eventually('the scanner to be banned', async () =>
      (await storedBans()).find((b) => b.ip === a.attacker),
    );
    await svmap.stop();
    t.is(ban.evidence?.userAgent, XSS_UA, 'the evidence keeps the User-Agent as sent');

    const page = ui.page;
    await openSection(page, 'Bans');
    await page.getByLabel('Search address, reason or rule').fill(a.attacker);
    const row = page.getByRole('row').filter({ hasText: a.attacker });
    await row.waitFor();
    // The markup is text on the page: the exact characters, in a <code>, and no element made.
    await t.notThrowsAsync(row.locator('code', { hasText: XSS_UA }).waitFor());
    t.regex((await row.textContent()) ?? '', /<script>alert\(1\)<\/script>/);
    t.is(
      await page.locator('main script, main img, main iframe').count(),
      0,
      'no element from the data',
    );
    t.is(await page.evaluate('document.scripts.length'), 1, 'only the page’s own script');
    if (SCREENSHOTS) {
      await row.locator('summary').click();
      mkdirSync(SCREENSHOTS, { recursive: true });
      await page.screenshot({ path: join(SCREENSHOTS, 'bans.png') });
    }
    ui.assertClean(t);
  },
);

test.serial('a setting changed from the audit’s fix link clears that finding', async (t) => {
  t.timeout(120_000);
  const page = ui.page;
  await ensureLoggedIn(page, a.origin, ADMIN.name, ADMIN.password);
  await openSection(page, 'Security audit');
  await page.locator('#audit-summary').waitFor();
  const finding = page
    .locator('li.finding')
    .filter({ has: page.getByRole('link', { name: /^Open \S+ in the configuration$/ }) })
    .first();
  await finding.waitFor();
  const fixLink = finding.getByRole('link', { name: /^Open \S+ in the configuration$/ });
  const id = await finding.getAttribute('data-finding');
  const key = ((await fixLink.textContent()) ?? '').replace(
    /^Open (\S+) in the configuration$/,
    '$1',
  );
  t.log(`fixing ${key} (finding ${id})`);
  await fixLink.click();
  const card = page.locator(`section[data-key="${key}"]`);
  await card.waitFor();
  await card.getByRole('button', { name: 'Save' }).click();
  await card.getByText(/applied now|takes effect after a restart/).waitFor();
  const stored = JSON.parse((await a.d.ctl('config', 'get', key, '--json')).stdout);
  t.is(stored.source.kind, 'console', `${key} is stored as set from the UI`);

  await openSection(page, 'Security audit');
  await page.locator('#audit-summary').waitFor();
  t.is(await page.locator(`li.finding[data-finding="${id}"]`).count(), 0, `${id} is gone`);
  ui.assertClean(t);
});

test.serial(
  'on a phone-sized screen the menu opens the sections and tables read as cards',
  async (t) => {
    t.timeout(120_000);
    const phone = await ui.browser.newContext({
      ignoreHTTPSErrors: true,
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
    });
    t.teardown(() => phone.close());
    const page = await phone.newPage();
    await page.goto(`${a.origin}/`);
    await logIn(page, ADMIN.name, ADMIN.password);
    const menu = page.getByRole('button', { name: 'Menu' });
    t.true(await menu.isVisible(), 'a menu button instead of the sidebar');
    t.is(await menu.getAttribute('aria-expanded'), 'false');
    await openSection(page, 'Bans');
    t.is(await page.getByRole('heading', { level: 1 }).textContent(), 'Bans');
    const width = await page.evaluate<number>('document.documentElement.scrollWidth');
    t.true(width <= 390, `nothing wider than the screen (${width} px)`);
  },
);

test.serial(
  'a SIP account logs in to the portal, sees its limits, and changes its password under the strong rules',
  async (t) => {
    t.timeout(120_000);
    const alice = { name: 'alice', password: 'Amber-Lantern-5820', next: 'Copper-Kettle-7394' };
    const added = await a.d.ctl('users', 'add', alice.name, '--password', alice.password);
    t.is(added.code, 0, added.stderr);
    t.is((await a.d.ctl('users', 'set', alice.name, 'techprefix', '77')).code, 0);
    const context = await ui.browser.newContext({ ignoreHTTPSErrors: true });
    t.teardown(() => context.close());
    const page = await context.newPage();
    ui.watch(page);
    await page.goto(`${a.origin}/portal`);
    await page.getByLabel('Name').fill(alice.name);
    await page.getByLabel('Password', { exact: true }).fill(alice.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'My account', level: 1 }).waitFor();
    await page.getByText(`Signed in as ${alice.name}`).waitFor();
    await page.getByText('techprefix').waitFor();

    // A password with the account's name in it is refused, and the page says why.
    const form = page.getByRole('form', { name: 'Change my password' });
    await form.getByLabel('Current password').fill(alice.password);
    await form.getByLabel('New password', { exact: true }).fill('alice-2024-x');
    await form.getByLabel('New password again').fill('alice-2024-x');
    await form.getByRole('button', { name: 'Change password' }).click();
    const refusal = form.locator('.status.error');
    await refusal.waitFor();
    t.regex((await refusal.textContent()) ?? '', /username|weak|common|short/i);

    await form.getByLabel('New password', { exact: true }).fill(alice.next);
    await form.getByLabel('New password again').fill(alice.next);
    await form.getByRole('button', { name: 'Change password' }).click();
    await form.getByText('Password changed.', { exact: false }).waitFor();

    // The new password is the one that works now.
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('Name').fill(alice.name);
    await page.getByLabel('Password', { exact: true }).fill(alice.next);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'My account', level: 1 }).waitFor();
    ui.assertClean(t);
  },
);

test.serial(
  'a live SIPp call is listed on the calls page and hung up from there: BYE reaches both phones',
  async (t) => {
    t.timeout(240_000);
    const caller = { user: 'dave', password: 'Violet-Harbor-6021' };
    const callee = { user: 'erin', password: 'Saffron-Bridge-7314' };
    for (const u of [caller, callee]) {
      const added = await a.d.ctl('users', 'add', u.user, '--password', u.password);
      t.is(added.code, 0, added.stderr);
    }
    const calleeHost = a.link.hostV4(77);
    await a.link.addAddress(a.link.a, calleeHost);
    // SIPp hands an incoming INVITE to a scenario only with its Call-ID: both share -cid_str.
    const callIds = `uihangup-${randomBytes(4).toString('hex')}-%u`;
    const side = {
      netns: a.link.a.ns,
      target: { ip: a.link.b.v4, port: SIP_PORT },
      transport: 'udp' as const,
      timeoutSeconds: 120,
    };
    const answering = runSipp(t, {
      ...side,
      localIp: calleeHost,
      localPort: await freePort(),
      scenario: 'answer-ends.xml',
      account: callee,
      fields: [callee.user, 'tollgate'],
      rewrite: keepBlocks('answer', 'byed'),
      extraArgs: ['-cid_str', callIds],
    });
    await eventually('the callee to register', async () =>
      JSON.parse((await a.d.ctl('status', '--json')).stdout).registrations >= 1 ? true : undefined,
    );
    const calling = runSipp(t, {
      ...side,
      localIp: a.link.a.v4,
      localPort: await freePort(),
      scenario: 'call-ends.xml',
      account: caller,
      fields: [caller.user, 'tollgate', callee.user],
      rewrite: keepBlocks('answered', 'byed'),
      extraArgs: ['-cid_str', callIds],
    });

    const page = ui.page;
    await ensureLoggedIn(page, a.origin, ADMIN.name, ADMIN.password);
    await openSection(page, 'Live calls');
    // The page refreshes every 2 s: the call shows once answered.
    const row = page
      .getByRole('row')
      .filter({ hasText: 'confirmed' })
      .filter({ hasText: caller.user });
    await row.waitFor({ timeout: 90_000 });
    t.regex((await row.textContent()) ?? '', new RegExp(callee.user));
    await page
      .getByRole('button', { name: `Hang up the call from ${caller.user} to ${callee.user}` })
      .click();
    await page.getByRole('dialog').getByRole('button', { name: 'Hang up' }).click();
    await page.getByText(`The call ${caller.user} → ${callee.user} was hung up.`).waitFor();
    const [callerRun, calleeRun] = await Promise.all([calling, answering]);
    t.is(callerRun.exitCode, 0, `caller got the BYE: ${callerRun.output}`);
    t.is(calleeRun.exitCode, 0, `callee got the BYE: ${calleeRun.output}`);
    await page.getByText('No call in progress.').waitFor();
    ui.assertClean(t);
  },
);

test.serial(
  'an account is topped up from the accounts page; a malformed amount is refused first',
  async (t) => {
    t.timeout(120_000);
    const carol = { user: 'carol', password: 'Quartz-Meadow-3318' };
    const added = await a.d.ctl('users', 'add', carol.user, '--password', carol.password);
    t.is(added.code, 0, added.stderr);
    const page = ui.page;
    await ensureLoggedIn(page, a.origin, ADMIN.name, ADMIN.password);
    await openSection(page, 'Accounts');
    await page.getByLabel('Search accounts').fill(carol.user);
    const row = page.getByRole('row').filter({ hasText: carol.user });
    await row.waitFor();
    await page.getByRole('button', { name: `Top up ${carol.user}` }).click();
    const dialog = page.getByRole('dialog', { name: `Top up ${carol.user}` });
    await dialog.getByLabel('Amount').fill('12,5');
    await dialog.getByRole('button', { name: 'Add credit' }).click();
    await dialog.getByText(/Enter an amount above 0/).waitFor();
    await dialog.getByLabel('Amount').fill('12.50');
    await dialog.getByRole('button', { name: 'Add credit' }).click();
    await page.getByText(`${carol.user} topped up by 12.50; balance 12.50.`).waitFor();
    await row.locator('td.balance', { hasText: '12.50' }).waitFor();
    // The balance is the billing's own, as the console shows it.
    const shown = await a.d.ctl('users', 'show', carol.user, '--json');
    t.regex(shown.stdout, /12\.5/);
    ui.assertClean(t);
  },
);

test.serial(
  'the admin UI works from the keyboard alone: log in, move between sections, unban',
  async (t) => {
    t.timeout(120_000);
    const context = await ui.browser.newContext({ ignoreHTTPSErrors: true });
    t.teardown(() => context.close());
    const page = await context.newPage();
    ui.watch(page);
    await page.goto(`${a.origin}/`);
    // The page's script gives the name field the focus once it has run: keys typed before
    // that would be lost, so type only then (polled over CDP: the CSP forbids page eval).
    const nameField = page.getByLabel('Name');
    await nameField.waitFor();
    for (let i = 0; i < 5000; i++) {
      if (await nameField.evaluate((el) => el === el.ownerDocument.activeElement)) break;
    }
    // The name field has the focus; Tab moves to the password, Enter submits.
    await page.keyboard.type(ADMIN.name);
    await page.keyboard.press('Tab');
    await page.keyboard.type(ADMIN.password);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    const banned = await a.d.ctl('ban', '192.0.2.55', '--ttl', '1h');
    t.is(banned.code, 0, banned.stderr);
    // Tab through the skip button and the navigation to "Bans", then Enter.
    for (let i = 0; i < 20; i++) {
      await page.keyboard.press('Tab');
      const focused = await page.evaluate<string>('document.activeElement?.textContent ?? ""');
      if (focused === 'Bans') break;
    }
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Bans', level: 1 }).waitFor();
    t.is(
      await page.evaluate<string>('document.activeElement?.id ?? ""'),
      'main',
      'focus moves to the page',
    );
    // From the page: to the search field, type, then on to the row's Unban button.
    await page.getByLabel('Search address, reason or rule').focus();
    await page.keyboard.type('192.0.2.55');
    const unban = page.getByRole('button', { name: 'Unban 192.0.2.55' });
    await unban.waitFor();
    await unban.focus();
    await page.keyboard.press('Enter');
    await page.getByText('192.0.2.55 is no longer banned.').waitFor();
    ui.assertClean(t);
  },
);
