// The store runs on the optimized build of lmdb-js's native part that the bootstrap makes
// (scripts/build-lmdb.sh: the published binary is unoptimized, and an encrypted store's page
// cipher is most of the CPU of a CDR write), and the two builds read each other's stores: a
// store written before the upgrade opens after it, and the published binary (the fallback when
// the build is missing) opens a store the optimized build wrote.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { tempDir } from '../helpers/tmp.ts';

const ROOT = join(import.meta.dirname, '../..');
const CHILD = join(import.meta.dirname, '../helpers/lmdb-build-child.ts');
const OPTIMIZED = join(ROOT, 'dist/lmdb/build/Release/lmdb.node');

interface ChildRun {
  build: string;
  loaded?: string;
  found?: string;
}

/** Runs the child on `dir`; `published` forces lmdb-js's own binary (LMDB_PREBUILD at its package). */
function child(dir: string, published: boolean, read = '', write = ''): ChildRun {
  const env = { ...process.env };
  delete env.LMDB_PREBUILD;
  if (published) env.LMDB_PREBUILD = join(ROOT, 'node_modules/lmdb');
  const out = execFileSync(process.execPath, [CHILD, dir, read, write], { env, encoding: 'utf8' });
  return JSON.parse(out) as ChildRun;
}

test('the store loads the optimized native build the bootstrap made', (t) => {
  t.true(existsSync(OPTIMIZED), 'scripts/bootstrap.sh built dist/lmdb (scripts/build-lmdb.sh)');
  const run = child(tempDir(t), false);
  t.is(run.build, 'optimized');
  t.is(run.loaded, OPTIMIZED);
});

test('a store written by the published binary opens with the optimized build, and the other way round', (t) => {
  const dir = tempDir(t);
  const before = child(dir, true, '', 'old');
  t.is(before.build, 'environment');
  t.regex(before.loaded ?? '', /node_modules\/@lmdb\/lmdb-linux-x64\//);
  const after = child(dir, false, 'old', 'new');
  t.is(after.loaded, OPTIMIZED);
  t.is(after.found, 'written by environment', 'the record the published binary wrote');
  const back = child(dir, true, 'new');
  t.is(back.found, 'written by optimized', 'the record the optimized build wrote');
});
