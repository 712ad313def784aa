// Configuration: every key with its value, default, where the value comes from, whether a
// change applies at once or after a restart, and whether this version enforces it. A key is
// edited in place; the server validates exactly as the console does and its refusal (naming
// the accepted range) is shown beside the field. #/config?key=NAME opens one key (the audit
// links here).

import { del, get, listing, put, seg } from '../../lib/api.ts';
import { button, debounce, field, h, replace, searchForm, text } from '../../lib/dom.ts';
import { value } from '../../lib/format.ts';
import { statusLine } from '../../lib/table.ts';
import type { Page } from '../main.ts';

export interface ConfigKey {
  key: string;
  scope?: 'global' | 'user';
  value?: unknown;
  default?: unknown;
  applies: 'live' | 'restart';
  source?: { kind: string; path?: string; line?: number; setAt?: number };
  status:
    | { state: 'enforced'; module?: string; test?: string }
    | { state: 'not-enforced'; issue: number }
    | { state: 'fixed'; reason: string };
  pending?: unknown;
  help?: string;
  section?: string;
  type?: string;
  values?: Record<string, string>;
  secret?: boolean;
}

export const configPage: Page = {
  path: 'config',
  title: 'Configuration',
  render(main, params) {
    const search = h('input', {
      attrs: { type: 'search', name: 'q', maxlength: 64, value: params.get('key') ?? '' },
    });
    const onlyChanged = h('input', {
      id: 'only-changed',
      attrs: { type: 'checkbox', name: 'changed' },
    });
    const status = statusLine();
    const list = h('div', { class: 'config-list' });
    let keys: ConfigKey[] = [];

    const show = () => {
      const q = search.value.trim().toLowerCase();
      const exact = keys.find((k) => k.key === q);
      const shown = keys.filter(
        (k) =>
          k.scope !== 'user' &&
          (exact
            ? k === exact
            : !q || k.key.includes(q) || (k.help ?? '').toLowerCase().includes(q)) &&
          (!onlyChanged.checked || (k.source && k.source.kind !== 'default')),
      );
      replace(
        list,
        h(
          'p',
          { class: 'summary', attrs: { 'aria-live': 'polite' } },
          `${shown.length} of ${keys.filter((k) => k.scope !== 'user').length} keys`,
        ),
        ...shown.slice(0, 300).map((k) => keyCard(k)),
      );
    };

    /** Replaces one key's card with its state now, keeping the note about what happened. */
    const refresh = async (k: ConfigKey, card: HTMLElement, note: string) => {
      try {
        const fresh = await get<ConfigKey>(`/api/v1/config/${seg(k.key)}`);
        keys = keys.map((x) => (x.key === k.key ? fresh : x));
        const next = keyCard(fresh);
        const message = next.querySelector('.edit .status');
        if (message) {
          message.className = 'status ok';
          text(message, note);
        }
        card.replaceWith(next);
      } catch {
        // The note stays on the old card; the next search shows the key as it is.
      }
    };

    const keyCard = (k: ConfigKey): HTMLElement => {
      const headingId = `key-${k.key}`;
      const current = h('dd', { class: 'value' }, k.secret ? '(secret)' : value(k.value));
      const message = h('p', { class: 'status', attrs: { role: 'status' } });
      const input = editorFor(k);
      // A key this version ignores is stored only when the operator says so (as the console's
      // --accept-unenforced), knowing it has no effect.
      const accept =
        k.status.state === 'not-enforced'
          ? h('input', {
              id: `accept-${k.key}`,
              attrs: { type: 'checkbox', name: 'acceptUnenforced' },
            })
          : null;
      // The audit's fix links prefill the recommended value (#/config?key=K&value=V).
      const proposed = params.get('value');
      if (proposed !== null && params.get('key') === k.key) input.value = proposed;
      const form = h(
        'form',
        {
          class: 'edit',
          on: {
            submit: async (event) => {
              event.preventDefault();
              try {
                const r = await put<{ value?: unknown; applies?: string; live?: boolean }>(
                  `/api/v1/config/${seg(k.key)}`,
                  { value: input.value, ...(accept?.checked ? { acceptUnenforced: true } : {}) },
                );
                const live = r?.applies ? r.applies === 'live' : (r?.live ?? k.applies === 'live');
                const note = `${k.key} = ${value(r?.value ?? input.value)}: ${live ? 'applied now' : 'takes effect after a restart'}.`;
                message.className = 'status ok';
                text(message, note);
                status.ok(`${k.key} changed.`);
                await refresh(k, card, note);
              } catch (err) {
                message.className = 'status error';
                text(message, (err as Error).message);
                input.setAttribute('aria-invalid', 'true');
                input.focus();
              }
            },
          },
        },
        field(`New value for ${k.key}`, input),
        accept
          ? h(
              'div',
              { class: 'field check' },
              accept,
              h(
                'label',
                { attrs: { for: accept.id } },
                'Store it although this version ignores it',
              ),
            )
          : null,
        h(
          'div',
          { class: 'actions' },
          h('button', { class: 'btn primary', attrs: { type: 'submit' } }, 'Save'),
        ),
        k.source && k.source.kind !== 'default'
          ? button('Back to default', async () => {
              try {
                await del(`/api/v1/config/${seg(k.key)}`);
                status.ok(`${k.key} is back to its file or default value.`);
                await refresh(k, card, `${k.key} is back to its file or default value.`);
              } catch (err) {
                message.className = 'status error';
                text(message, (err as Error).message);
              }
            })
          : null,
        message,
      );
      const enforced = k.status.state === 'enforced';
      const card = h(
        'section',
        { class: 'card key', attrs: { 'aria-labelledby': headingId, 'data-key': k.key } },
        h('h2', { id: headingId }, h('code', null, k.key)),
        k.help ? h('p', { class: 'help' }, k.help) : null,
        h(
          'dl',
          { class: 'facts' },
          h('dt', null, 'Value'),
          current,
          h('dt', null, 'Default'),
          h('dd', null, k.secret || k.default === undefined ? '(secret)' : value(k.default)),
          h('dt', null, 'Source'),
          h('dd', null, sourceText(k)),
          h('dt', null, 'Applies'),
          h('dd', null, k.applies === 'live' ? 'live (at once)' : 'after a restart'),
          k.pending !== undefined ? h('dt', null, 'Pending') : null,
          k.pending !== undefined ? h('dd', null, `${value(k.pending)} after the restart`) : null,
          h('dt', null, 'Status'),
          h(
            'dd',
            { class: enforced ? 'enforced' : k.status.state },
            k.status.state === 'enforced'
              ? 'enforced'
              : k.status.state === 'fixed'
                ? `fixed: ${k.status.reason} (only the default is accepted)`
                : `not enforced by this version (issue #${k.status.issue})`,
          ),
        ),
        form,
      );
      return card;
    };

    const reload = async () => {
      try {
        keys = listing<ConfigKey>(await get('/api/v1/config'), 'keys').items;
        show();
      } catch (err) {
        status.error(`The configuration could not be loaded: ${(err as Error).message}`);
      }
    };
    search.addEventListener('input', debounce(show, 150));
    onlyChanged.addEventListener('change', show);
    replace(
      main,
      h('h1', null, 'Configuration'),
      searchForm(
        () => show(),
        field('Find a key', search),
        h(
          'div',
          { class: 'field check' },
          onlyChanged,
          h('label', { attrs: { for: onlyChanged.id } }, 'Only changed keys'),
        ),
      ),
      status.element,
      list,
    );
    void reload();
    return undefined;
  },
};

function sourceText(k: ConfigKey): string {
  const s = k.source;
  if (!s) return '—';
  if (s.kind === 'file') return `file ${s.path ?? ''}${s.line ? ` line ${s.line}` : ''}`;
  if (s.kind === 'console')
    return `set from the console, UI or API${s.setAt ? ` at ${new Date(s.setAt).toLocaleString()}` : ''}`;
  return s.kind;
}

/** A select for enums and booleans, a text box otherwise (lists: comma separated). */
function editorFor(k: ConfigKey): HTMLInputElement | HTMLSelectElement {
  const current = k.secret ? '' : value(k.value).replace(/^\((none|empty)\)$/, '');
  if (k.values || typeof k.default === 'boolean') {
    const options = k.values ?? { true: 'on', false: 'off' };
    const select = h(
      'select',
      { attrs: { name: k.key } },
      ...Object.entries(options).map(([code, meaning]) =>
        h(
          'option',
          { attrs: { value: code, selected: String(k.value) === code } },
          `${code}: ${meaning}`,
        ),
      ),
    );
    return select;
  }
  return h('input', {
    attrs: {
      name: k.key,
      value: current,
      maxlength: 4096,
      autocomplete: 'off',
      type: k.secret ? 'password' : 'text',
    },
  });
}
