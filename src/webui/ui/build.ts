// Builds the browser side of the web UI (src/webui/ui/browser) into dist/ui with esbuild: one bundle
// per entry (admin.js, portal.js), plus the HTML shells, the stylesheet and the icon copied as
// they are. Run by scripts/bootstrap.sh (so `npm start` serves built files; there is no dev
// server at run time) and by the browser tests before they start a daemon:
//
//   node src/webui/ui/build.ts            → dist/ui/{admin,portal}.{html,js}, style.css, …
//
// The daemon never imports this file: esbuild is a build tool, not a run-time dependency.
import { copyFileSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { PACKAGE_ROOT } from '../../paths.ts';

export const UI_SOURCE = join(PACKAGE_ROOT, 'src', 'webui', 'ui', 'browser');
export const UI_OUT = join(PACKAGE_ROOT, 'dist', 'ui');

const ENTRIES = { admin: 'admin/main.ts', portal: 'portal/main.ts' };
const COPIED = /\.(html|css|svg)$/;

export async function buildUi(outDir = UI_OUT): Promise<string[]> {
  mkdirSync(outDir, { recursive: true });
  const result = await build({
    entryPoints: Object.fromEntries(
      Object.entries(ENTRIES).map(([name, path]) => [name, join(UI_SOURCE, path)]),
    ),
    outdir: outDir,
    bundle: true,
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    minify: true,
    sourcemap: 'linked',
    legalComments: 'none',
    logLevel: 'warning',
    metafile: true,
  });
  const copied = readdirSync(UI_SOURCE).filter(
    (f) => COPIED.test(f) && statSync(join(UI_SOURCE, f)).isFile(),
  );
  for (const file of copied) copyFileSync(join(UI_SOURCE, file), join(outDir, file));
  return [...Object.keys(result.metafile.outputs), ...copied];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const files = await buildUi(process.argv[2] ?? UI_OUT);
  process.stderr.write(`web UI built: ${files.length} files in ${process.argv[2] ?? UI_OUT}\n`);
}
