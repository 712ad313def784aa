// Console output for people. `--json` carries the full structure; these turn the same data
// into lines an operator reads at a glance, whatever its nesting:
//
//   sip:                              ← an array of listeners, one line each
//     udp  127.0.0.1:5060
//     tls  127.0.0.1:5061
//   dataplane:                        ← a nested object, indented
//     mode: xdp
//     interfaces:
//       veth0  mode=xdp attached=true ← a flat object in a list: its name, then key=value
//   restartPending: none
//
// Nothing prints as "[object Object]": every object, at any depth, is walked.

export function iso(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

/** A scalar or a list of scalars on one line. */
export function formatValue(value: unknown): string {
  if (Array.isArray(value)) return value.length === 0 ? 'none' : value.map(formatValue).join(', ');
  if (value === null || value === undefined || value === '') return 'none';
  if (typeof value === 'object') return inline(value as Record<string, unknown>);
  return String(value);
}

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

/** Nested objects as indented "key: value" lines, lists of objects one item per line. */
export function renderObject(data: Record<string, unknown>, indent = ''): string {
  return Object.entries(data)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => renderEntry(key, value, indent))
    .join('\n');
}

const MAX_DEPTH = 8;

function renderEntry(key: string, value: unknown, indent: string): string {
  const deeper = `${indent}  `;
  if (isObject(value)) {
    if (Object.keys(value).length === 0) return `${indent}${key}: none`;
    if (indent.length / 2 >= MAX_DEPTH) return `${indent}${key}: ${inline(value)}`;
    return `${indent}${key}:\n${renderObject(value, deeper)}`;
  }
  if (Array.isArray(value) && value.some(isObject)) {
    // Labels padded to one width, so the fields of a list line up in columns.
    const width = Math.max(0, ...value.map((v) => (isObject(v) ? labelOf(v).label.length : 0)));
    const items = value.map((item) => renderItem(item, deeper, width));
    return `${indent}${key}:\n${items.join('\n')}`;
  }
  return `${indent}${key}: ${formatValue(value)}`;
}

function renderItem(item: unknown, indent: string, labelWidth = 0): string {
  if (!isObject(item)) return `${indent}${formatValue(item)}`;
  const flat = Object.values(item).every((v) => !isObject(v) && !Array.isArray(v));
  if (flat || indent.length / 2 >= MAX_DEPTH) return `${indent}${inline(item, labelWidth)}`;
  // A nested item: its label on the first line, the rest indented below.
  const { label, rest } = labelOf(item);
  const body = renderObject(rest, `${indent}  `);
  return label ? `${indent}${label}\n${body}` : `${indent}-\n${body}`;
}

/**
 * One object on one line: a listener as "udp  127.0.0.1:5060", an interface by its name,
 * then the remaining fields as key=value.
 */
function inline(item: Record<string, unknown>, labelWidth = 0): string {
  const { label: bare, rest } = labelOf(item);
  const label = bare.padEnd(labelWidth);
  const fields = Object.entries(rest)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.map(formatValue).join(',') : formatValue(v)}`);
  return [label, ...fields]
    .filter((f) => f.trim() !== '')
    .join('  ')
    .trimEnd();
}

const NAME_FIELDS = ['name', 'ifname', 'interface', 'id', 'key'];

function labelOf(item: Record<string, unknown>): {
  label: string;
  rest: Record<string, unknown>;
} {
  const rest = { ...item };
  const { transport, port } = item;
  const hostField = ['address', 'ip', 'host'].find((f) => typeof item[f] === 'string');
  if (hostField && (typeof port === 'number' || typeof port === 'string')) {
    const address = item[hostField] as string;
    delete rest[hostField];
    delete rest.port;
    const host = address.includes(':') ? `[${address}]` : address;
    let label = `${host}:${port}`;
    if (typeof transport === 'string') {
      delete rest.transport;
      label = `${transport.padEnd(4)} ${label}`;
    }
    return { label, rest };
  }
  for (const field of NAME_FIELDS) {
    const v = item[field];
    if (typeof v === 'string' || typeof v === 'number') {
      delete rest[field];
      return { label: String(v), rest };
    }
  }
  return { label: '', rest };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
