// Live calls: who calls whom, since when, the longest the call may last (what every limit
// that applies left it), and a button that hangs it up (the appliance sends BYE both ways).
// Refreshed every two seconds while the page is open.

import { del, get, listing, seg } from '../../lib/api.ts';
import { button, h, replace, text } from '../../lib/dom.ts';
import { count, duration } from '../../lib/format.ts';
import { confirmAction, dataTable, statusLine } from '../../lib/table.ts';
import type { Page } from '../main.ts';

/** A live call (src/policy-port.ts LiveCall, as `tollgatectl calls --json` lists it). */
interface Call {
  id: string;
  state: string;
  /** The From user (what the caller claims). */
  caller: string;
  callee: string;
  /** The account that pays; '' when none. */
  account?: string;
  route?: string;
  callerAddress?: string;
  calleeAddress?: string;
  ageSeconds: number;
  /** Seconds since the answer; absent in setup. */
  answeredSeconds?: number;
  sessionExpires?: number;
  mediaPorts?: number[];
  packetsDropped?: number;
}

const REFRESH_MS = 2000;

export const callsPage: Page = {
  path: 'calls',
  title: 'Live calls',
  render(main) {
    const status = statusLine();
    const summary = h('p', { class: 'summary', attrs: { 'aria-live': 'polite' } });
    const table = dataTable<Call>('Calls in progress', [
      { label: 'From', cell: (c) => c.caller || '—' },
      { label: 'To', cell: (c) => c.callee || '—' },
      { label: 'Account', cell: (c) => c.account || '—' },
      { label: 'Route', cell: (c) => c.route || '—' },
      { label: 'State', cell: (c) => c.state },
      { label: 'Age', cell: (c) => duration(c.ageSeconds), class: 'num' },
      {
        label: 'Talking',
        cell: (c) => (c.answeredSeconds === undefined ? '—' : duration(c.answeredSeconds)),
        class: 'num',
      },
      {
        label: 'Media',
        cell: (c) =>
          c.mediaPorts && c.mediaPorts.length > 0
            ? `ports ${c.mediaPorts.join(', ')}${c.packetsDropped ? `; ${count(c.packetsDropped)} dropped` : ''}`
            : '—',
      },
      {
        label: 'Action',
        cell: (c) =>
          button('Hang up', () => hangUp(c), {
            kind: 'danger',
            ariaLabel: `Hang up the call from ${c.caller} to ${c.callee}`,
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
      const who = `${c.caller} → ${c.callee}`;
      if (!(await confirmAction(`Hang up the call ${who}?`, 'Hang up'))) return;
      try {
        await del(`/api/v1/calls/${seg(c.id)}`);
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
