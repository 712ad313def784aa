// The .deb as `npm run deb` builds it: what it installs where, with which modes, what it
// depends on, and maintainer scripts that parse. (Installing it into a running system is what
// the image build does: image/build.sh installs it into the image's root file system.)
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { tempDir } from '../helpers/tmp.ts';
import { ROOT } from './unit.ts';

test('npm run deb: the program, its own Node and production modules, the units and the SSH console', (t) => {
  const out = tempDir(t);
  const built = execFileSync('bash', [join(ROOT, 'pkg/build-deb.sh')], {
    env: { ...process.env, DEB_OUT: out, DEB_COMPRESSION: 'none' },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const deb = built.trim().split('\n').at(-1)!;
  t.regex(deb, /tollgate_\d+\.\d+\.\d+_amd64\.deb$/);
  t.regex(readFileSync(`${deb}.sha256`, 'utf8'), /^[0-9a-f]{64} {2}tollgate_/);

  const listing = execFileSync('dpkg-deb', ['-c', deb], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  const entry = (path: string) =>
    listing.split('\n').find((l) => l.endsWith(` ./${path}`) || l.includes(` ./${path} -> `));
  for (const path of [
    'usr/lib/tollgate/dist/cli/tollgate.js',
    'usr/lib/tollgate/dist/cli/tollgatectl.js',
    'usr/lib/tollgate/bpf/tollgate.bpf.o',
    'usr/lib/tollgate/node_modules/node/bin/node',
    'usr/lib/tollgate/node_modules/lmdb/package.json',
    // lmdb-js's native part built optimized (scripts/build-lmdb.sh), which the store loads.
    'usr/lib/tollgate/dist/lmdb/build/Release/lmdb.node',
    'usr/lib/tollgate/node_modules/fastify/package.json',
    'lib/systemd/system/tollgate.service',
    'lib/systemd/system/tollgate-sshfeed.service',
    'etc/ssh/sshd_config.d/tollgate-console.conf',
  ])
    t.truthy(entry(path), `${path} is in the package`);
  t.regex(entry('usr/bin/tollgatectl') ?? '', /-> \.\.\/lib\/tollgate\/bin\/tollgatectl$/);
  t.regex(entry('usr/lib/tollgate/libexec/tollgate-console') ?? '', /^-rwxr-xr-x root\/root/);
  t.regex(entry('etc/sudoers.d/tollgate-console') ?? '', /^-r--r----- root\/root/);
  // Production dependencies only: no test runner, compiler or linter; no source maps.
  for (const dev of ['ava', 'typescript', '@biomejs', 'fast-check', 'playwright-core'])
    t.falsy(entry(`usr/lib/tollgate/node_modules/${dev}/package.json`), `${dev} is not shipped`);
  t.false(/tollgate\/dist\/.*\.js\.map$/m.test(listing));
  // Reproducible: every file carries SOURCE_DATE_EPOCH, owners are root.
  t.false(/^\S+ (?!root\/root)/m.test(listing.trim()), 'every file is root/root');

  const info = execFileSync('dpkg-deb', ['-I', deb], { encoding: 'utf8' });
  t.regex(info, /Depends: .*libbpf1.*nftables.*sudo/);
  // The daemon runs openssl to make its CA and certificate at its first start.
  t.regex(info, /Depends: .*\bopenssl\b/);
  t.regex(info, /Architecture: amd64/);
  const control = tempDir(t);
  execFileSync('dpkg-deb', ['-e', deb, control]);
  for (const script of ['preinst', 'postinst', 'prerm', 'postrm'])
    execFileSync('sh', ['-n', join(control, script)]);
  t.deepEqual(readFileSync(join(control, 'conffiles'), 'utf8').trim().split('\n'), [
    '/etc/ssh/sshd_config.d/tollgate-console.conf',
    '/etc/sudoers.d/tollgate-console',
  ]);
  const postinst = readFileSync(join(control, 'postinst'), 'utf8');
  t.regex(postinst, /adduser --system --group --home \/var\/lib\/tollgate/);
  t.regex(postinst, /\/etc\/tollgate\/credentials\/tollgate-store-key/);
  t.regex(
    readFileSync(join(control, 'preinst'), 'utf8'),
    /tollgatectl --data \/var\/lib\/tollgate backup/,
  );
});
