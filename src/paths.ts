// Where tollgate keeps its state. Both `tollgate serve` and `tollgatectl` resolve these the
// same way: --data DIR, else $TOLLGATE_DATA, else ./var in a source checkout (a .git next to
// package.json) or /var/lib/tollgate on the appliance.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: src/ or dist/ sits right below it. */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export function resolveDataDir(flag?: string): string {
  if (flag) return resolve(flag);
  const fromEnv = process.env.TOLLGATE_DATA;
  if (fromEnv) return resolve(fromEnv);
  return existsSync(join(PACKAGE_ROOT, '.git')) ? join(PACKAGE_ROOT, 'var') : '/var/lib/tollgate';
}

export function resolveSocketPath(dataDir: string, flag?: string): string {
  return flag ? resolve(flag) : join(dataDir, 'tollgate.sock');
}

/** --config FILE, else $TOLLGATE_CONFIG, else tollgate.conf in the data directory (optional). */
export function resolveConfigFile(dataDir: string, flag?: string): string {
  if (flag) return resolve(flag);
  const fromEnv = process.env.TOLLGATE_CONFIG;
  if (fromEnv) return resolve(fromEnv);
  return join(dataDir, 'tollgate.conf');
}
