// Call records: searched by account, number and period on the server, paged, and exported as
// CSV with the same filters (the browser downloads the server's file; nothing is rebuilt here).

import { get, listing, withQuery } from '../../lib/api.ts';
import { button, field, h, onSubmit, replace, setAttr, text } from '../../lib/dom.ts';
import { count, duration, money, time } from '../../lib/format.ts';
import { dataTable, statusLine } from '../../lib/table.ts';
import type { Page } from '../main.ts';

interface Cdr {
  callId: string;
  user: string;
  from: string;
  to: string;
  startedAt: number;
  durationMs: number;
  costMicros: number;
  result?: string;
}

const PAGE_SIZE = 100;
export const CDR_PATH = '/api/v1/cdrs';
export const CDR_CSV_PATH = '/api/v1/cdrs.csv';

export const cdrsPage: Page = {
  path: 'cdrs',
  title: 'Call records',
  render(main) {
    const user = h('input', { attrs: { name: 'user', maxlength: 64, autocomplete: 'off' } });
    const number = h('input', { attrs: { name: 'number', maxlength: 64, autocomplete: 'off' } });
    const from = h('input', { attrs: { name: 'from', type: 'date' } });
    const to = h('input', { attrs: { name: 'to', type: 'date' } });
    const status = statusLine();
    const summary = h('p', { class: 'summary', attrs: { 'aria-live': 'polite' } });
    const csv = h(
      'a',
      { class: 'btn plain', attrs: { href: CDR_CSV_PATH, download: 'cdrs.csv' } },
      'Export CSV',
    );
    let offset = 0;
    const prev = button('Previous page', () => load(offset - PAGE_SIZE));
    const next = button('Next page', () => load(offset + PAGE_SIZE));
    const table = dataTable<Cdr>('Call records', [
      { label: 'Started', cell: (c) => time(c.startedAt) },
      { label: 'Account', cell: (c) => c.user },
      { label: 'From', cell: (c) => c.from },
      { label: 'To', cell: (c) => c.to },
      { label: 'Duration', cell: (c) => duration(c.durationMs / 1000), class: 'num' },
      { label: 'Cost', cell: (c) => money(c.costMicros), class: 'num' },
      { label: 'Result', cell: (c) => c.result ?? '—' },
    ]);
    const filters = () => ({
      user: user.value.trim(),
      number: number.value.trim(),
      // Whole local days: from the start of `from` to the end of `to`.
      since: from.value ? new Date(`${from.value}T00:00:00`).getTime() : undefined,
      until: to.value ? new Date(`${to.value}T23:59:59.999`).getTime() : undefined,
    });
    const load = async (at = 0) => {
      offset = Math.max(0, at);
      setAttr(csv, 'href', withQuery(CDR_CSV_PATH, filters()));
      try {
        const page = listing<Cdr>(
          await get(CDR_PATH, { ...filters(), offset, limit: PAGE_SIZE }),
          'cdrs',
        );
        table.setRows(page.items, 'No call record matches.');
        text(summary, `${count(page.total)} call records`);
        prev.disabled = offset === 0;
        next.disabled = offset + page.items.length >= page.total;
      } catch (err) {
        status.error(`Call records could not be loaded: ${(err as Error).message}`);
      }
    };
    replace(
      main,
      h('h1', null, 'Call records'),
      h(
        'form',
        {
          class: 'toolbar',
          attrs: { role: 'search' },
          on: { submit: onSubmit(() => load(0)) },
        },
        field('Account', user),
        field('Number contains', number),
        field('From', from),
        field('To', to),
        h(
          'div',
          { class: 'actions' },
          h('button', { class: 'btn primary', attrs: { type: 'submit' } }, 'Search'),
          csv,
        ),
      ),
      status.element,
      summary,
      table.element,
      h('div', { class: 'pager' }, prev, next),
    );
    void load(0);
    return undefined;
  },
};
