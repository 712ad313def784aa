// The data directory holds the store (account secrets, bans), its key and the console socket:
// only the daemon's user may read any of it. At every start the directory is made 0700 and
// everything in it 0600 (directories 0700); each fix is returned so the daemon can warn,
// because a loosened mode means someone changed it, or an old version created it so.
//
// Symbolic links are neither followed nor changed (chmod follows a link: a link planted in
// the directory would otherwise make the daemon change the mode of any file it points to).
// The walk is bounded: the directory holds a handful of files, a million means something else
// is wrong and is not worth a slow start.
import { chmodSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface PermissionFix {
  path: string;
  /** Octal text, e.g. "755". */
  from: string;
  to: string;
}

export const DIR_MODE = 0o700;
export const FILE_MODE = 0o600;
const MAX_ENTRIES = 10_000;
const MAX_DEPTH = 4;

/** Creates `dir` if needed and tightens it; returns what had to be fixed. */
export function secureDataDir(dir: string): PermissionFix[] {
  mkdirSync(dir, { recursive: true, mode: DIR_MODE });
  const fixes: PermissionFix[] = [];
  const budget = { left: MAX_ENTRIES };
  tighten(dir, DIR_MODE, fixes);
  walk(dir, 0, fixes, budget);
  return fixes;
}

function walk(dir: string, depth: number, fixes: PermissionFix[], budget: { left: number }): void {
  if (depth >= MAX_DEPTH) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (--budget.left < 0) return;
    const path = join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    // The appliance's installer gives the data directory a partition of its own, whose
    // lost+found belongs to the file system (root's, 0700): the daemon's user can neither
    // list nor change it, and it holds no tollgate state.
    if (depth === 0 && entry.name === 'lost+found') continue;
    if (entry.isDirectory()) {
      tighten(path, DIR_MODE, fixes);
      walk(path, depth + 1, fixes, budget);
    } else {
      tighten(path, FILE_MODE, fixes);
    }
  }
}

function tighten(path: string, mode: number, fixes: PermissionFix[]): void {
  let current: number;
  try {
    const stat = lstatSync(path);
    if (stat.isSymbolicLink()) return;
    current = stat.mode & 0o7777;
  } catch {
    return; // gone meanwhile (a lock or temporary file)
  }
  if (current === mode) return;
  chmodSync(path, mode);
  fixes.push({ path, from: current.toString(8), to: mode.toString(8) });
}
