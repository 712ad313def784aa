// The console's `config` commands: get (value, default, where it comes from, whether tollgate
// enforces it), set, unset, list [--changed] and keys. Rendered as text for people and as
// data for --json; `config get KEY --json` gives {key, value, source, …} (DESIGN contract).

import { CONFIG_KEYS, USER_FIELDS } from '../../config/schema.ts';
import type { KeyDescription, Settings, ValueSource } from '../../config/settings.ts';
import type { Command } from './grammar.ts';
import { formatValue } from './render.ts';

type ConfigCommand = Extract<
  Command,
  { name: 'config-get' | 'config-set' | 'config-unset' | 'config-list' | 'config-keys' }
>;

export interface ConfigReply {
  exit: 0;
  text: string;
  data: unknown;
}

/** "default", "file /etc/tollgate.conf line 12", "console 2026-12-06T05:10:00Z". */
export function describeSource(source: ValueSource): string {
  switch (source.kind) {
    case 'default':
      return 'default';
    case 'file':
      return `file ${source.path}${source.line ? ` line ${source.line}` : ''}`;
    case 'console':
      return `console${source.setAt ? ` ${new Date(source.setAt).toISOString()}` : ''}`;
  }
}

function statusText(d: Pick<KeyDescription, 'status'>): string {
  switch (d.status.state) {
    case 'enforced':
      return 'enforced';
    case 'fixed':
      return `fixed: ${d.status.reason}`;
    case 'not-enforced':
      return `NOT ENFORCED (issue #${d.status.issue})`;
  }
}

/** "312 enforced, 6 fixed (…), 0 not enforced": what `config keys` ends with. */
function statusCounts(data: ReadonlyArray<Pick<KeyDescription, 'status'>>): string {
  const count = (state: KeyDescription['status']['state']) =>
    data.filter((k) => k.status.state === state).length;
  const open = count('not-enforced');
  return [
    `${data.length} keys: ${count('enforced')} enforced`,
    `${count('fixed')} fixed (tollgate has no such feature: only the safe value is accepted)`,
    `${open} not enforced${open > 0 ? ' (setting one to anything but its default is refused unless --accept-unenforced)' : ''}`,
  ].join(', ');
}

function describeLines(d: KeyDescription, help: string): string {
  const lines = [
    `${d.key} = ${formatValue(d.value)}`,
    `  source:  ${describeSource(d.source)}`,
    `  default: ${d.default === undefined ? '(secret)' : formatValue(d.default)}`,
    `  applies: ${d.applies === 'live' ? 'at once' : 'after a restart'}`,
    `  status:  ${statusText(d)}`,
  ];
  if (d.pending !== undefined)
    lines.push(`  pending: ${formatValue(d.pending)} (set since start; restart to apply)`);
  if (d.hiddenFileValue !== undefined)
    lines.push(
      `  hides:   the file's value ${formatValue(d.hiddenFileValue)} ("config unset ${d.key}" returns to it)`,
    );
  lines.push(`  ${help}`);
  return lines.join('\n');
}

export function runConfigCommand(command: ConfigCommand, settings: Settings): ConfigReply {
  switch (command.name) {
    case 'config-get': {
      const d = settings.describe(command.key);
      return { exit: 0, text: describeLines(d, settings.spec(d.key).help), data: d };
    }
    case 'config-set': {
      const result = settings.set(command.key, command.value, {
        acceptUnenforced: command.acceptUnenforced,
      });
      const spec = settings.spec(result.key);
      const when = result.live ? 'applied now' : 'takes effect after restart';
      const warning =
        spec.status.state === 'not-enforced'
          ? `\nwarning: ${result.key} is NOT ENFORCED by this version (issue #${spec.status.issue}); it has no effect`
          : '';
      return {
        exit: 0,
        text: `${result.key} = ${formatValue(result.value)} (${when})${warning}`,
        data: { ...result, applies: result.live ? 'live' : 'restart' },
      };
    }
    case 'config-unset': {
      const result = settings.unset(command.key);
      const d = settings.describe(result.key);
      const when = result.live ? 'applied now' : 'takes effect after restart';
      return {
        exit: 0,
        text: `${result.key} = ${formatValue(result.value)} from ${describeSource(d.source)} (${when})`,
        data: { ...result, source: d.source },
      };
    }
    case 'config-list': {
      if (command.changed) {
        const changed = settings.changed();
        const text =
          changed.length === 0
            ? 'every key has its default value'
            : changed
                .map((d) => `${d.key} = ${formatValue(d.value)}  (${describeSource(d.source)})`)
                .join('\n');
        return { exit: 0, text, data: changed };
      }
      const data = settings.snapshot();
      const text = Object.entries(data)
        .map(([k, v]) => `${k} = ${formatValue(v)}`)
        .join('\n');
      return { exit: 0, text, data };
    }
    case 'config-keys': {
      const keys = CONFIG_KEYS.map((spec) => {
        const d = settings.describe(spec.name);
        return {
          key: d.key,
          scope: 'global' as const,
          value: d.value,
          default: d.default,
          applies: d.applies,
          source: d.source,
          status: d.status,
        };
      });
      const fields = USER_FIELDS.map((spec) => ({
        key: spec.name,
        scope: 'user' as const,
        default: spec.default,
        applies: 'live' as const,
        status: spec.status,
      }));
      const data = [...keys, ...fields];
      const width = Math.max(...data.map((k) => k.key.length));
      const text = [
        `${'key'.padEnd(width)}  scope   applies  status`,
        ...data.map(
          (k) =>
            `${k.key.padEnd(width)}  ${k.scope.padEnd(6)}  ${k.applies.padEnd(7)}  ${statusText(k)}`,
        ),
        '',
        statusCounts(data),
      ].join('\n');
      return { exit: 0, text, data };
    }
  }
}
