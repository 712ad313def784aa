// What the shipped unit file says, read the way systemd reads it (key=value lines, later
// lines of a list key add to it), so tests run the daemon with exactly its capabilities.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '../..');
export const UNIT = join(ROOT, 'systemd/tollgate.service');

export function unitValues(key: string, file = UNIT): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith(`${key}=`))
    .flatMap((line) => line.slice(key.length + 1).split(/\s+/))
    .filter(Boolean);
}

/** CAP_NET_ADMIN → net_admin, as setpriv(1) spells capabilities. */
export function setprivCaps(caps: readonly string[]): string {
  return ['-all', ...caps.map((c) => `+${c.replace(/^CAP_/, '').toLowerCase()}`)].join(',');
}
