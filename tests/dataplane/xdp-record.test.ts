// The record of the XDP programs a data directory's daemons attached (xdp-record.ts): what a
// restart may take over. It must never match after a reboot (ids start again), survive a
// garbled file, stay bounded through a crash loop, and be written the way the daemon's other
// files are (0600).
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { uptime } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { RECORD_FILE, XdpRecord } from '../../src/dataplane/xdp-record.ts';
import { tempDir } from '../helpers/tmp.ts';

test('a recorded id is there for the next open, 0600, and gone after remove', (t) => {
  const dir = tempDir(t);
  t.false(XdpRecord.open(dir).has(42), 'nothing recorded yet');
  XdpRecord.open(dir).add(42);
  const again = XdpRecord.open(dir);
  t.true(again.has(42));
  t.false(again.has(43));
  t.is(statSync(join(dir, RECORD_FILE)).mode & 0o777, 0o600);
  again.remove(42);
  t.false(XdpRecord.open(dir).has(42));
});

test("an earlier boot's record matches nothing: ids start again at every boot", (t) => {
  const dir = tempDir(t);
  const bootedAt = Date.now() / 1000 - uptime();
  // The same machine, booted an hour earlier than this boot: a previous boot.
  writeFileSync(
    join(dir, RECORD_FILE),
    JSON.stringify({ bootedAt: bootedAt - 3600, programs: [7, 8] }),
  );
  t.false(XdpRecord.open(dir).has(7));
  // This boot (a second of clock reading apart): it matches.
  writeFileSync(join(dir, RECORD_FILE), JSON.stringify({ bootedAt: bootedAt + 1, programs: [7] }));
  t.true(XdpRecord.open(dir).has(7));
});

test('a garbled, oversized or hostile record reads as empty, and is bounded', (t) => {
  const dir = tempDir(t);
  const file = join(dir, RECORD_FILE);
  const bootedAt = Date.now() / 1000 - uptime();
  for (const text of [
    'not json',
    '{"bootedAt":"x","programs":[1]}',
    JSON.stringify({ bootedAt, programs: 1 }),
    JSON.stringify({ bootedAt, programs: [1], pad: 'x'.repeat(5000) }),
  ]) {
    writeFileSync(file, text);
    t.false(XdpRecord.open(dir).has(1), text.slice(0, 40));
  }
  writeFileSync(file, JSON.stringify({ bootedAt, programs: [-1, 0, 1.5, 2 ** 40, 'x', 9] }));
  const r = XdpRecord.open(dir);
  t.false(r.has(0) || r.has(-1) || r.has(2 ** 40));
  t.true(r.has(9));
  // A crash loop: each restart adds its id; only the latest eight are kept.
  for (let id = 100; id < 120; id++) XdpRecord.open(dir).add(id);
  const kept = (JSON.parse(readFileSync(file, 'utf8')) as { programs: number[] }).programs;
  t.deepEqual(kept, [112, 113, 114, 115, 116, 117, 118, 119]);
});
