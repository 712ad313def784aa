// The security audit: the configuration and system held against the reference's checklist.
// Each finding says what is wrong, why it matters and its fix; a fix that sets a key links to
// that key in the configuration editor with the recommended value filled in, and can be
// applied here in one click.

import { get, put, seg } from '../../lib/api.ts';
import { button, h, replace } from '../../lib/dom.ts';
import { statusLine } from '../../lib/table.ts';
import type { Page } from '../main.ts';

interface Finding {
  id: string;
  severity: 'high' | 'medium' | 'low';
  title: string;
  why: string;
  fix: string;
}

interface AuditReport {
  findings: Finding[];
  unavailable: Array<{ key: string; item: string; issue: number }>;
  summary: Record<string, number>;
}

/** "tollgatectl config set KEY VALUE" → {key, value}. */
export function configFix(fix: string): { key: string; value: string } | null {
  const m = /^tollgatectl config set ([a-z0-9_]+) (.+)$/.exec(fix.trim());
  return m ? { key: m[1]!, value: m[2]!.replace(/^"(.*)"$/, '$1') } : null;
}

export const auditPage: Page = {
  path: 'audit',
  title: 'Security audit',
  render(main) {
    const status = statusLine();
    const body = h('div', { class: 'audit' });
    const load = async () => {
      try {
        const report = await get<AuditReport>('/api/v1/audit');
        const { high = 0, medium = 0, low = 0 } = report.summary ?? {};
        replace(
          body,
          h(
            'p',
            { class: 'summary', id: 'audit-summary' },
            report.findings.length === 0
              ? 'No findings: the configuration meets every checklist item this version can check.'
              : `${report.findings.length} findings: ${high} high, ${medium} medium, ${low} low.`,
          ),
          h('ol', { class: 'findings' }, ...report.findings.map(findingItem)),
          report.unavailable.length > 0
            ? h(
                'section',
                { attrs: { 'aria-labelledby': 'unavailable' } },
                h('h2', { id: 'unavailable' }, 'Not available in this version'),
                h(
                  'ul',
                  null,
                  ...report.unavailable.map((u) =>
                    h('li', null, `${u.item} (${u.key}, issue #${u.issue})`),
                  ),
                ),
              )
            : null,
        );
      } catch (err) {
        status.error(`The audit could not be run: ${(err as Error).message}`);
      }
    };
    const findingItem = (f: Finding) => {
      const fix = configFix(f.fix);
      return h(
        'li',
        { class: `card finding ${f.severity}`, attrs: { 'data-finding': f.id } },
        h('h2', null, h('span', { class: `badge ${f.severity}` }, f.severity), ' ', f.title),
        h('p', null, h('strong', null, 'Why: '), f.why),
        h('p', null, h('strong', null, 'Fix: '), h('code', null, f.fix)),
        fix
          ? h(
              'p',
              { class: 'actions' },
              h(
                'a',
                {
                  class: 'btn plain',
                  attrs: { href: `#/config?key=${seg(fix.key)}&value=${seg(fix.value)}` },
                },
                `Open ${fix.key} in the configuration`,
              ),
              button(
                'Apply this fix',
                async () => {
                  try {
                    await put(`/api/v1/config/${seg(fix.key)}`, { value: fix.value });
                    status.ok(`${fix.key} set to ${fix.value}.`);
                  } catch (err) {
                    status.error(`${fix.key} could not be set: ${(err as Error).message}`);
                  }
                  await load();
                },
                { kind: 'primary', ariaLabel: `Apply the fix: set ${fix.key} to ${fix.value}` },
              ),
            )
          : null,
      );
    };
    replace(
      main,
      h('h1', null, 'Security audit'),
      status.element,
      body,
      h(
        'p',
        null,
        button('Run again', () => load()),
      ),
    );
    void load();
    return undefined;
  },
};
