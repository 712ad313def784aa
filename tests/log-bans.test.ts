// Every ban that ends is logged: lifted by an operator (IP bans and the guard's IP:port
// bans alike) or expired; a mass lift or expiry names the first ones and counts the rest.
import { Writable } from 'node:stream';
import test, { type ExecutionContext } from 'ava';
import { Settings } from '../src/config/settings.ts';
import { BanService } from '../src/control/bans.ts';
import { createGuard, PortBans } from '../src/control/guard-wiring.ts';
import { OffDataplane } from '../src/dataplane/off.ts';
import { createLogger } from '../src/log.ts';
import { Store } from '../src/store/store.ts';
import { tempDir } from './helpers/tmp.ts';

function setup(t: ExecutionContext) {
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger({
    level: 'debug',
    destination: new Writable({
      write: (chunk, _e, done) => {
        for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    }),
  });
  const store = Store.open(tempDir(t));
  t.teardown(() => store.close());
  let now = 1_800_000_000_000;
  const clock = { now: () => now, advance: (ms: number) => (now += ms) };
  const settings = new Settings(store, {}, log);
  const bans = new BanService(store, new OffDataplane('test'), log, clock.now);
  const { guard, portBans } = createGuard(settings, bans, log);
  t.teardown(() => guard.close());
  const portBan = (ip: string, port: number) =>
    portBans.record({
      ip,
      port,
      reason: 'maxfailedauthenabledipport',
      evidence: {},
      createdAt: Date.now(),
      expiresAt: Date.now() + 600_000,
    });
  const said = (msg: string) => lines.filter((l) => l.msg === msg);
  return { bans, portBans, portBan, said, clock };
}

test('lifting an IP:port ban logs the address and port', (t) => {
  const { portBans, portBan, said } = setup(t);
  portBan('198.51.100.7', 5062);
  portBan('198.51.100.7', 5070);
  portBan('198.51.100.8', 5060);
  t.is(portBans.lift('198.51.100.7'), 2);
  t.deepEqual(
    said('address:port ban lifted').map((l) => `${l.ip}:${l.port}`),
    ['198.51.100.7:5062', '198.51.100.7:5070'],
  );
  t.is(portBans.lift('all'), 1);
  t.like(said('address:port ban lifted').at(-1), { ip: '198.51.100.8', port: 5060 });
  t.is(portBans.lift('198.51.100.7'), 0, 'nothing left: nothing logged');
  t.is(said('address:port ban lifted').length, 3);
});

test('lifting thousands of IP:port bans names the first hundred and counts the rest', (t) => {
  const { portBans, portBan, said } = setup(t);
  for (let i = 0; i < 250; i++) portBan(`10.9.${i >> 8}.${i & 255}`, 5060);
  t.is(portBans.lift('all'), 250);
  t.is(said('address:port ban lifted').length, PortBans.LOGGED_PER_LIFT);
  t.like(said('more address:port bans lifted')[0], { count: 150 });
});

test('an IP ban lifted by hand and one that expires are both logged', async (t) => {
  const { bans, said, clock } = setup(t);
  await bans.ban('203.0.113.9', { ttlSeconds: 0, reason: 'manual', origin: 'manual' });
  await bans.ban('203.0.113.10', { ttlSeconds: 60, reason: 'flood', origin: 'auto' });
  await bans.unban('203.0.113.9');
  t.like(said('ban lifted')[0], { ip: '203.0.113.9' });
  t.is(bans.sweep(), 0);
  t.is(said('ban expired').length, 0);
  clock.advance(61_000);
  t.is(bans.sweep(), 1);
  t.like(said('ban expired')[0], { ip: '203.0.113.10', reason: 'flood', origin: 'auto' });
});
