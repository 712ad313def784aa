// The kernel guard's policy is computed from the config: what each key changes in the budgets
// the XDP program enforces (tests/dataplane/xdp-*.test.ts show the program obeying them).
import test from 'ava';
import { Settings } from '../../src/config/settings.ts';
import { guardConfigFrom } from '../../src/control/kernel-policy.ts';
import { createLogger } from '../../src/log.ts';
import { Store } from '../../src/store/store.ts';
import { tempDir } from '../helpers/tmp.ts';

function policy(t: import('ava').ExecutionContext, config: Record<string, unknown>) {
  const store = Store.open(tempDir(t));
  t.teardown(() => store.close());
  return guardConfigFrom(new Settings(store, config, createLogger({ level: 'silent' })));
}

test('unknownsourcekbps is the shared budget of unknown sources, capped by maxnetworkspeed', (t) => {
  t.is(policy(t, {}).maxNetworkSpeedKbps, 8000, 'default unknownsourcekbps');
  t.is(policy(t, { unknownsourcekbps: 2000 }).maxNetworkSpeedKbps, 2000);
  t.is(
    policy(t, { unknownsourcekbps: 50_000, maxnetworkspeed: 3000 }).maxNetworkSpeedKbps,
    3000,
    'maxnetworkspeed caps it',
  );
  t.is(policy(t, { enablefirewall: 3 }).maxNetworkSpeedKbps, 0, 'below level 4 there is none');
});

test('the per-source budget follows maxsubsmsgcount over maxsubsmsgperiod', (t) => {
  const base = policy(t, { maxsubsmsgcount: 39_000, maxsubsmsgperiod: 180 });
  t.is(base.sourceRatePps, Math.ceil((2 * 39_000) / 180));
  t.is(policy(t, { maxsubsmsgcount: 9000, maxsubsmsgperiod: 60 }).sourceRatePps, 300);
  t.is(policy(t, { enablefirewall: 2 }).sourceRatePps, 0, 'no kernel budgets below level 3');
});
