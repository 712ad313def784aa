import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
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
      user: 'alice',
      from: 'alice',
      to: '123',
      startedAt: 1,
      durationMs: 2,
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
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('committed')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`writer exited early with ${code}`)));
  });
  // Let it get into its loop of large transactions, then kill it without warning.
  await new Promise((r) => setTimeout(r, 300));
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
