// The XDP guard end to end: the real program attached in native mode to the receiving veth
// of a namespace pair, real UDP datagrams from the other side, and the kernel counters and
// a listening socket as the witnesses.
//
// Native XDP on veth: the receiving veth runs the program in its NAPI poll on every frame
// the peer transmits, skb-built ones included, so nothing is needed on the sending side.
// (An XDP program or GRO on the peer is only needed for frames XDP_REDIRECTed *into* a
// veth, which the guard never does.) The first test checks the program really sees the
// traffic in native mode, so a kernel where this differs fails loudly instead of passing
// because nothing was filtered.
import { execFileSync } from 'node:child_process';
import test, { type ExecutionContext } from 'ava';
import type { FloodEvent, GuardConfig } from '../../src/dataplane/types.ts';

import {
  delivered,
  eventually,
  type GuardedLink,
  guardedLink,
  SIP_PORT,
} from '../helpers/guarded-link.ts';
import { exec, sweepStaleNamespaces } from '../helpers/netns.ts';
import { whileBanHolds } from '../helpers/short-ttl.ts';
import { startXdpHost, type XdpHost } from '../helpers/xdp-host.ts';
import { buildBpfObject, eventIntervalMsBehind, lastEventBefore } from './helpers.ts';

test.before(async () => {
  buildBpfObject();
  await sweepStaleNamespaces();
});

async function setup(
  t: ExecutionContext,
  guard: Partial<GuardConfig> = {},
): Promise<{ g: GuardedLink; host: XdpHost }> {
  const g = await guardedLink(t);
  const host = await startXdpHost(t, g.link.b.ns, { guard });
  return { g, host };
}

test('the program runs in native mode on the receiving veth and sees every datagram', async (t) => {
  const { g, host } = await setup(t);
  t.is(host.attachedMode, 'xdp');
  t.is(host.mode, 'xdp');
  t.deepEqual((await host.stats()).interfaces, ['veth0']);
  const before = await host.counters();
  t.is(await delivered(g, g.link.a.v4, 7), 7);
  const after = await host.counters();
  // 7 datagrams + the marker, all to 5060, a signaling port by default (no budget set).
  t.is(after.signaling - before.signaling, 8, 'each datagram went through the program');
});

test('a banned source is dropped in XDP; unban lets it through again', async (t) => {
  const { g, host } = await setup(t);
  const source = g.link.a.v4;
  t.is(await delivered(g, source), 5, 'baseline: nothing dropped yet');

  await host.ban(source, 3600, 'test');
  const before = await host.counters();
  t.is(await delivered(g, source, 20), 0, 'the listener sees nothing from the banned source');
  const after = await host.counters();
  t.is(after.banned - before.banned, 20, 'the banned counter moved by the datagrams sent');
  t.is((await host.stats()).drops.banned, after.banned);
  t.is(after.signaling - before.signaling, 1, 'only the control marker passed');

  await host.unban(source);
  t.is(await delivered(g, source), 5, 'after unban every datagram arrives');
  t.is((await host.counters()).banned, after.banned, 'and none more was dropped');
  t.true(g.listenerV4.received.every((d) => d.port !== SIP_PORT || d.from !== source));
});

test('IPv6: a banned source is dropped in XDP; unban all lifts v4 and v6 bans', async (t) => {
  const { g, host } = await setup(t);
  const v6 = g.link.a.v6;
  t.is(await delivered(g, v6), 5, 'baseline over IPv6');

  await host.ban(v6, 0, 'test');
  await host.ban(g.link.a.v4, 0, 'test');
  const before = await host.counters();
  t.is(await delivered(g, v6, 12), 0);
  t.is(await delivered(g, g.link.a.v4, 3), 0);
  const after = await host.counters();
  t.is(after.banned - before.banned, 15);

  await host.unban('all');
  t.deepEqual(await host.bans(), []);
  t.is(await delivered(g, v6), 5);
  t.is(await delivered(g, g.link.a.v4), 5);
});

test('a ban with a short ttl expires by itself, and the program reaps it', async (t) => {
  const { g, host } = await setup(t);
  const source = g.link.a.v4;
  // The counter of reaped bans before the round whose ban is left to expire.
  let reapedBefore = 0;
  const { held, ttlSeconds } = await whileBanHolds({
    ban: async (ttl) => {
      reapedBefore = (await host.counters()).ban_expired;
      await host.ban(source, ttl, 'short');
    },
    unban: () => host.unban(source),
    dropped: async () => (await delivered(g, source)) === 0,
    log: (m) => t.log(m),
  });
  t.true(held, `dropped while the ${ttlSeconds} s ban holds`);

  // Bounded polling: no assumption about how late the expiry is noticed, only that it is.
  const lifted = await eventually(async () => (await delivered(g, source, 1)) === 1, {
    timeoutMs: ttlSeconds * 1000 + 30_000,
    intervalMs: 250,
  });
  t.true(lifted, 'datagrams from the source arrive again without an unban');
  t.is(await delivered(g, source), 5);
  const c = await host.counters();
  t.is(c.ban_expired - reapedBefore, 1, 'the program deleted the expired entry itself');
  t.deepEqual(await host.bans(), []);
});

test('a flood over the per-source budget gives one flood event per source per interval', async (t) => {
  const { g, host } = await setup(t, {
    signalingPorts: [SIP_PORT],
    sourceRatePps: 1,
    sourceBurst: 5,
  });
  // Set after start: the interval depends on the clock the program reads (see helpers.ts).
  const interval = eventIntervalMsBehind(await host.monotonicNs());
  await host.configure({ floodEventIntervalMs: interval });
  // The markers come from trusted sources, so they never spend a budget of their own.
  await host.trust(g.controlV4, 0);
  const events: FloodEvent[] = [];
  const unsubscribe = host.onFlood((e) => events.push(e));
  t.teardown(unsubscribe);
  const flooder = g.link.a.v4;

  const through1 = await delivered(g, flooder, 60);
  t.true(through1 >= 5 && through1 < 60, `the burst passes, the rest drops (${through1} passed)`);
  let c = await host.counters();
  t.is(c.flood, 60 - through1, 'every datagram over budget is counted as a flood drop');

  // Delivered by the guard's own ring-buffer timer: bounded wait, no sleep of a fixed length.
  t.true(await eventually(async () => events.length > 0, { timeoutMs: 10_000, intervalMs: 50 }));
  await host.pollEvents();
  t.deepEqual(
    events.map((e) => [e.ip, e.packets]),
    [[flooder, 1]],
    'one event, for the flooder, reporting the drop that fired it',
  );

  // More flooding within the same interval: more drops, no more events.
  const through2 = await delivered(g, flooder, 30);
  await host.pollEvents();
  c = await host.counters();
  t.is(c.flood, 90 - through1 - through2);
  t.is(events.length, 1, 'still one event in this interval');
  t.is(c.event_sent, 1);

  // The interval passes (moved back in the bucket, not slept): the next drop fires one
  // more event, reporting every drop since the first.
  const bucket = await host.bucket(flooder);
  t.truthy(bucket);
  const lastEventNs = lastEventBefore(await host.monotonicNs(), interval);
  await host.setBucket(flooder, { ...bucket!, lastEventNs: String(lastEventNs) });
  const dropsBefore = c.flood;
  await delivered(g, flooder, 20);
  await host.pollEvents();
  t.is(events.length, 2, 'exactly one more event');
  t.is(events[1]!.ip, flooder);
  t.is(events[1]!.packets, dropsBefore, 'drops since the last event, the firing one included');
  t.is((await host.stats()).drops.flood, (await host.counters()).flood);
  t.true(
    events.every((e) => e.ip === flooder),
    'the trusted control source never fired one',
  );
});

test('the flood event leads to a ban: the source then drops as banned, not as flood', async (t) => {
  const { g, host } = await setup(t, {
    signalingPorts: [SIP_PORT],
    sourceRatePps: 1,
    sourceBurst: 3,
    floodEventIntervalMs: 600_000,
  });
  await host.trust(g.controlV4, 0);
  // What the guard in src/control does with an event, done here by hand.
  const banned: string[] = [];
  host.onFlood((e) => {
    banned.push(e.ip);
    void host.ban(e.ip, 60, `flood: ${e.packets} packets over budget`);
  });
  await delivered(g, g.link.a.v4, 30);
  t.true(await eventually(async () => (await host.bans()).length === 1, { intervalMs: 50 }));
  t.deepEqual(banned, [g.link.a.v4]);
  const before = await host.counters();
  t.is(await delivered(g, g.link.a.v4, 10), 0);
  const after = await host.counters();
  t.is(after.banned - before.banned, 10);
  t.is(after.flood, before.flood, 'bans are checked before budgets');
});

/** The id of the XDP program attached to ifname in ns, or 0. */
async function attachedProgId(ns: string, ifname: string): Promise<number> {
  const { stdout } = await exec(ns, ['/usr/sbin/ip', '-d', '-j', 'link', 'show', 'dev', ifname]);
  const [info] = JSON.parse(stdout) as { xdp?: { prog?: { id: number } } }[];
  return info?.xdp?.prog?.id ?? 0;
}

function programExists(id: number): boolean {
  try {
    execFileSync('/usr/sbin/bpftool', ['prog', 'show', 'id', String(id)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test('close detaches the program; a crashed host leaves nothing once its namespace is gone', async (t) => {
  const { g, host } = await setup(t);
  t.not(await attachedProgId(g.link.b.ns, 'veth0'), 0);
  await host.close();
  t.is(await attachedProgId(g.link.b.ns, 'veth0'), 0, 'detached on close');

  // A crash: the process dies without detaching, so the program stays on the veth...
  const crashed = await startXdpHost(t, g.link.b.ns);
  const id = await attachedProgId(g.link.b.ns, 'veth0');
  t.true(programExists(id));
  await crashed.kill();
  t.is(await attachedProgId(g.link.b.ns, 'veth0'), id, 'still attached after the crash');
  // ...until the teardown deletes the namespace, which destroys the veth and the program.
  await g.link.cleanup();
  t.true(await eventually(async () => !programExists(id), { timeoutMs: 20_000, intervalMs: 100 }));
});
