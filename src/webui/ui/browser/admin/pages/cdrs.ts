// Call records: searched by account, number and period on the server, paged, and exported as
// CSV with the same filters (the browser downloads the server's file; nothing is rebuilt here).

import { get, listing, withQuery } from '../../lib/api.ts';
import { button, field, h, replace, searchForm, setAttr, text } from '../../lib/dom.ts';
import { count, duration, money, time } from '../../lib/format.ts';
import { dataTable, statusLine } from '../../lib/table.ts';
import type { Page } from '../main.ts';

/** One call record as the store keeps it (src/store/records.ts CdrRecord). */
export interface Cdr {
  callId: string;
  account: string;
  callerId?: string;
  dialled: string;
  destination?: 'local' | 'trunk';
  trunk?: string;
  sourceIp?: string;
  startedAt: number;
  answeredAt?: number;
  endedAt?: number;
  durationSeconds: number;
  status?: number;
  disconnectSide?: string;
  /** The rule that ended or refused the call, or the SIP outcome. */
  reason?: string;
  refused?: boolean;
  costMicros: number;
}

/** What happened to the call, in a few words. */
export function outcome(c: Cdr): string {
  if (c.refused) return `refused: ${c.reason ?? c.status ?? ''}`.trim();
  if (!c.answeredAt) return `not answered${c.status ? ` (${c.status})` : ''}`;
  return `answered${c.disconnectSide ? `, ended by the ${c.disconnectSide}` : ''}${c.reason && !/^\d+$/.test(c.reason) ? ` (${c.reason})` : ''}`;
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
      { label: 'Account', cell: (c) => c.account || '(unidentified)' },
      { label: 'Caller ID', cell: (c) => c.callerId ?? '—' },
      { label: 'Dialled', cell: (c) => c.dialled },
      {
        label: 'Via',
        cell: (c) => (c.destination === 'trunk' ? `trunk ${c.trunk ?? ''}` : 'local'),
      },
      { label: 'Duration', cell: (c) => duration(c.durationSeconds), class: 'num' },
      { label: 'Cost', cell: (c) => money(c.costMicros), class: 'num' },
      { label: 'Outcome', cell: (c) => outcome(c) },
    ]);
    const filters = () => ({
      account: user.value.trim(),
      dialled: number.value.trim(),
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
      searchForm(
        () => load(0),
        field('Account', user),
        field('Dialled number', number),
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
