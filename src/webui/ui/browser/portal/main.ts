// The enduser portal: a SIP account logs in with its own name and password and sees its
// balance, its limits and its call records, and changes its password (the server applies
// the same strong-password rules as the console: src/control/passwords.ts).

import { type Cdr, outcome } from '../admin/pages/cdrs.ts';
import {
  type ApiError,
  get,
  listing,
  onUnauthorized,
  post,
  request,
  setCsrfToken,
} from '../lib/api.ts';
import { button, field, h, replace, text } from '../lib/dom.ts';
import { count, duration, money, time, value } from '../lib/format.ts';
import { loginForm, type SessionInfo } from '../lib/login.ts';
import { dataTable, statusLine } from '../lib/table.ts';

/** GET /api/v1/portal/me: the account (per-user fields are its limits) and its money. */
interface Me {
  name: string;
  fields?: Record<string, unknown>;
  limits?: Record<string, unknown>;
  creditMicros?: number;
  spentTodayMicros?: number;
}

const BASE = '/api/v1/portal';
const root = document.getElementById('app')!;

async function start(): Promise<void> {
  onUnauthorized(() => showLogin('Your session ended; log in again.'));
  try {
    enter(await get<SessionInfo>(`${BASE}/session`));
  } catch {
    showLogin();
  }
}

function showLogin(notice?: string): void {
  document.title = 'Log in — my phone account';
  replace(
    root,
    h(
      'main',
      { class: 'login-page', id: 'main' },
      loginForm({
        heading: 'My phone account',
        notice,
        withTotp: false,
        submit: (body) => post<SessionInfo>(`${BASE}/session`, body),
        done: enter,
      }),
    ),
  );
}

function enter(session: SessionInfo): void {
  setCsrfToken(session.csrfToken);
  document.title = 'My phone account';
  const main = h('main', { id: 'main' });
  replace(
    root,
    h(
      'header',
      { class: 'top' },
      h('span', { class: 'brand' }, 'My phone account'),
      h('span', { class: 'who' }, `Signed in as ${session.name}`),
      button('Log out', async () => {
        await request('DELETE', `${BASE}/session`).catch(() => undefined);
        setCsrfToken('');
        showLogin('You are logged out.');
      }),
    ),
    main,
  );
  void overview(main);
}

async function overview(main: HTMLElement): Promise<void> {
  const status = statusLine();
  const facts = h('dl', { class: 'facts' });
  const cdrs = dataTable<Cdr>('My calls', [
    { label: 'Started', cell: (c) => time(c.startedAt) },
    { label: 'Dialled', cell: (c) => c.dialled },
    { label: 'Duration', cell: (c) => duration(c.durationSeconds), class: 'num' },
    { label: 'Cost', cell: (c) => money(c.costMicros), class: 'num' },
    { label: 'Outcome', cell: (c) => outcome(c) },
  ]);
  const cdrSummary = h('p', { class: 'summary' });
  replace(
    main,
    h('h1', null, 'My account'),
    status.element,
    h(
      'section',
      { class: 'card', attrs: { 'aria-labelledby': 'balance-h' } },
      h('h2', { id: 'balance-h' }, 'Balance and limits'),
      facts,
    ),
    h(
      'section',
      { attrs: { 'aria-labelledby': 'calls-h' } },
      h('h2', { id: 'calls-h' }, 'My calls'),
      cdrSummary,
      cdrs.element,
    ),
    passwordForm(),
  );
  try {
    // The account with its money when the appliance bills; the account alone otherwise.
    const me = await get<Me>(`${BASE}/account`).catch(() => get<Me>(`${BASE}/me`));
    // Fields left at their default (0 = no limit, empty) say nothing to the user.
    const limits = Object.entries({ ...(me.fields ?? {}), ...(me.limits ?? {}) }).filter(
      ([, v]) => v !== 0 && v !== '' && v !== false && !(Array.isArray(v) && v.length === 0),
    );
    replace(
      facts,
      h('dt', null, 'Balance'),
      h('dd', { id: 'balance' }, money(me.creditMicros)),
      h('dt', null, 'Spent today'),
      h('dd', null, money(me.spentTodayMicros)),
      h('dt', null, 'Limits'),
      h(
        'dd',
        null,
        limits.length === 0 ? 'the appliance’s defaults' : `${limits.length} set for you:`,
      ),
      ...limits.flatMap(([k, v]) => [h('dt', null, k), h('dd', null, value(v))]),
    );
  } catch (err) {
    status.error(`Your account could not be loaded: ${(err as Error).message}`);
  }
  try {
    const list = listing<Cdr>(await get(`${BASE}/cdrs`, { limit: 100 }), 'cdrs');
    cdrs.setRows(list.items, 'No calls yet.');
    text(cdrSummary, `${count(list.total)} calls`);
  } catch (err) {
    if ((err as ApiError).status === 404 || (err as ApiError).status === 501)
      text(cdrSummary, 'Call records are not available on this appliance yet.');
    else status.error(`Your calls could not be loaded: ${(err as Error).message}`);
  }
}

function passwordForm(): HTMLElement {
  const current = h('input', {
    attrs: {
      type: 'password',
      name: 'current',
      autocomplete: 'current-password',
      required: true,
      maxlength: 128,
    },
  });
  const next = h('input', {
    attrs: {
      type: 'password',
      name: 'password',
      autocomplete: 'new-password',
      required: true,
      maxlength: 128,
    },
  });
  const again = h('input', {
    attrs: {
      type: 'password',
      name: 'again',
      autocomplete: 'new-password',
      required: true,
      maxlength: 128,
    },
  });
  const status = statusLine();
  return h(
    'form',
    {
      class: 'card',
      attrs: { 'aria-labelledby': 'pw-h' },
      on: {
        submit: async (event) => {
          event.preventDefault();
          if (next.value !== again.value) {
            status.error('The two new passwords differ.');
            again.focus();
            return;
          }
          try {
            await post(`${BASE}/password`, { current: current.value, password: next.value });
            status.ok('Password changed. Set the new one in your phone too.');
            current.value = next.value = again.value = '';
          } catch (err) {
            status.error((err as Error).message);
            next.focus();
          }
        },
      },
    },
    h('h2', { id: 'pw-h' }, 'Change my password'),
    field('Current password', current),
    field(
      'New password',
      next,
      'At least 8 characters mixing letters, digits or symbols; not your name, a common word or a sequence.',
    ),
    field('New password again', again),
    h('button', { class: 'btn primary', attrs: { type: 'submit' } }, 'Change password'),
    status.element,
  );
}

void start();
