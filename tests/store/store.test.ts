import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import test from 'ava';
import { createLogger } from '../../src/log.ts';
import { open } from '../../src/store/lmdb.ts';
import { Store } from '../../src/store/store.ts';
import { tempDir } from '../helpers/tmp.ts';

test('data survives close and reopen, in every table', async (t) => {
  const dir = tempDir(t);
  const store = Store.open(dir);
  t.is(store.schemaVersion, Store.codeSchemaVersion);
  store.durable(() => {
    store.tables.bans.put('10.0.0.1', {
      ip: '10.0.0.1',
      reason: 'test',
      origin: 'manual',
      createdAt: 1,
      expiresAt: 0,
    });
    store.tables.config.put('maxcallperip', 7);
    store.tables.cdrs.put('1:abc', {
      callId: 'abc',
      account: 'alice',
      dialled: '123',
      destination: 'trunk',
      sourceIp: '10.0.0.2',
      startedAt: 1,
      endedAt: 3,
      durationSeconds: 2,
      billedSeconds: 60,
      status: 200,
      disconnectSide: 'caller',
      reason: 'BYE',
      refused: false,
      costMicros: 1_500_000,
    });
  });
  await store.close();

  const again = Store.open(dir);
  t.teardown(() => again.close());
  t.is(again.tables.bans.get('10.0.0.1')?.reason, 'test');
  t.is(again.tables.config.get('maxcallperip'), 7);
  t.is(again.tables.cdrs.get('1:abc')?.costMicros, 1_500_000);
});

test('kill -9 during writes leaves the last committed state readable and consistent', async (t) => {
  const dir = tempDir(t);
  const node = process.execPath;
  const child = spawn(node, [join(import.meta.dirname, '../helpers/store-writer.ts'), dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // Once it is well into its loop of large transactions (a few commits after the first),
  // kill it without warning.
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (/committed ([3-9]|\d\d+)\n/.test(out)) resolve();
    });
    child.on('exit', (code) => reject(new Error(`writer exited early with ${code}`)));
  });
  const exited = new Promise((r) => child.on('exit', r));
  child.kill('SIGKILL');
  await exited;

  const store = Store.open(dir);
  t.teardown(() => store.close());
  const a = store.tables.meta.get('a') as number;
  const b = store.tables.meta.get('b') as number;
  t.true(a >= 1, 'the first commit is there');
  t.is(a, b, 'no half-written transaction is visible');
});

test('a store from a newer schema is refused with a clear error and left untouched', async (t) => {
  const dir = tempDir(t);
  const store = Store.open(dir);
  store.durable(() => store.tables.meta.put('schemaVersion', Store.codeSchemaVersion + 5));
  store.durable(() => store.tables.config.put('autoban', 2));
  await store.close();

  const err = t.throws(() => Store.open(dir));
  t.is((err as { code?: string }).code, 'TG_STORE_NEWER_SCHEMA');
  t.regex(err!.message, /newer than this tollgate understands/);
  t.regex(err!.message, new RegExp(`schema version ${Store.codeSchemaVersion + 5}`));
});

test('an unwritable data directory gives a clear error, not a crash', (t) => {
  const dir = tempDir(t);
  const ro = join(dir, 'ro');
  mkdirSync(ro);
  // Root ignores file modes, so use a read-only mount to make the directory truly unwritable.
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', ro]);
  t.teardown(() => execFileSync('umount', ['-l', ro]));
  const err = t.throws(() => Store.open(join(ro, 'data')));
  t.is((err as { code?: string }).code, 'TG_STORE_UNWRITABLE');
  t.regex(err!.message, /is not writable/);
});

test('a full disk gives TG_STORE_FULL and keeps what was committed', async (t) => {
  const dir = tempDir(t);
  const small = join(dir, 'small');
  mkdirSync(small);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', small]);
  t.teardown(() => execFileSync('umount', ['-l', small]));
  const store = Store.open(small, { mapSize: 64 * 1024 ** 2 });
  store.durable(() => store.tables.config.put('minpwdlength', 12));
  const big = 'y'.repeat(256 * 1024);
  const err = await t.throwsAsync(async () => {
    for (let i = 0; i < 64; i++) store.durable(() => store.tables.cdrs.put(`k${i}`, big as never));
  });
  t.is((err as { code?: string }).code, 'TG_STORE_FULL');
  t.is(store.tables.config.get('minpwdlength'), 12);
  store.closeSync();
});

/** An unencrypted store as versions before encryption at rest left it (data.mdb, lock.mdb). */
async function plaintextStore(dir: string, secret: string): Promise<void> {
  const root = open({ path: dir, maxDbs: 16, mapSize: 64 * 1024 ** 2 });
  const meta = root.openDB({ name: 'meta' });
  const users = root.openDB({ name: 'users' });
  root.transactionSync(() => {
    meta.putSync('schemaVersion', Store.codeSchemaVersion);
    meta.putSync('nextUserId', 2);
    users.putSync('alice', {
      name: 'alice',
      id: 1,
      fields: {},
      secrets: { realm: 'r', 'ha1:MD5': secret },
      createdAt: 1,
    });
  });
  await root.close();
}

function sink(lines: string[]): Writable {
  return new Writable({
    write(chunk, _e, done) {
      lines.push(chunk.toString());
      done();
    },
  });
}

function holds(dir: string, needle: string): string[] {
  return readdirSync(dir)
    .filter((f) => readFileSync(join(dir, f)).includes(needle))
    .map((f) => f);
}

test('an unencrypted store is converted once: data kept, plaintext overwritten and removed', async (t) => {
  const dir = tempDir(t);
  const secret = 'c0ffee00plaintextha1deadbeef0123';
  await plaintextStore(dir, secret);
  t.deepEqual(holds(dir, secret), ['data.mdb'], 'the old store holds the secret in clear');

  const lines: string[] = [];
  const log = createLogger({ destination: sink(lines) });
  const store = Store.open(dir, { log });
  t.is(store.tables.users.get('alice')?.secrets['ha1:MD5'], secret);
  t.is(store.tables.meta.get('nextUserId'), 2);
  await store.close();
  t.false(existsSync(join(dir, 'data.mdb')));
  t.false(existsSync(join(dir, 'lock.mdb')));
  t.deepEqual(holds(dir, secret), []);
  t.regex(lines.join(''), /converted the unencrypted store/);

  const again = Store.open(dir);
  t.teardown(() => again.close());
  t.is(again.tables.users.get('alice')?.id, 1, 'the converted store opens as itself');
});

test('an interrupted conversion is finished or redone at the next start', async (t) => {
  // Crash before the rename: a half-made copy lies beside the old store.
  const dir = tempDir(t);
  await plaintextStore(dir, 'aaaa1111aaaa1111aaaa1111aaaa1111');
  writeFileSync(join(dir, 'store.mdb.converting'), 'half a copy');
  const store = Store.open(dir);
  t.is(store.tables.users.get('alice')?.secrets['ha1:MD5'], 'aaaa1111aaaa1111aaaa1111aaaa1111');
  await store.close();
  t.false(existsSync(join(dir, 'store.mdb.converting')));

  // Crash after the rename: the plaintext file is still there beside the converted store.
  // The converted store wins; the plaintext is only erased.
  const left = 'bbbb2222bbbb2222bbbb2222bbbb2222';
  await plaintextStore(dir, left);
  const after = Store.open(dir);
  t.teardown(() => after.close());
  t.is(after.tables.users.get('alice')?.secrets['ha1:MD5'], 'aaaa1111aaaa1111aaaa1111aaaa1111');
  t.false(existsSync(join(dir, 'data.mdb')));
  t.deepEqual(holds(dir, left), []);
});

test('the key: made 0600 in the data directory, or read from a systemd credential', async (t) => {
  const dir = tempDir(t);
  const store = Store.open(dir);
  await store.close();
  t.is(statSync(join(dir, 'store.key')).mode & 0o777, 0o600);
  t.regex(readFileSync(join(dir, 'store.key'), 'utf8'), /^[0-9a-f]{64}\n$/);

  // With a credential, no key file is made beside the data.
  const creds = tempDir(t);
  writeFileSync(join(creds, 'tollgate-store-key'), randomBytes(32));
  const other = join(tempDir(t), 'data');
  const env = { CREDENTIALS_DIRECTORY: creds };
  const withCredential = Store.open(other, { env });
  withCredential.durable(() => withCredential.tables.config.put('autoban', 2));
  await withCredential.close();
  t.false(existsSync(join(other, 'store.key')));
  const reopened = Store.open(other, { env });
  t.is(reopened.tables.config.get('autoban'), 2);
  await reopened.close();

  // Without it the store cannot be opened, and a new key is not made over it.
  const missing = t.throws(() => Store.open(other, { env: {} }));
  t.is((missing as { code?: string }).code, 'TG_STORE_KEY_MISSING');
  t.false(existsSync(join(other, 'store.key')));

  // A different key is refused by its id before LMDB reads a page with it.
  writeFileSync(join(creds, 'tollgate-store-key'), randomBytes(32).toString('hex'));
  const wrong = t.throws(() => Store.open(other, { env }));
  t.is((wrong as { code?: string }).code, 'TG_STORE_KEY_MISMATCH');

  writeFileSync(join(creds, 'tollgate-store-key'), 'short');
  const bad = t.throws(() => Store.open(other, { env }));
  t.is((bad as { code?: string }).code, 'TG_STORE_KEY_BAD');
});
