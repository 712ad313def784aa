// The data directory's tightening (src/store/permissions.ts) on a directory that is a
// partition of its own, as the appliance's installer makes it: its lost+found is the file
// system's, left alone (the daemon's user cannot list it: walking into it stopped the start).
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { secureDataDir } from '../../src/store/permissions.ts';
import { tempDir } from '../helpers/tmp.ts';

test("a data directory with its file system's lost+found: that one is left as it is, the rest tightened", (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'lost+found'));
  chmodSync(join(dir, 'lost+found'), 0o755);
  writeFileSync(join(dir, 'store.key'), 'x', { mode: 0o644 });
  secureDataDir(dir);
  t.is(statSync(join(dir, 'lost+found')).mode & 0o777, 0o755, 'not walked into, not changed');
  t.is(statSync(join(dir, 'store.key')).mode & 0o777, 0o600);
});
