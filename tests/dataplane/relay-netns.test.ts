// Media relayed in the kernel, end to end: a caller, tollgate and a callee in three
// namespaces (tests/helpers/relay-hosts.ts), the real XDP program on both of tollgate's
// veths, real UDP from symmetric-RTP endpoints. Witnesses: what the callee's and caller's
// sockets receive (from which ip:port), tcpdump -vv at the callee (IP and UDP checksums as
// the wire carries them), tollgate's own socket on the relay port (the userspace relay:
// zero packets once the kernel forwards), and the per-port and per-reason kernel counters.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import test, { type ExecutionContext } from 'ava';
import type { RelayLeg } from '../../src/dataplane/types.ts';
import { eventually } from '../helpers/guarded-link.ts';
import { sweepStaleNamespaces } from '../helpers/netns.ts';
import { udpListener } from '../helpers/packets.ts';
import {
  forgetNeighbour,
  type RelayHosts,
  relayHosts,
  resolveNeighbours,
} from '../helpers/relay-hosts.ts';
import { rtpPeer } from '../helpers/rtp-peer.ts';
import { startXdpHost, type XdpHost } from '../helpers/xdp-host.ts';
import { buildBpfObject } from './helpers.ts';

const IP = '/usr/sbin/ip';
const RANGE = { min: 20000, max: 20099 };
const CALLER_PORT = 4000;
const CALLEE_PORT = 6000;

test.before(async () => {
  buildBpfObject();
  await sweepStaleNamespaces();
});

async function setup(t: ExecutionContext): Promise<{ h: RelayHosts; host: XdpHost }> {
  const h = await relayHosts(t);
  await resolveNeighbours(h);
  const host = await startXdpHost(t, h.tollgate.ns, {
    ifname: 'vcaller',
    moreIfnames: ['vcallee'],
    guard: { mediaPorts: RANGE, checkRtpAddr: true, signalingPorts: [5060] },
  });
  return { h, host };
}

/** Both legs of one relayed stream: caller <-> relay port a, relay port b <-> callee. */
function legs(h: RelayHosts, family: 'v4' | 'v6', a: number, b: number): [RelayLeg, RelayLeg] {
  const caller = { ip: h.caller[family], port: CALLER_PORT };
  const callee = { ip: h.callee[family], port: CALLEE_PORT };
  return [
    {
      localPort: a,
      expectedPeer: caller,
      forwardTo: callee,
      forwardFrom: { ip: h.tollgate.toCallee[family], port: b },
    },
    {
      localPort: b,
      expectedPeer: callee,
      forwardTo: caller,
      forwardFrom: { ip: h.tollgate.toCaller[family], port: a },
    },
  ];
}

/** tcpdump -vv at the callee until `count` UDP packets were seen; resolves with its lines. */
function capture(ns: string, count: number): { ready: Promise<void>; done: Promise<string> } {
  const child: ChildProcessWithoutNullStreams = spawn(
    IP,
    ['netns', 'exec', ns, 'tcpdump', '-i', 'veth0', '-n', '-vv', '-l', '-c', String(count), 'udp'],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tcpdump not listening: ${err}`)), 30_000);
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
      if (err.includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const done = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tcpdump saw fewer than ${count} packets: ${out}`));
    }, 60_000);
    child.once('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
  return { ready, done };
}

for (const family of ['v4', 'v6'] as const) {
  test(`${family}: RTP is relayed in the kernel both ways with correct addresses, ports and checksums; tollgate's socket sees none`, async (t) => {
    const { h, host } = await setup(t);
    t.is(host.attachedMode, 'xdp');
    const [a, b] = family === 'v4' ? [20000, 20002] : [20010, 20012];
    const [legA, legB] = legs(h, family, a, b);
    const relayA = await udpListener(h.tollgate.ns, { host: h.tollgate.toCaller[family], port: a });
    t.teardown(() => relayA.close());
    const relayB = await udpListener(h.tollgate.ns, { host: h.tollgate.toCallee[family], port: b });
    t.teardown(() => relayB.close());
    const caller = await rtpPeer(t, h.caller.ns, { host: h.caller[family], port: CALLER_PORT });
    const callee = await rtpPeer(t, h.callee.ns, { host: h.callee[family], port: CALLEE_PORT });
    await host.openRelay(legA);
    await host.openRelay(legB);

    const N = 25;
    const dump = capture(h.callee.ns, 2 * N);
    await dump.ready;
    await caller.send({
      to: h.tollgate.toCaller[family],
      port: a,
      count: N,
      payload: 'up',
      size: 172,
    });
    await callee.waitForCount((d) => d.text.startsWith('up'), N);
    await callee.send({
      to: h.tollgate.toCallee[family],
      port: b,
      count: N,
      payload: 'down',
      size: 172,
    });
    await caller.waitForCount((d) => d.text.startsWith('down'), N);

    const atCallee = callee.received.filter((d) => d.text.startsWith('up'));
    t.true(
      atCallee.every((d) => d.from === h.tollgate.toCallee[family] && d.port === b),
      'callee sees the relay b',
    );
    t.true(atCallee.every((d) => d.size === 172));
    const atCaller = caller.received.filter((d) => d.text.startsWith('down'));
    t.true(
      atCaller.every((d) => d.from === h.tollgate.toCaller[family] && d.port === a),
      'caller sees the relay a',
    );
    t.is(
      relayA.received.length + relayB.received.length,
      0,
      'the userspace relay sockets saw nothing',
    );

    // The callee's wire: every packet has valid checksums (IP header and UDP), TTL/hop limit 64.
    const lines = await dump.done;
    const sums = lines.match(/udp sum ok/g) ?? [];
    t.is(sums.length, 2 * N, lines.slice(0, 600));
    t.notRegex(lines, /bad (udp )?cksum/);
    t.regex(lines, family === 'v4' ? /ttl 64/ : /hlim 64/);

    t.like(await host.relayCounters(a), {
      forwardedPackets: N,
      droppedPackets: 0,
      userspacePackets: 0,
    });
    t.like(await host.relayCounters(b), {
      forwardedPackets: N,
      droppedPackets: 0,
      userspacePackets: 0,
    });
    t.true(((await host.relayCounters(a))?.forwardedBytes ?? 0) > N * 172);
    const c = await host.counters();
    t.is(c.rtp_forward, 2 * N);
  });
}

test('a third party injecting into a live relay port is dropped and counted; after close the port drops everything', async (t) => {
  const { h, host } = await setup(t);
  const [legA, legB] = legs(h, 'v4', 20020, 20022);
  const relayA = await udpListener(h.tollgate.ns, { host: h.tollgate.toCaller.v4, port: 20020 });
  t.teardown(() => relayA.close());
  const caller = await rtpPeer(t, h.caller.ns, { host: h.caller.v4, port: CALLER_PORT });
  const callee = await rtpPeer(t, h.callee.ns, { host: h.callee.v4, port: CALLEE_PORT });
  const attacker = await rtpPeer(t, h.caller.ns, { host: h.third.v4, port: CALLER_PORT });
  const spoofPort = await rtpPeer(t, h.caller.ns, { host: h.caller.v4, port: CALLER_PORT + 1 });
  await host.openRelay(legA);
  await host.openRelay(legB);
  const relayIp = h.tollgate.toCaller.v4;

  await caller.send({ to: relayIp, port: 20020, count: 10, payload: 'good' });
  await callee.waitForCount((d) => d.text.startsWith('good'), 10);
  await attacker.send({ to: relayIp, port: 20020, count: 15, payload: 'evil' });
  await spoofPort.send({ to: relayIp, port: 20020, count: 5, payload: 'evil' });
  await caller.send({ to: relayIp, port: 20020, count: 10, payload: 'good2' });
  await callee.waitForCount((d) => d.text.startsWith('good2'), 10);
  t.like(await host.relayCounters(20020), { forwardedPackets: 20, droppedPackets: 20 });
  t.is(
    callee.received.filter((d) => d.text.startsWith('evil')).length,
    0,
    'nothing injected arrives',
  );
  t.is(callee.received.length, 20, "the receiver's stream is exactly the caller's");
  t.is(relayA.received.length, 0);
  t.is((await host.counters()).rtp_source, 20);

  const final = await host.closeRelay(20020);
  t.like(final, { forwardedPackets: 20, droppedPackets: 20 });
  t.is(await host.relayCounters(20020), null);
  const before = (await host.counters()).rtp_unallocated;
  await caller.send({ to: relayIp, port: 20020, count: 7, payload: 'late' });
  await attacker.send({ to: relayIp, port: 20020, count: 3, payload: 'late' });
  await eventually(async () => (await host.counters()).rtp_unallocated >= before + 10);
  t.is(
    (await host.counters()).rtp_unallocated,
    before + 10,
    'every packet to the closed port dropped',
  );
  t.is(callee.received.length, 20);
  t.is(relayA.received.length, 0);
});

test('before latching every packet goes up to the userspace relay; a missing neighbour passes up too', async (t) => {
  const { h, host } = await setup(t);
  const [legA, legB] = legs(h, 'v4', 20030, 20032);
  const relayA = await udpListener(h.tollgate.ns, { host: h.tollgate.toCaller.v4, port: 20030 });
  t.teardown(() => relayA.close());
  const caller = await rtpPeer(t, h.caller.ns, { host: h.caller.v4, port: CALLER_PORT });
  const callee = await rtpPeer(t, h.callee.ns, { host: h.callee.v4, port: CALLEE_PORT });
  const relayIp = h.tollgate.toCaller.v4;
  await host.openRelay({ ...legA, expectedPeer: null });
  await host.openRelay(legB);

  await caller.send({ to: relayIp, port: 20030, count: 3, payload: 'first' });
  await relayA.waitFor((d) => d.text.startsWith('first 2'));
  t.is(relayA.received.length, 3);
  t.true(relayA.received.every((d) => d.from === h.caller.v4 && d.port === CALLER_PORT));
  t.like(await host.relayCounters(20030), { forwardedPackets: 0, userspacePackets: 3 });

  // Latched (as the userspace relay does on the first packet): the kernel takes over.
  await host.openRelay(legA);
  await caller.send({ to: relayIp, port: 20030, count: 5, payload: 'then' });
  await callee.waitForCount((d) => d.text.startsWith('then'), 5);
  t.is(relayA.received.length, 3);
  t.like(await host.relayCounters(20030), { forwardedPackets: 5, userspacePackets: 3 });

  // No neighbour entry for the callee: the packet goes up unchanged (the stack resolves it).
  await forgetNeighbour(h, h.callee.v4, 'vcallee');
  await caller.send({ to: relayIp, port: 20030, count: 1, payload: 'noneigh' });
  await relayA.waitFor((d) => d.text.startsWith('noneigh'));
  t.is((await host.counters()).rtp_no_neigh, 1);
  t.like(await host.relayCounters(20030), { forwardedPackets: 5, userspacePackets: 4 });
});

test("otherSources 'userspace' (checkrtpaddr 0) lets another source up to the relay instead of dropping it", async (t) => {
  const { h, host } = await setup(t);
  const [legA] = legs(h, 'v4', 20040, 20042);
  const relayA = await udpListener(h.tollgate.ns, { host: h.tollgate.toCaller.v4, port: 20040 });
  t.teardown(() => relayA.close());
  const other = await rtpPeer(t, h.caller.ns, { host: h.third.v4, port: CALLER_PORT });
  const callee = await rtpPeer(t, h.callee.ns, { host: h.callee.v4, port: CALLEE_PORT });
  await host.openRelay({ ...legA, otherSources: 'userspace' });
  await other.send({ to: h.tollgate.toCaller.v4, port: 20040, count: 4, payload: 'moved' });
  await relayA.waitFor((d) => d.text.startsWith('moved 3'));
  t.is(relayA.received.length, 4);
  t.is(callee.received.length, 0);
  t.like(await host.relayCounters(20040), { droppedPackets: 0, userspacePackets: 4 });
});
