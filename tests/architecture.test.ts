// The import graph keeps the layers one-way (DESIGN.md "Dependencies point one way"):
//
//   base (config, store, crypto, policy-port, log, errors, ip…) ← dataplane
//   base ← sip ──► policy-port ◄── control ──► dataplane/types.ts
//          sip/media ──► dataplane/types.ts (the relay programs the kernel's relay legs)
//   daemon.ts and cli/ (the composition root) know everyone.
//
// Every relative import of every file under src/ is checked; a failure names the file, the
// import and the rule it breaks.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import test from 'ava';

const SRC = resolve(import.meta.dirname, '..', 'src');

type Layer = 'base' | 'dataplane' | 'sip' | 'control' | 'webui' | 'root';

const BASE_FILES = new Set([
  'policy-port.ts',
  'log.ts',
  'log-limit.ts',
  'errors.ts',
  'ip.ts',
  'paths.ts',
  'random.ts',
]);
const BASE_DIRS = ['config', 'store', 'crypto'];

function layerOf(file: string): Layer {
  const rel = relative(SRC, file);
  const top = rel.split('/')[0]!;
  if (BASE_FILES.has(rel) || BASE_DIRS.includes(top)) return 'base';
  if (top === 'dataplane' || top === 'sip' || top === 'control' || top === 'webui') return top;
  if (rel === 'daemon.ts' || top === 'cli') return 'root';
  throw new Error(`${rel} belongs to no layer: add it to tests/architecture.test.ts`);
}

/** What each layer may import besides itself (a file path relative to src/ or a layer). */
const ALLOWED: Record<Layer, (target: string, layer: Layer) => boolean> = {
  base: (_t, layer) => layer === 'base',
  dataplane: (_t, layer) => layer === 'base',
  sip: (t, layer) => layer === 'base' || t === 'dataplane/types.ts',
  control: (t, layer) => layer === 'base' || t === 'dataplane/types.ts',
  webui: (t, layer) => layer === 'base' || layer === 'control' || t === 'dataplane/types.ts',
  root: () => true,
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

const IMPORT =
  /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'(\.[^']+)'|import\(\s*'(\.[^']+)'\s*\)/g;

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(IMPORT)].map((m) => resolve(dirname(file), (m[1] ?? m[2])!));
}

test('every import points down or sideways, never up (one-way layers)', (t) => {
  const files = sources(SRC);
  t.true(files.length > 50, 'found the sources');
  const broken: string[] = [];
  for (const file of files) {
    const from = layerOf(file);
    for (const target of importsOf(file)) {
      const to = layerOf(target);
      if (to === from || ALLOWED[from](relative(SRC, target), to)) continue;
      broken.push(`${relative(SRC, file)} (${from}) imports ${relative(SRC, target)} (${to})`);
    }
  }
  t.deepEqual(broken, [], broken.join('\n'));
});

test('the checker sees the imports it must judge (single and multi-line, type-only)', (t) => {
  const proxy = importsOf(join(SRC, 'sip', 'proxy', 'admission.ts')).map((f) => relative(SRC, f));
  t.true(proxy.includes('policy-port.ts'), proxy.join(', '));
  t.true(
    proxy.some((f) => f.startsWith('sip/message/')),
    'a multi-line import is seen',
  );
  t.is(layerOf(join(SRC, 'sip', 'service.ts')), 'sip');
  t.is(layerOf(join(SRC, 'config', 'settings.ts')), 'base');
});
