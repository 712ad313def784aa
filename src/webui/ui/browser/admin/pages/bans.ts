// Bans: one page of the bans in force at a time, searched and paged by the server (fast with
// 100,000 bans: the browser never holds more than a page). Each ban shows its reason, its
// evidence (what tripped, the User-Agent, a redacted sample: all as text), when it ends, and
// a button to lift it; "Unban all" asks first.

import { del, get, seg } from '../../lib/api.ts';
import { button, debounce, field, h, replace, searchForm, text } from '../../lib/dom.ts';
import { count, expiry, time } from '../../lib/format.ts';
import { confirmAction, dataTable, statusLine } from '../../lib/table.ts';
import type { Page } from '../main.ts';

export interface Ban {
  ip: string;
  reason: string;
  origin: 'manual' | 'auto';
  evidence?: Record<string, unknown>;
  createdAt: number;
  expiresAt: number;
  enforced?: boolean;
  why?: string;
}

export interface BanPage {
  total: number;
  items: Ban[];
}

const PAGE_SIZE = 100;

export const bansPage: Page = {
  path: 'bans',
  title: 'Bans',
  render(main, params) {
    const search = h('input', {
      attrs: { type: 'search', name: 'q', maxlength: 200, value: params.get('q') ?? '' },
    });
    const origin = h(
      'select',
      { attrs: { name: 'origin' } },
      h('option', { attrs: { value: '' } }, 'any'),
      h('option', { attrs: { value: 'auto' } }, 'automatic (the guard)'),
      h('option', { attrs: { value: 'manual' } }, 'manual'),
    );
    const status = statusLine();
    const summary = h('p', { class: 'summary', attrs: { 'aria-live': 'polite' } });
    const prev = button('Previous page', () => load(offset - PAGE_SIZE));
    const next = button('Next page', () => load(offset + PAGE_SIZE));
    let offset = 0;

    const table = dataTable<Ban>('Bans in force', [
      { label: 'Address', cell: (b) => h('code', null, b.ip), class: 'ip' },
      {
        label: 'Reason',
        cell: (b) =>
          b.enforced === false
            ? h(
                'span',
                null,
                b.reason,
                h('br'),
                h('strong', { class: 'not-enforced' }, `Not dropped: ${b.why ?? 'not enforced'}`),
              )
            : b.reason,
        class: 'reason',
      },
      { label: 'Evidence', cell: (b) => evidence(b) },
      { label: 'Since', cell: (b) => time(b.createdAt) },
      { label: 'Expires', cell: (b) => expiry(b.expiresAt) },
      {
        label: 'Action',
        cell: (b) =>
          button('Unban', () => unban(b.ip), { kind: 'danger', ariaLabel: `Unban ${b.ip}` }),
      },
    ]);

    const load = async (at = 0) => {
      offset = Math.max(0, at);
      try {
        const page = await get<BanPage>('/api/v1/bans', {
          q: search.value.trim(),
          origin: origin.value || undefined,
          offset,
          limit: PAGE_SIZE,
        });
        table.setRows(page.items, search.value ? 'No ban matches.' : 'No address is banned.');
        const last = Math.min(page.total, offset + page.items.length);
        text(
          summary,
          page.total === 0
            ? '0 bans'
            : `${count(offset + 1)}–${count(last)} of ${count(page.total)} bans`,
        );
        prev.disabled = offset === 0;
        next.disabled = last >= page.total;
        main.setAttribute('aria-busy', 'false');
      } catch (err) {
        status.error(`Bans could not be loaded: ${(err as Error).message}`);
      }
    };

    const unban = async (ip: string) => {
      try {
        await del(`/api/v1/bans/${seg(ip)}`);
        status.ok(`${ip} is no longer banned.`);
      } catch (err) {
        status.error(`${ip} could not be unbanned: ${(err as Error).message}`);
      }
      await load(offset);
    };

    const unbanAll = button(
      'Unban all',
      async () => {
        if (
          !(await confirmAction(
            'Lift every ban? Every banned address can reach the appliance again.',
            'Unban all',
          ))
        )
          return;
        try {
          const r = await del<{ lifted: number }>('/api/v1/bans/all');
          status.ok(`Every ban lifted (${count(r.lifted)}).`);
        } catch (err) {
          status.error(`Bans could not be lifted: ${(err as Error).message}`);
        }
        await load(0);
      },
      { kind: 'danger' },
    );

    const reload = debounce(() => load(0), 250);
    search.addEventListener('input', () => {
      status.clear();
      reload();
    });
    origin.addEventListener('change', () => load(0));

    replace(
      main,
      h('h1', null, 'Bans'),
      searchForm(
        () => load(0),
        field('Search address, reason or rule', search),
        field('Origin', origin),
        h('div', { class: 'actions' }, unbanAll),
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

/** The evidence as a short line and, on demand, every field (as text, whatever it holds). */
function evidence(ban: Ban): Node | string {
  const e = ban.evidence;
  if (!e || Object.keys(e).length === 0)
    return ban.origin === 'manual' ? 'set by an operator' : '—';
  const line: string[] = [];
  if (typeof e.rule === 'string') line.push(e.rule);
  if (typeof e.count === 'number')
    line.push(`${e.count}${typeof e.threshold === 'number' ? ` of ${e.threshold}` : ''}`);
  if (typeof e.windowSeconds === 'number' && e.windowSeconds > 0)
    line.push(`in ${e.windowSeconds} s`);
  // The kernel's flood bans: which budget, and how many packets it dropped first.
  if (typeof e.rule !== 'string' && typeof e.counter === 'string') line.push(e.counter);
  if (typeof e.packets === 'number') line.push(`${count(e.packets)} packets`);
  const details = evidenceList(e, 0);
  return h(
    'div',
    { class: 'evidence-cell' },
    // The User-Agent in plain sight (scanners name themselves there), as text.
    typeof e.userAgent === 'string'
      ? h('p', { class: 'ua' }, 'User-Agent: ', h('code', null, e.userAgent))
      : null,
    h('details', null, h('summary', null, line.join(', ') || 'details'), details),
  );
}

/** Evidence fields as a definition list: times as times, samples as text blocks, nesting kept. */
function evidenceList(fields: Record<string, unknown>, depth: number): HTMLElement {
  const list = h('dl', { class: 'evidence' });
  for (const [key, value] of Object.entries(fields)) {
    list.append(h('dt', null, key), h('dd', null, evidenceValue(key, value, depth)));
  }
  return list;
}

function evidenceValue(key: string, value: unknown, depth: number): Node | string {
  if (typeof value === 'number' && /(At|Start|^at)$/.test(key) && value > 1e12) return time(value);
  if (typeof value === 'string' && (key === 'sample' || value.includes('\n')))
    return h('pre', null, value);
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && depth < 3)
    return evidenceList(value as Record<string, unknown>, depth + 1);
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return String(value);
}
