// The guard wired to the real BanService (LMDB store + the `off` dataplane that records what
// it is asked): one stored ban with its evidence per trip, adopted again after a restart,
// lifted by delbanned.
import test from 'ava';
import { BanService } from '../../../src/control/bans.ts';
import { Guard } from '../../../src/control/guard/guard.ts';
import { OffDataplane } from '../../../src/dataplane/off.ts';
import { ATTACKER, setup } from './setup.ts';

class RecordingDataplane extends OffDataplane {
  readonly asked: string[] = [];
  override async ban(ip: string, ttlSeconds: number): Promise<void> {
    this.asked.push(ip);
    return super.ban(ip, ttlSeconds);
  }
}

test('a guard ban is stored once with its evidence, survives a restart and is lifted by delbanned', async (t) => {
  const g = setup(t, { fastauthsubswrongusermsg: 0, maxsubsipauthrequest: 0 });
  const dataplane = new RecordingDataplane('test');
  const asked = dataplane.asked;
  const bans = new BanService(g.store, dataplane, g.log, () => g.clock.now);
  const pending: Promise<unknown>[] = [];
  const guard = new Guard({
    settings: g.settings,
    now: () => g.clock.now,
    load: () => 0,
    capacity: 1024,
    ban: (ip, ttlSeconds, reason, evidence) => {
      const p = bans.ban(ip, { ttlSeconds, reason, origin: 'auto', evidence: { ...evidence } });
      pending.push(p);
      return p;
    },
  });
  t.teardown(() => guard.close());
  // svcrack-style: one extension, many passwords, a new source port per attempt.
  for (let i = 0; i < 1000; i++)
    guard.observe({
      kind: 'auth-fail',
      ip: ATTACKER,
      port: 30_000 + i,
      user: '100',
      method: 'REGISTER',
    });
  await Promise.all(pending);
  t.deepEqual(asked, [ATTACKER], 'the kernel was asked once');
  const stored = bans.get(ATTACKER)!;
  t.is(stored.origin, 'auto');
  t.is(stored.evidence?.rule, 'maxfailedauthenabledip');
  t.is(stored.evidence?.count, 800);
  t.is(stored.expiresAt - stored.createdAt, 6 * 3600 * 1000);

  // Restart: a new guard adopts the stored bans.
  const restarted = new Guard({
    settings: g.settings,
    now: () => g.clock.now,
    ban: () => t.fail(),
  });
  t.teardown(() => restarted.close());
  restarted.adoptBans(bans.list());
  t.false(restarted.allow(ATTACKER, 5060));

  // delbanned,IP: the store/kernel copy and the guard's own.
  await bans.unban(ATTACKER);
  restarted.forget(ATTACKER);
  t.true(restarted.allow(ATTACKER, 5060));
  t.is(bans.get(ATTACKER), undefined);
  t.false(dataplane.banned.has(ATTACKER));
});
