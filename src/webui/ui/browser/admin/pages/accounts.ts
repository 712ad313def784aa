// Accounts: each SIP account with its balance, what it spent today, its limits, and why its
// last call was refused (the rule and the figures, as the policy said it). Top-up adds credit
// in currency units; the server keeps integer micro-units.

import { get, listing, post, seg } from '../../lib/api.ts';
import { button, debounce, field, h, replace, searchForm, text } from '../../lib/dom.ts';
import { count, money, parseMoney, time, value } from '../../lib/format.ts';
import { dataTable, statusLine } from '../../lib/table.ts';
import type { Page } from '../main.ts';

/** One account: the user record's fields, and the billing summary when billing runs. */
export interface Account {
  name: string;
  id?: number;
  /** Per-user fields (limits and settings as set). */
  fields?: Record<string, unknown>;
  /** src/control/billing/service.ts AccountSummary, when the appliance bills. */
  type?: string;
  postpaid?: boolean;
  tariff?: string;
  creditMicros?: number;
  spentTodayMicros?: number;
  spentMonthMicros?: number;
  linesInUse?: number;
  /** The limits in force, computed (maxlines, daily and monthly credit …). */
  limits?: Record<string, unknown>;
  lastRefusal?: { rule?: string; reason?: string; at?: string | number; dialled?: string } | null;
}

const PAGE_SIZE = 50;
/** The SIP accounts with their money (GET: one page; POST …/NAME/topup). */
const ACCOUNTS_PATH = '/api/v1/accounts';

export const accountsPage: Page = {
  path: 'accounts',
  title: 'Accounts',
  render(main) {
    const search = h('input', { attrs: { type: 'search', name: 'q', maxlength: 64 } });
    const status = statusLine();
    const summary = h('p', { class: 'summary', attrs: { 'aria-live': 'polite' } });
    let offset = 0;
    const prev = button('Previous page', () => load(offset - PAGE_SIZE));
    const next = button('Next page', () => load(offset + PAGE_SIZE));
    const table = dataTable<Account>('Accounts', [
      { label: 'Account', cell: (a) => a.name, class: 'name' },
      { label: 'Balance', cell: (a) => money(balanceOf(a)), class: 'num balance' },
      {
        label: 'Spent today',
        cell: (a) => money(a.spentTodayMicros),
        class: 'num',
      },
      {
        label: 'This month',
        cell: (a) => money(a.spentMonthMicros),
        class: 'num',
      },
      { label: 'Limits', cell: (a) => limits(a) },
      { label: 'Last refusal', cell: (a) => refusal(a) },
      {
        label: 'Action',
        cell: (a) => button('Top up', () => topUp(a), { ariaLabel: `Top up ${a.name}` }),
      },
    ]);
    const load = async (at = 0) => {
      offset = Math.max(0, at);
      try {
        const page = listing<Account>(
          await get(ACCOUNTS_PATH, { q: search.value.trim(), offset, limit: PAGE_SIZE }),
        );
        table.setRows(page.items, 'No account.');
        text(summary, `${count(page.total)} accounts`);
        prev.disabled = offset === 0;
        next.disabled = offset + page.items.length >= page.total;
      } catch (err) {
        status.error(`Accounts could not be loaded: ${(err as Error).message}`);
      }
    };

    const topUp = (account: Account) => {
      const amount = h('input', {
        attrs: {
          name: 'amount',
          inputmode: 'decimal',
          required: true,
          maxlength: 17,
          autocomplete: 'off',
        },
      });
      const error = h('p', { class: 'status error', attrs: { role: 'alert' } });
      const dialog = h(
        'dialog',
        { attrs: { 'aria-labelledby': 'topup-heading' } },
        h(
          'form',
          {
            on: {
              submit: async (event) => {
                event.preventDefault();
                const micros = parseMoney(amount.value);
                if (micros === null || micros <= 0) {
                  text(
                    error,
                    'Enter an amount above 0, with at most 6 decimals (e.g. 10 or 12.50).',
                  );
                  amount.setAttribute('aria-invalid', 'true');
                  amount.focus();
                  return;
                }
                try {
                  // Decimal text, exact: the server never sees a float.
                  const r = await post<{ creditMicros?: number }>(
                    `${ACCOUNTS_PATH}/${seg(account.name)}/topup`,
                    { amount: amount.value.trim() },
                  );
                  dialog.close();
                  status.ok(
                    `${account.name} topped up by ${money(micros)}${r?.creditMicros !== undefined ? `; balance ${money(r.creditMicros)}` : ''}.`,
                  );
                  await load(offset);
                } catch (err) {
                  text(error, (err as Error).message);
                }
              },
            },
          },
          h('h2', { id: 'topup-heading' }, `Top up ${account.name}`),
          h('p', null, `Balance now: ${money(balanceOf(account))}`),
          field('Amount', amount, 'In currency units, e.g. 10 or 12.50'),
          error,
          h(
            'div',
            { class: 'actions' },
            button('Cancel', () => dialog.close()),
            h('button', { class: 'btn primary', attrs: { type: 'submit' } }, 'Add credit'),
          ),
        ),
      );
      dialog.addEventListener('close', () => dialog.remove());
      document.body.append(dialog);
      dialog.showModal();
      amount.focus();
    };

    search.addEventListener(
      'input',
      debounce(() => load(0), 250),
    );
    replace(
      main,
      h('h1', null, 'Accounts'),
      searchForm(() => load(0), field('Search accounts', search)),
      status.element,
      summary,
      table.element,
      h('div', { class: 'pager' }, prev, next),
    );
    void load(0);
    return undefined;
  },
};

function limits(a: Account): Node | string {
  const entries = Object.entries(a.limits ?? a.fields ?? {}).filter(
    ([, v]) => v !== 0 && v !== '' && v !== false && !(Array.isArray(v) && v.length === 0),
  );
  if (entries.length === 0) return 'defaults';
  return h(
    'ul',
    { class: 'plain' },
    ...entries.map(([k, v]) => h('li', null, `${k} = ${value(v)}`)),
  );
}

function refusal(a: Account): string {
  const r = a.lastRefusal;
  if (!r) return '—';
  if (typeof r === 'string') return r;
  return [
    r.reason ?? r.rule ?? 'refused',
    r.dialled ? `calling ${r.dialled}` : '',
    r.at ? `(${time(typeof r.at === 'string' ? Date.parse(r.at) : r.at)})` : '',
  ]
    .filter(Boolean)
    .join(' ');
}

function balanceOf(a: Account): number | undefined {
  return a.creditMicros;
}
