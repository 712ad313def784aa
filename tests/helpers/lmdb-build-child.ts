// Child process for tests/store/lmdb-build.test.ts: opens the store in argv[2] with whichever
// native build LMDB_PREBUILD selects, reads the record argv[3] if given, writes argv[4] if
// given, and prints which build it ran and the native file it loaded, as JSON.
import { readFileSync } from 'node:fs';
import { lmdbBuild } from '../../src/store/lmdb.ts';
import { Store } from '../../src/store/store.ts';

const [dir, read, write] = process.argv.slice(2);
const store = Store.open(dir!);
const found = read ? store.tables.meta.get(read) : undefined;
if (write) store.durable(() => store.tables.meta.put(write, `written by ${lmdbBuild}`));
const loaded = readFileSync('/proc/self/maps', 'utf8')
  .split('\n')
  .map((line) => line.split(/\s+/).at(-1) ?? '')
  .find((file) => /lmdb.*\.node$/.test(file));
await store.close();
process.stdout.write(`${JSON.stringify({ build: lmdbBuild, loaded, found })}\n`);
