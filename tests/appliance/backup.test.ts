// tollgatectl backup / restore as an operator uses them: a hot backup while another process
// commits, a restore that brings back exactly what was saved, and the refusals that keep
// the store safe (daemon running, wrong key, damaged file). A schema migration backs up first.
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { readBackup } from '../../src/store/snapshot.ts';
import { Store, TABLE_NAMES } from '../../src/store/store.ts';
import { startDaemon, TOLLGATECTL } from '../helpers/daemon.ts';
import { tempDir } from '../helpers/tmp.ts';

const WRITER = join(import.meta.dirname, '../helpers/store-writer.ts');
/** The tests run where /etc/tollgate/credentials may exist: point the key lookup elsewhere. */
const ENV = { ...process.env, TOLLGATE_CREDENTIALS: '/nonexistent' };

function ctl(dataDir: string, ...args: string[]) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [TOLLGATECTL, '--data', dataDir, ...args], { env: ENV });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function dump(dir: string): Record<string, unknown[]> {
  const store = Store.open(dir);
  try {
    const out: Record<string, unknown[]> = {};
    for (const name of TABLE_NAMES)
      out[name] = [...store.tables[name].getRange()].map(({ key, value }) => [key, value]);
    return out;
  } finally {
    store.closeSync();
  }
}

test('a backup taken while another process commits is one consistent, encrypted snapshot', async (t) => {
  const dir = tempDir(t);
  const writer = spawn(process.execPath, [WRITER, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => writer.kill('SIGKILL'));
  let out = '';
  // Wait for real commits (not a sleep): the backup must overlap the writing.
  await new Promise<void>((resolve) =>
    writer.stdout.on('data', (c) => {
      out += c;
      if (/committed 5\n/.test(out)) resolve();
    }),
  );
  const file = join(tempDir(t), 'hot.tgbak');
  const made = await ctl(dir, 'backup', file, '--json');
  const before = Number(/committed (\d+)\n$/.exec(out)?.[1] ?? 0);
  t.is(made.code, 0, made.stderr);
  const header = JSON.parse(made.stdout) as { records: number; keyId: string };
  // Still writing after the backup: it did not stop the writer.
  await new Promise<void>((resolve) =>
    writer.stdout.on('data', (c) => {
      out += c;
      if (Number(/committed (\d+)\n$/.exec(out)?.[1] ?? 0) > before + 2) resolve();
    }),
  );
  writer.kill('SIGKILL');
  t.true(header.records > 0);
  // Encrypted: the writer's padding (200 kB of "x") is nowhere in the file in clear.
  t.false(readFileSync(file).includes(Buffer.from('x'.repeat(64))), 'no record in clear');

  const restored = tempDir(t);
  copyFileSync(join(dir, 'store.key'), join(restored, 'store.key'));
  const back = await ctl(restored, 'restore', file);
  t.is(back.code, 0, back.stderr);
  t.regex(back.stdout, /restored from .*hot\.tgbak: \d+ records/);
  const meta = Object.fromEntries(dump(restored).meta as Array<[string, unknown]>);
  // The writer commits a and b together: a snapshot has them equal, whatever instant it is.
  t.is(meta.a, meta.b, `a=${meta.a} b=${meta.b}`);
  t.true(Number(meta.a) >= 5);
});

test('restore brings back exactly the backed-up accounts and bans; refused while the daemon runs', async (t) => {
  const d = await startDaemon(t);
  t.is((await d.ctl('users', 'add', 'alice', '--password', 'Kx81-Qz-Backup-Wv47')).code, 0);
  t.is((await d.ctl('ban', '203.0.113.7', '--reason', 'backup test')).code, 0);
  const file = join(tempDir(t), 'daemon.tgbak');
  const made = await ctl(d.dataDir, 'backup', file);
  t.is(made.code, 0, made.stderr);
  t.regex(made.stdout, /encrypted with the store key [0-9a-f]{16} \(not in the file/);
  // After the backup: another account, the ban lifted.
  t.is((await d.ctl('users', 'add', 'bob', '--password', 'Lm29-Tr-Backup-Hp53')).code, 0);
  t.is((await d.ctl('unban', '203.0.113.7')).code, 0);

  const refused = await ctl(d.dataDir, 'restore', file);
  t.is(refused.code, 1);
  t.regex(refused.stderr, /the daemon is running .*stop it first/);
  t.is(await d.stop(), 0);
  const saved = dump(d.dataDir);

  const restored = await ctl(d.dataDir, 'restore', file);
  t.is(restored.code, 0, restored.stderr);
  t.true(existsSync(join(d.dataDir, 'store.mdb.before-restore')), 'the replaced store is kept');
  const again = await startDaemon(t, { dataDir: d.dataDir, configFile: d.configFile });
  const users = (await again.ctl('users', 'list', '--json')).stdout;
  t.regex(users, /"alice"/);
  t.notRegex(users, /"bob"/);
  const bans = JSON.parse((await again.ctl('bans', '--json')).stdout) as Array<{ ip: string }>;
  t.true(
    bans.some((b) => b.ip === '203.0.113.7'),
    JSON.stringify(bans),
  );
  await again.stop();
  // Every table as saved, record for record (the store before restore held bob and no ban).
  const now = dump(d.dataDir);
  t.notDeepEqual(now.users, saved.users);
  t.deepEqual(
    (now.users as Array<[string]>).map(([k]) => k),
    ['alice'],
  );
});

test('a backup made with another key, or damaged, is refused and the store is left as it was', async (t) => {
  const dir = tempDir(t);
  Store.open(dir).closeSync();
  const file = join(tempDir(t), 'one.tgbak');
  t.is((await ctl(dir, 'backup', file)).code, 0);
  t.is((await ctl(dir, 'backup', file)).code, 1, 'an existing file is never overwritten');

  const other = tempDir(t);
  Store.open(other).closeSync();
  const before = readFileSync(join(other, 'store.mdb'));
  const wrongKey = await ctl(other, 'restore', file);
  t.is(wrongKey.code, 1);
  t.regex(wrongKey.stderr, /was made with the store key [0-9a-f]{16}, not this one/);
  t.deepEqual(readFileSync(join(other, 'store.mdb')), before);

  const damaged = join(tempDir(t), 'damaged.tgbak');
  const bytes = readFileSync(file);
  bytes[bytes.length - 100]! ^= 0xff;
  writeFileSync(damaged, bytes);
  const bad = await ctl(dir, 'restore', damaged);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /checksum mismatch: the file is damaged/);
  const usage = await ctl(dir, 'restore');
  t.is(usage.code, 2);
});

test('a schema migration at start takes a backup of the store as it was first', (t) => {
  const dir = tempDir(t);
  const store = Store.open(dir);
  // As an older version left it: schema 1.
  store.durable(() => store.tables.meta.putSync('schemaVersion', 1));
  store.closeSync();
  const log: string[] = [];
  const logger = { warn: (_o: unknown, msg: string) => log.push(msg) };
  const reopened = Store.open(dir, { log: logger as never });
  t.is(reopened.schemaVersion, Store.codeSchemaVersion);
  reopened.closeSync();
  const files = readdirSync(join(dir, 'backups'));
  t.is(files.length, 1, files.join(', '));
  t.regex(files[0]!, /^pre-migration-v1-to-v\d+-\d+\.tgbak$/);
  t.is(readBackup(join(dir, 'backups', files[0]!)).header.schemaVersion, 1);
  t.true(log.includes('store schema migration: backup taken first'));
  // A new, empty store is not "migrated" from anything: no backup.
  const fresh = tempDir(t);
  Store.open(fresh).closeSync();
  t.false(existsSync(join(fresh, 'backups')));
});
