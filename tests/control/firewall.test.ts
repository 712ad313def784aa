import { Writable } from 'node:stream';
import test from 'ava';
import { Settings } from '../../src/config/settings.ts';
import { StaticFirewall, staticRules } from '../../src/control/firewall.ts';
import { OffDataplane } from '../../src/dataplane/off.ts';
import { createLogger } from '../../src/log.ts';
import { Store } from '../../src/store/store.ts';
import { tempDir } from '../helpers/tmp.ts';

/** Records the CIDR calls; the kernel side is tested in tests/dataplane. */
class CidrRecorder extends OffDataplane {
  readonly rules = new Map<string, string>();
  override async allowCidr(cidr: string) {
    this.rules.set(cidr, 'allow');
  }
  override async denyCidr(cidr: string) {
    this.rules.set(cidr, 'deny');
  }
  override async removeCidr(cidr: string) {
    this.rules.delete(cidr);
  }
}

function setup(t: import('ava').ExecutionContext, config: Record<string, unknown> = {}) {
  const log = createLogger({ destination: new Writable({ write: (_c, _e, done) => done() }) });
  const store = Store.open(tempDir(t));
  t.teardown(() => store.close());
  const settings = new Settings(store, config, log);
  const dataplane = new CidrRecorder('test');
  return { settings, dataplane, firewall: new StaticFirewall(settings, dataplane, log) };
}

test('deny rules and trustedip allow rules reach the dataplane and follow live changes', async (t) => {
  const { settings, dataplane, firewall } = setup(t, {
    firewalldeny: '192.0.2.0/24',
    trustedip: '198.51.100.7',
  });
  await firewall.apply();
  t.deepEqual(Object.fromEntries(dataplane.rules), {
    '192.0.2.0/24': 'deny',
    '198.51.100.7': 'allow',
  });

  settings.set('firewalldeny', '192.0.2.0/24,2001:db8::/32');
  await firewall.apply();
  t.is(dataplane.rules.get('2001:db8::/32'), 'deny');

  settings.set('trustedip', '');
  await firewall.apply();
  t.false(dataplane.rules.has('198.51.100.7'));
});

test('enablefirewall 0 takes every static rule out; allowtrustedip limits what is allowed', async (t) => {
  const { settings, dataplane, firewall } = setup(t, {
    firewalldeny: '192.0.2.0/24',
    trustedip: '10.1.0.0/16,203.0.113.9',
  });
  await firewall.apply();
  t.is(dataplane.rules.size, 3);
  settings.set('allowtrustedip', 2);
  await firewall.apply();
  t.deepEqual(Object.fromEntries(dataplane.rules), {
    '192.0.2.0/24': 'deny',
    '10.1.0.0/16': 'allow',
  });
  settings.set('enablefirewall', 0);
  await firewall.apply();
  t.is(dataplane.rules.size, 0);
  t.deepEqual(staticRules(settings), { allow: [], deny: [] });
});

test('a rule listed both ways is allowed, as the kernel would decide', async (t) => {
  const { dataplane, firewall } = setup(t, {
    firewalldeny: '10.9.0.0/16',
    trustedip: '10.9.0.0/16',
  });
  await firewall.apply();
  t.is(dataplane.rules.get('10.9.0.0/16'), 'allow');
});

test('a bad CIDR is refused by the schema and nothing changes', async (t) => {
  const { settings, dataplane, firewall } = setup(t, { firewalldeny: '192.0.2.0/24' });
  await firewall.apply();
  t.throws(() => settings.set('firewalldeny', '192.0.2.0/33'), { message: /firewalldeny/ });
  await firewall.apply();
  t.deepEqual([...dataplane.rules.keys()], ['192.0.2.0/24']);
});
