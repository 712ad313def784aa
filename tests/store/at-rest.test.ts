// Secrets at rest (issue 16 §5), as an operator would check them: the real daemon started on
// a data directory someone left world-readable, then a password change, then every byte of
// every file under the data directory searched for the old secrets.
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { computeHa1, DIGEST_ALGORITHMS } from '../../src/crypto/digest.ts';
import { Store } from '../../src/store/store.ts';
import { startDaemon, testConfig } from '../helpers/daemon.ts';
import { tempDir } from '../helpers/tmp.ts';

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

/** Each needle as text, and each hex needle also as the raw bytes it spells. */
function found(dir: string, needles: string[]): string[] {
  const hits: string[] = [];
  for (const file of filesUnder(dir)) {
    const bytes = readFileSync(file);
    for (const needle of needles) {
      const forms = [Buffer.from(needle)];
      if (/^[0-9a-f]{32,}$/.test(needle)) forms.push(Buffer.from(needle, 'hex'));
      if (forms.some((f) => bytes.includes(f))) hits.push(`${file}: ${needle.slice(0, 12)}…`);
    }
  }
  return hits;
}

async function until(ok: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const OLD = 'Old-Secret-Passw0rd-41';
const NEW = 'New-Secret-Passw0rd-97';

test('a 0755 data directory with a 0644 file becomes 0700/0600 at start, with a warning', async (t) => {
  const dataDir = join(tempDir(t), 'data');
  mkdirSync(dataDir, { mode: 0o755 });
  chmodSync(dataDir, 0o755);
  const notes = join(dataDir, 'notes.txt');
  writeFileSync(notes, 'left here by hand\n', { mode: 0o644 });
  chmodSync(notes, 0o644);
  const configFile = await testConfig(dataDir);
  chmodSync(configFile, 0o644);

  const daemon = await startDaemon(t, { dataDir, configFile });
  t.is(statSync(dataDir).mode & 0o777, 0o700);
  const files = filesUnder(dataDir);
  t.true(files.length >= 4, files.join(', ')); // notes, config, store, lock, key, ...
  for (const file of files) t.is(statSync(file).mode & 0o777, 0o600, file);
  // One warning per fix (the log is written asynchronously: wait for it, 10 s at most).
  const fixed = (name: string) => new RegExp(`"path":"[^"]*${name}"[^\n]*mode was too open, fixed`);
  for (const name of ['data', 'notes\\.txt', 'tollgate\\.conf'])
    await until(() => fixed(name).test(daemon.log()), `a warning for ${name}`);
  t.pass();
  t.is(await daemon.stop(), 0);
});

test('after a password change neither the old HA1 nor the old password is in any file', async (t) => {
  const daemon = await startDaemon(t);
  const added = await daemon.ctl('users', 'add', 'alice', '--password', OLD, '--json');
  t.is(added.code, 0, added.stderr);
  const realm = (JSON.parse(added.stdout) as { realm: string }).realm;
  const oldHa1s = DIGEST_ALGORITHMS.map((a) => computeHa1(a, 'alice', realm, OLD));
  const newHa1s = DIGEST_ALGORITHMS.map((a) => computeHa1(a, 'alice', realm, NEW));

  const changed = await daemon.ctl('users', 'set', 'alice', 'password', NEW);
  t.is(changed.code, 0, changed.stderr);
  // Acknowledged: the files as they are now, with the daemon still running...
  t.deepEqual(found(daemon.dataDir, [OLD, ...oldHa1s]), []);
  // ...and the store holds nothing in clear at all, current secrets included.
  t.deepEqual(found(daemon.dataDir, [NEW, ...newHa1s]), []);
  t.is(await daemon.stop(), 0);
  t.deepEqual(found(daemon.dataDir, [OLD, ...oldHa1s]), []);

  // The data is still there for whoever holds the key: the new HA1 is what is stored.
  const store = Store.open(daemon.dataDir);
  t.teardown(() => store.close());
  t.is(store.tables.users.get('alice')?.secrets['ha1:MD5'], newHa1s[0]);
});
