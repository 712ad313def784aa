// Tariffs, routes and trunks: what a call to a number costs, which trunk carries it, and the
// trunks themselves. Shown as the API gives them (each record's fields as columns, as text),
// so a field the routing code adds appears here without a UI change.

import { get, listing } from '../../lib/api.ts';
import { h, replace } from '../../lib/dom.ts';
import { money, value } from '../../lib/format.ts';
import { dataTable, statusLine } from '../../lib/table.ts';
import type { Page } from '../main.ts';

type Row = Record<string, unknown>;

const SECTIONS = [
  { path: '/api/v1/tariffs', title: 'Tariffs', key: 'tariffs' },
  { path: '/api/v1/routes', title: 'Routes', key: 'routes' },
  { path: '/api/v1/trunks', title: 'Trunks', key: 'trunks' },
];

/** Fields never shown even if an API answer carried them. */
const HIDDEN = /password|secret|ha1|token|key$/i;

export const routingPage: Page = {
  path: 'routing',
  title: 'Tariffs, routes, trunks',
  render(main) {
    replace(main, h('h1', null, 'Tariffs, routes and trunks'));
    for (const section of SECTIONS) {
      const status = statusLine();
      const holder = h('div');
      const id = `section-${section.key}`;
      main.append(
        h(
          'section',
          { attrs: { 'aria-labelledby': id } },
          h('h2', { id }, section.title),
          status.element,
          holder,
        ),
      );
      void get(section.path)
        .then((data) => {
          const rows = listing<Row>(data, section.key).items;
          const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter(
            (k) => !HIDDEN.test(k),
          );
          const table = dataTable<Row>(
            section.title,
            columns.map((c) => ({ label: c, cell: (r: Row) => cell(c, r[c]) })),
          );
          table.setRows(rows, `No ${section.title.toLowerCase()} configured.`);
          holder.append(table.element);
        })
        .catch((err: Error) =>
          status.error(`${section.title} could not be loaded: ${err.message}`),
        );
    }
    return undefined;
  },
};

function cell(column: string, v: unknown): string {
  if (typeof v === 'number' && /micros$/i.test(column)) return money(v);
  return value(v);
}
