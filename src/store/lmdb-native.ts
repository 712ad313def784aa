// Points lmdb-js at the optimized build of its native part (scripts/build-lmdb.sh, run by the
// bootstrap: dist/lmdb) before lmdb-js loads it: the published linux-x64 binary is compiled
// without optimization, and its ChaCha8 page cipher is most of the CPU an encrypted store
// spends writing (see the script). Imported only by lmdb.ts, first.
//
// lmdb-js reads LMDB_PREBUILD when its module is evaluated (node-gyp-build-optional-packages:
// `<dir>/build/Release/*.node`). The build is used only when its stamp names the installed
// lmdb version (a build of other sources could disagree with the JavaScript side); otherwise
// the published binary is: the same store format, slower.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// src/store/ and dist/store/ both sit two levels below the project (or /usr/lib/tollgate).
const root = fileURLToPath(new URL('../../', import.meta.url));
const built = `${root}dist/lmdb`;

function installedVersion(): string | undefined {
  try {
    return (
      JSON.parse(readFileSync(`${root}node_modules/lmdb/package.json`, 'utf8')) as {
        version?: string;
      }
    ).version;
  } catch {
    return undefined;
  }
}

function builtVersion(): string | undefined {
  try {
    if (!existsSync(`${built}/build/Release/lmdb.node`)) return undefined;
    return readFileSync(`${built}/STAMP`, 'utf8').split(' ')[0];
  } catch {
    return undefined;
  }
}

function builtPatches(): string[] {
  try {
    return readFileSync(`${built}/PATCHES`, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

/** 'optimized' when lmdb-js loads dist/lmdb, 'published' when it loads its own binary. */
export let lmdbBuild: 'optimized' | 'published' | 'environment' = 'published';

/**
 * The fixes of scripts/lmdb-patches the loaded build carries (none for the published binary
 * or one named by LMDB_PREBUILD): limits.ts sizes transactions by them.
 */
export let lmdbPatches: readonly string[] = [];

if (process.env.LMDB_PREBUILD) lmdbBuild = 'environment';
else {
  const want = installedVersion();
  if (want !== undefined && builtVersion() === want) {
    process.env.LMDB_PREBUILD = built;
    lmdbBuild = 'optimized';
    lmdbPatches = builtPatches();
  }
}
