// Dashboard: what the appliance is doing now, from the live stream (/api/v1/events, server-
// sent events, one sample a second). Kernel drop counters arrive as totals; the rate per
// reason is the difference between two samples over the time between them.

import { LiveChart } from '../../lib/chart.ts';
import { h, replace, text } from '../../lib/dom.ts';
import { count, money, rate } from '../../lib/format.ts';
import type { Page } from '../main.ts';

export interface Sample {
  /** ms since epoch, the server's clock. */
  at: number;
  mode?: string;
  /** Kernel drop counters per reason, totals since the dataplane started. */
  drops: Record<string, number>;
  passed?: number;
  registrations?: number;
  calls?: number;
  spendTodayMicros?: number;
  bans?: number;
}

/** What each kernel drop reason means, for the table beside the chart. */
const REASONS: Record<string, string> = {
  banned: 'from a banned address',
  cidr_deny: 'from a denied range',
  flood: 'over a source’s or the unknown sources’ budget',
  rtp_source: 'media from a source that is not the call’s peer',
  rtp_unallocated: 'media to a port no call uses',
  malformed: 'malformed packet',
  fragment: 'IP fragment',
};

export const dashboardPage: Page = {
  path: 'dashboard',
  title: 'Dashboard',
  render(main) {
    const reasons = Object.keys(REASONS);
    const drops = new LiveChart('Kernel drops per second, by reason', 'packets/s', reasons);
    const activity = new LiveChart('Registrations and calls', 'count', ['registrations', 'calls']);
    const spend = new LiveChart('Spend today', 'currency', ['spend']);
    const live = h('p', { class: 'live-state', attrs: { role: 'status' } }, 'Connecting…');
    const figure = (id: string, label: string) =>
      h(
        'div',
        { class: 'stat' },
        h('span', { class: 'label' }, label),
        h('output', { id, class: 'value' }, '—'),
      );
    const stats = h(
      'div',
      { class: 'stats' },
      figure('stat-registrations', 'Registrations'),
      figure('stat-calls', 'Calls now'),
      figure('stat-spend', 'Spend today'),
      figure('stat-bans', 'Bans in force'),
      figure('stat-mode', 'Dataplane'),
    );
    const rows = new Map<string, { rate: HTMLElement; total: HTMLElement }>();
    const body = h('tbody');
    const ensureRow = (reason: string) => {
      let row = rows.get(reason);
      if (!row) {
        row = {
          rate: h('td', { class: 'num', attrs: { 'data-label': 'Per second' } }, '0'),
          total: h('td', { class: 'num', attrs: { 'data-label': 'Total' } }, '0'),
        };
        rows.set(reason, row);
        body.append(
          h(
            'tr',
            { attrs: { 'data-reason': reason } },
            h('th', { attrs: { scope: 'row', 'data-label': 'Reason' } }, reason),
            h('td', { attrs: { 'data-label': 'Meaning' } }, REASONS[reason] ?? ''),
            row.rate,
            row.total,
          ),
        );
      }
      return row;
    };
    for (const r of reasons) ensureRow(r);
    const table = h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'data', id: 'drops-table' },
        h('caption', null, 'Packets dropped in the kernel'),
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            h('th', { attrs: { scope: 'col' } }, 'Reason'),
            h('th', { attrs: { scope: 'col' } }, 'Meaning'),
            h('th', { attrs: { scope: 'col' }, class: 'num' }, 'Per second'),
            h('th', { attrs: { scope: 'col' }, class: 'num' }, 'Total'),
          ),
        ),
        body,
      ),
    );
    replace(
      main,
      h('h1', null, 'Dashboard'),
      live,
      stats,
      h('div', { class: 'charts' }, drops.element, activity.element, spend.element),
      table,
    );

    let previous: Sample | undefined;
    const onSample = (s: Sample) => {
      const seconds = previous ? Math.max(0.001, (s.at - previous.at) / 1000) : 0;
      const perReason: Record<string, number> = {};
      for (const [reason, total] of Object.entries(s.drops)) {
        const before = previous?.drops[reason];
        // A counter that went down means the dataplane restarted: no rate for that second.
        const r =
          before !== undefined && seconds > 0 && total >= before ? (total - before) / seconds : 0;
        perReason[reason] = r;
        const row = ensureRow(reason);
        text(row.rate, rate(r));
        text(row.total, count(total));
      }
      if (previous) drops.push(perReason);
      activity.push({ registrations: s.registrations ?? 0, calls: s.calls ?? 0 });
      spend.push({ spend: (s.spendTodayMicros ?? 0) / 1_000_000 });
      text(document.getElementById('stat-registrations')!, count(s.registrations));
      text(document.getElementById('stat-calls')!, count(s.calls));
      text(document.getElementById('stat-spend')!, money(s.spendTodayMicros));
      text(document.getElementById('stat-bans')!, count(s.bans));
      text(document.getElementById('stat-mode')!, s.mode ?? '—');
      previous = s;
    };

    const source = new EventSource('/api/v1/events');
    source.addEventListener('open', () => text(live, 'Live: updated every second.'));
    source.addEventListener('error', () =>
      text(live, 'Connection to the appliance lost; reconnecting…'),
    );
    source.addEventListener('sample', (event) => {
      try {
        onSample(JSON.parse((event as MessageEvent<string>).data) as Sample);
      } catch {
        // A sample that does not parse is skipped; the next one comes in a second.
      }
    });
    const redraw = () => {
      drops.draw();
      activity.draw();
      spend.draw();
    };
    window.addEventListener('resize', redraw);
    return () => {
      source.close();
      window.removeEventListener('resize', redraw);
    };
  },
};
