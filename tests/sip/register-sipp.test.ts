// Registration with a real SIP client (SIPp) against the running daemon, over UDP, TCP and
// TLS: digest challenge and answer, wrong password refused and reported, re-register,
// unregister, and bindings that survive a daemon restart.
import test from 'ava';
import { freePort, startDaemon, testConfig } from '../helpers/daemon.ts';
import { runSipp } from '../helpers/sipp.ts';
import { tlsRelay } from '../helpers/tls-relay.ts';
import { tempDir } from '../helpers/tmp.ts';

const USERS = [
  { user: 'alice', password: 'Wonder-land-42' },
  { user: 'bob', password: 'Build-it-77x' },
];

async function appliance(t: import('ava').ExecutionContext) {
  const dataDir = tempDir(t);
  const sipport = await freePort();
  const sipsport = await freePort();
  const configFile = await testConfig(dataDir, { sipport, sipsport });
  const d = await startDaemon(t, { dataDir, configFile });
  for (const u of USERS) {
    const added = await d.ctl('users', 'add', u.user, '--password', u.password);
    t.is(added.code, 0, added.stderr);
  }
  return { d, dataDir, configFile, sipport, sipsport };
}

const registrations = async (d: { ctl(...a: string[]): Promise<{ stdout: string }> }) =>
  JSON.parse((await d.ctl('status', '--json')).stdout).registrations as number;

for (const transport of ['udp', 'tcp', 'tls'] as const) {
  test(`SIPp registers with digest auth over ${transport.toUpperCase()}`, async (t) => {
    const { d, sipport, sipsport } = await appliance(t);
    // TLS goes through tlsRelay (SIPp here has no TLS): SIPp speaks TCP to it.
    const port =
      transport === 'tls' ? await tlsRelay(t, { ip: '127.0.0.1', port: sipsport }) : sipport;
    for (const account of USERS) {
      const r = await runSipp(t, {
        scenario: 'register.xml',
        target: { ip: '127.0.0.1', port },
        transport: transport === 'tls' ? 'tcp' : transport,
        account,
      });
      t.is(r.exitCode, 0, r.output);
      t.is(r.successful, 1, r.output);
      t.is(r.failed, 0);
    }
    t.is(await registrations(d), 2);
    t.is(await d.stop(), 0);
  });
}

test('a wrong password is refused with 403 and reported with user and source', async (t) => {
  const { d, sipport } = await appliance(t);
  const r = await runSipp(t, {
    scenario: 'register.xml',
    target: { ip: '127.0.0.1', port: sipport },
    transport: 'udp',
    account: { user: 'alice', password: 'not-her-password' },
    rewrite: (xml) => xml.replace('<recv response="200"/>', '<recv response="403"/>'),
  });
  t.is(r.exitCode, 0, r.output);
  t.is(r.successful, 1);
  t.is(await registrations(d), 0);
  const line = d
    .log()
    .split('\n')
    .find((l) => l.includes('SIP auth-fail'));
  t.truthy(line, 'the failure is reported');
  t.like(JSON.parse(line!), { ip: '127.0.0.1', user: 'alice', detail: 'wrong-password' });
  t.false(d.log().includes('not-her-password'), 'the password is never logged');
  t.is(await d.stop(), 0);
});

test('re-register, unregister, and bindings survive a restart', async (t) => {
  const { d, dataDir, configFile, sipport } = await appliance(t);
  const target = { ip: '127.0.0.1', port: sipport };
  const reg = async (expires: number, rewrite?: (xml: string) => string) => {
    let successful = 0;
    for (const account of USERS) {
      const r = await runSipp(t, {
        scenario: 'register.xml',
        target,
        transport: 'udp',
        account,
        expires,
        ...(rewrite ? { rewrite } : {}),
      });
      successful += r.successful;
    }
    return successful;
  };
  t.is(await reg(600), 2);
  t.is(await reg(600), 2, 're-registering');
  // Each SIPp run binds a fresh local port, so a re-register usually adds a contact.
  const before = await registrations(d);
  t.true(before >= 2);
  t.is(await d.stop(), 0);

  const again = await startDaemon(t, { dataDir, configFile });
  t.is(await registrations(again), before, 'bindings were reloaded from the store');
  const star = (xml: string) =>
    xml.replaceAll(
      'Contact: <sip:[field0]@[local_ip]:[local_port];transport=[transport]>',
      'Contact: *',
    );
  t.is(await reg(0, star), 2);
  t.is(await registrations(again), 0, 'Contact: * with Expires: 0 removed every binding');
  t.is(await again.stop(), 0);
});
