// The web UI's browser bundle as built by src/webui/ui/build.ts: what the strict CSP and the
// "no external requests" rule need of it, checked on the files the daemon would serve.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { buildUi, UI_SOURCE } from '../../src/webui/ui/build.ts';
import { tempDir } from '../helpers/tmp.ts';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : [join(dir, e.name)],
  );
}

test('the build gives both pages, their bundles and the stylesheet', async (t) => {
  const out = tempDir(t);
  await buildUi(out);
  const files = readdirSync(out);
  for (const f of [
    'admin.html',
    'admin.js',
    'portal.html',
    'portal.js',
    'style.css',
    'favicon.svg',
  ])
    t.true(files.includes(f), `${f} built`);
});

test('the pages load scripts from files only: no inline script, no handler attribute, no inline style', async (t) => {
  const out = tempDir(t);
  await buildUi(out);
  for (const page of ['admin.html', 'portal.html']) {
    const html = readFileSync(join(out, page), 'utf8');
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    t.true(scripts.length > 0, `${page} has its script`);
    for (const [, attrs, body] of scripts) {
      t.regex(attrs!, /src="\/ui\/[a-z]+\.js"/, `${page}: a script from /ui/`);
      t.is(body!.trim(), '', `${page}: nothing inline`);
    }
    t.notRegex(html, /\son[a-z]+=/i, `${page}: no event handler attribute`);
    t.notRegex(html, /\sstyle=/i, `${page}: no inline style`);
  }
});

test('nothing served points elsewhere: every URL in the built files is local', async (t) => {
  const out = tempDir(t);
  await buildUi(out);
  for (const file of readdirSync(out).filter((f) => !f.endsWith('.map'))) {
    const text = readFileSync(join(out, file), 'utf8')
      // An SVG's namespace is a name, not a request.
      .replaceAll('http://www.w3.org/2000/svg', '');
    t.notRegex(
      text,
      /https?:\/\/|\/\/[a-z0-9.-]+\.[a-z]{2,}\//i,
      `${file} names no remote address`,
    );
    t.notRegex(text, /@import|url\(\s*['"]?(https?:)?\/\//i, `${file} loads nothing remote`);
  }
});

test('the UI never parses markup from data: no innerHTML, outerHTML, insertAdjacentHTML, document.write or eval', (t) => {
  const files = sources(UI_SOURCE).filter((f) => f.endsWith('.ts'));
  t.true(files.length > 5);
  for (const file of files) {
    const code = readFileSync(file, 'utf8');
    t.notRegex(
      code,
      /\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write|\beval\(|new Function\(/,
      file,
    );
  }
});
