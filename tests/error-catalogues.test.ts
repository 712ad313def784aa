// Every area's catalogue of coded errors, loaded together in one process: a code defined
// twice anywhere throws at load (src/errors.ts), so this test fails on any clash.
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import test from 'ava';
import { registeredErrorCodes } from '../src/errors.ts';

const SRC = join(import.meta.dirname, '..', 'src');

function catalogues(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return catalogues(path);
    return /(^|-)errors\.ts$/.test(entry.name) ? [path] : [];
  });
}

test('every catalogue loads alongside the others: no code is defined twice', async (t) => {
  const files = catalogues(SRC);
  t.true(files.length >= 8, `found ${files.map((f) => relative(SRC, f)).join(', ')}`);
  for (const file of files) await import(file);
  const codes = registeredErrorCodes();
  const areas = new Set(codes.values());
  t.true(areas.size >= files.length - 1, 'one area per catalogue (the shared base has none)');
  for (const [code, area] of codes) {
    t.regex(code, /^TG_[A-Z0-9]+(_[A-Z0-9]+)+$/, `${code} (${area})`);
  }
});

test('the codes of one area share its prefix, so a code tells where it came from', async (t) => {
  for (const file of catalogues(SRC)) await import(file);
  const prefixesByArea = new Map<string, Set<string>>();
  for (const [code, area] of registeredErrorCodes()) {
    if (area.startsWith('test-')) continue;
    const prefix = code.split('_')[1]!;
    const set = prefixesByArea.get(area) ?? new Set();
    set.add(prefix);
    prefixesByArea.set(area, set);
  }
  for (const [area, prefixes] of prefixesByArea) {
    // control groups its store, console, ban, user and daemon codes under one catalogue.
    if (area === 'control') continue;
    t.is(prefixes.size, 1, `${area}: ${[...prefixes].join(', ')}`);
  }
});
