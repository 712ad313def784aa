// Registrations: every phone bound now (RFC 3261 §10: address of record → contact), where it
// registered from and until when. Searched and paged by the server.

import { get, listing } from '../../lib/api.ts';
import { button, debounce, field, h, replace, searchForm, text } from '../../lib/dom.ts';
import { count, time } from '../../lib/format.ts';
import { dataTable, statusLine } from '../../lib/table.ts';
import type { Page } from '../main.ts';

interface Registration {
  aor: string;
  contact: string;
  ip: string;
  port: number;
  transport: string;
  expiresAt: number;
  userAgent?: string;
}

const PAGE_SIZE = 100;

export const registrationsPage: Page = {
  path: 'registrations',
  title: 'Registrations',
  render(main) {
    const search = h('input', { attrs: { type: 'search', name: 'q', maxlength: 200 } });
    const status = statusLine();
    const summary = h('p', { class: 'summary', attrs: { 'aria-live': 'polite' } });
    let offset = 0;
    const prev = button('Previous page', () => load(offset - PAGE_SIZE));
    const next = button('Next page', () => load(offset + PAGE_SIZE));
    const table = dataTable<Registration>('Registrations', [
      { label: 'Account', cell: (r) => r.aor },
      { label: 'Contact', cell: (r) => h('code', null, r.contact) },
      { label: 'From', cell: (r) => `${r.transport} ${r.ip}:${r.port}` },
      { label: 'User-Agent', cell: (r) => r.userAgent ?? '—' },
      { label: 'Expires', cell: (r) => time(r.expiresAt) },
    ]);
    const load = async (at = 0) => {
      offset = Math.max(0, at);
      try {
        const page = listing<Registration>(
          await get('/api/v1/registrations', { q: search.value.trim(), offset, limit: PAGE_SIZE }),
        );
        table.setRows(page.items, 'No phone is registered.');
        text(summary, `${count(page.total)} registrations`);
        prev.disabled = offset === 0;
        next.disabled = offset + page.items.length >= page.total;
      } catch (err) {
        status.error(`Registrations could not be loaded: ${(err as Error).message}`);
      }
    };
    search.addEventListener(
      'input',
      debounce(() => load(0), 250),
    );
    replace(
      main,
      h('h1', null, 'Registrations'),
      searchForm(
        () => load(0),
        field('Search account, address or User-Agent', search),
        h(
          'div',
          { class: 'actions' },
          button('Refresh', () => load(offset)),
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
