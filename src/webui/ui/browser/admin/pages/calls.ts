// Live calls: who calls whom, since when, the longest the call may last (what every limit
// that applies left it), and a button that hangs it up (the appliance sends BYE both ways).
// Refreshed every two seconds while the page is open.

import { del, get, listing, seg } from '../../lib/api.ts';
import { button, h, replace, text } from '../../lib/dom.ts';
import { count, duration, money, time } from '../../lib/format.ts';
import { confirmAction, dataTable, statusLine } from '../../lib/table.ts';
import type { Page } from '../main.ts';

interface Call {
  id: string;
  callId?: string;
  caller?: string;
  from?: string;
  callee?: string;
  to?: string;
  state?: string;
  startedAt?: number;
  answeredAt?: number;
  maxDurationSeconds?: number;
  costMicros?: number;
  trunk?: string;
}

const REFRESH_MS = 2000;

export const callsPage: Page = {
  path: 'calls',
  title: 'Live calls',
  render(main) {
    const status = statusLine();
    const summary = h('p', { class: 'summary', attrs: { 'aria-live': 'polite' } });
    const table = dataTable<Call>('Calls in progress', [
      { label: 'From', cell: (c) => c.caller ?? c.from ?? '—' },
      { label: 'To', cell: (c) => c.callee ?? c.to ?? '—' },
      { label: 'State', cell: (c) => c.state ?? '—' },
      { label: 'Started', cell: (c) => time(c.startedAt) },
      {
        label: 'Talking',
        cell: (c) => (c.answeredAt ? duration((Date.now() - c.answeredAt) / 1000) : '—'),
      },
      {
        label: 'May last',
        cell: (c) => (c.maxDurationSeconds ? duration(c.maxDurationSeconds) : 'no limit'),
      },
      { label: 'Cost so far', cell: (c) => money(c.costMicros) },
      {
        label: 'Action',
        cell: (c) =>
          button('Hang up', () => hangUp(c), {
            kind: 'danger',
            ariaLabel: `Hang up the call from ${c.caller ?? c.from ?? '?'} to ${c.callee ?? c.to ?? '?'}`,
          }),
      },
    ]);
    const load = async () => {
      try {
        const calls = listing<Call>(await get('/api/v1/calls'), 'calls');
        table.setRows(calls.items, 'No call in progress.');
        text(summary, `${count(calls.total)} calls in progress`);
      } catch (err) {
        status.error(`Calls could not be loaded: ${(err as Error).message}`);
      }
    };
    const hangUp = async (c: Call) => {
      const who = `${c.caller ?? c.from ?? '?'} → ${c.callee ?? c.to ?? '?'}`;
      if (!(await confirmAction(`Hang up the call ${who}?`, 'Hang up'))) return;
      try {
        await del(`/api/v1/calls/${seg(c.id ?? c.callId ?? '')}`);
        status.ok(`The call ${who} was hung up.`);
      } catch (err) {
        status.error(`The call could not be hung up: ${(err as Error).message}`);
      }
      await load();
    };
    replace(main, h('h1', null, 'Live calls'), status.element, summary, table.element);
    void load();
    const timer = setInterval(load, REFRESH_MS);
    return () => clearInterval(timer);
  },
};
