// The audit against a real daemon on a hardened configuration: kernel dataplane on (in its own
// namespace), a certificate of the operator's own, the data directory closed to others, every
// checklist setting tollgate enforces as the reference recommends. `tollgatectl audit` exits 0.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import test from 'ava';
import { startDaemon, testConfig } from '../helpers/daemon.ts';
import { HARDENED } from '../helpers/hardened.ts';
import { createLink } from '../helpers/netns.ts';
import { tempDir } from '../helpers/tmp.ts';

test('audit on a hardened configuration exits 0 with no finding', async (t) => {
  const link = await createLink(t);
  const dataDir = tempDir(t);
  const certDir = tempDir(t);
  const cert = join(certDir, 'cert.pem');
  const key = join(certDir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '30',
      '-subj',
      '/CN=sip.example.test',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  // Inside its own namespace the daemon can have HARDENED's ports (5080/5081) to itself.
  const configFile = await testConfig(dataDir, {
    ...HARDENED,
    sipaddress: link.b.v4,
    dataplanemode: 'auto',
    tlscertfile: cert,
    tlskeyfile: key,
  });
  const d = await startDaemon(t, { dataDir, configFile, netns: link.b.ns });
  const out = await d.ctl('audit', '--json');
  const report = JSON.parse(out.stdout) as { findings: Array<{ id: string; title: string }> };
  t.deepEqual(
    report.findings.map((f) => `${f.id}: ${f.title}`),
    [],
  );
  t.is(out.code, 0);
  const text = await d.ctl('audit');
  t.regex(text.stdout, /audit: no findings/);
  t.is(await d.stop(), 0);
});
