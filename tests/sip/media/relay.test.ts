// The relay with real UDP sockets on loopback: two phones (caller A, callee B) exchange the
// SDP through it and then RTP, and what each receives is checked at the receiver: the
// packets, and that they come from the relay's port (the phone never learns the other's
// address). checkrtpaddr 0/1/2, early media, the end of a call, port exhaustion and the
// kernel programming (a recording dataplane: the real one is tests/sip/media/relay-netns).
import { createSocket } from 'node:dgram';
import test, { type ExecutionContext } from 'ava';
import { createLogger } from '../../../src/log.ts';
import type { MediaKernel, RelayLeg } from '../../../src/sip/media/kernel.ts';
import { RelayPorts } from '../../../src/sip/media/ports.ts';
import {
  IDLE_CLOSE_MS,
  type MediaConfig,
  MediaRelay,
  type MediaStats,
  QUARANTINE_MS,
  type SdpContext,
} from '../../../src/sip/media/relay.ts';
import { parseSdp } from '../../../src/sip/media/sdp.ts';
import { FakeClock } from '../../helpers/fake-clock.ts';
import { allocatePortRange, Peer, rtp } from '../../helpers/media.ts';

const LOOP = { family: 'IP4', ip: '127.0.0.1' } as const;
const CTX: SdpContext = {
  owner: '127.0.0.1',
  relay: { caller: LOOP, callee: LOOP },
  kinds: { caller: 'user', callee: 'user' },
};

function sdp(port: number, extra: string[] = [], ip = '127.0.0.1'): Buffer {
  return Buffer.from(
    [
      'v=0',
      `o=- 1 1 IN IP4 ${ip}`,
      's=-',
      `c=IN IP4 ${ip}`,
      't=0 0',
      `m=audio ${port} RTP/AVP 0`,
      ...extra,
      '',
    ].join('\r\n'),
  );
}

/** The relay port a rewritten SDP tells its receiver to send to. */
function portOf(body: Buffer): number {
  const s = parseSdp(body);
  if (!s.ok) throw new Error(s.reason);
  return s.media[0]!.port;
}

/** Resolves once the relay has taken in `n` datagrams in all (a counter, not a sleep). */
async function relayed(relay: MediaRelay, n: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while (relay.stats.received < n) {
    if (Date.now() > deadline) throw new Error(`relay took in ${relay.stats.received} of ${n}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

interface Rig {
  relay: MediaRelay;
  a: Peer;
  b: Peer;
  c: Peer;
  clock: FakeClock;
  legs: RelayLeg[];
  closed: number[];
  /** Relay ports: A sends to toA... i.e. the port facing the caller, and the one facing the callee. */
  callerFacing: number;
  calleeFacing: number;
}

/** The relay's settings for a test: the defaults, the given port range, then `overrides`. */
function mediaConfig(
  range: { min: number; max: number },
  overrides: Partial<MediaConfig> = {},
): MediaConfig {
  return {
    checkrtpaddr: 1,
    earlystart: true,
    blockearlymedia: 0,
    blockearlymedia_in: 0,
    mediaportmin: range.min,
    mediaportmax: range.max,
    mediatimeout: 60,
    ...overrides,
  } as MediaConfig;
}

async function rig(
  t: ExecutionContext,
  config: Partial<MediaConfig> = {},
  opts: { kernel?: boolean; pairs?: number } = {},
): Promise<Rig> {
  const range = await allocatePortRange(2 * (opts.pairs ?? 4));
  const legs: RelayLeg[] = [];
  const closed: number[] = [];
  const kernel: MediaKernel = {
    kernelForwarding: opts.kernel ?? false,
    openRelay: async (leg) => void legs.push(leg),
    closeRelay: async (port) => {
      closed.push(port);
      return null;
    },
    relayCounters: async () => null,
  };
  const clock = new FakeClock();
  const relay = new MediaRelay({
    config: mediaConfig(range, config),
    log: createLogger({ level: 'silent' }),
    clock,
    kernel,
  });
  const [a, b, c] = await Promise.all([Peer.open(), Peer.open(), Peer.open()]);
  t.teardown(async () => {
    a.close();
    b.close();
    c.close();
    await relay.close();
  });
  const offer = relay.sdp('call-1', 'caller', sdp(a.port), CTX);
  if (!offer.ok) throw new Error(offer.reason);
  const answer = relay.sdp('call-1', 'callee', sdp(b.port), CTX);
  if (!answer.ok) throw new Error(answer.reason);
  return {
    relay,
    a,
    b,
    c,
    clock,
    legs,
    closed,
    calleeFacing: portOf(offer.body),
    callerFacing: portOf(answer.body),
  };
}

test('RTP both ways through the relay, each phone seeing only the relay as its peer', async (t) => {
  const r = await rig(t);
  r.relay.answered('call-1');
  for (let i = 0; i < 5; i++) await r.a.send(rtp(i), r.callerFacing);
  for (let i = 0; i < 5; i++) await r.b.send(rtp(100 + i), r.calleeFacing);
  const atB = await r.b.waitFor(5);
  const atA = await r.a.waitFor(5);
  t.deepEqual(
    atB.map((p) => p.data.readUInt16BE(2)),
    [0, 1, 2, 3, 4],
  );
  t.true(
    atB.every((p) => p.port === r.calleeFacing),
    'the callee hears the relay, not the caller',
  );
  t.true(atA.every((p) => p.port === r.callerFacing));
  t.is(r.relay.stats.forwarded, 10);
  t.deepEqual(r.relay.session('call-1')?.ports, [
    r.callerFacing,
    r.callerFacing + 1,
    r.calleeFacing,
    r.calleeFacing + 1,
  ]);
});

test('checkrtpaddr 1: the first source is latched, a third address is dropped and counted', async (t) => {
  const r = await rig(t, { checkrtpaddr: 1 });
  r.relay.answered('call-1');
  await r.a.send(rtp(1), r.callerFacing); // latches A
  await r.c.send(rtp(666, 'evil'), r.callerFacing);
  await r.a.send(rtp(2), r.callerFacing);
  const got = await r.b.waitFor(2);
  t.deepEqual(
    got.map((p) => p.data.readUInt16BE(2)),
    [1, 2],
  );
  t.is(r.relay.stats.dropped.source, 1);
  t.is(r.relay.session('call-1')?.dropped, 1);
});

test('checkrtpaddr 2: only the address and port of the SDP, even before any packet', async (t) => {
  const r = await rig(t, { checkrtpaddr: 2 });
  r.relay.answered('call-1');
  await r.c.send(rtp(666, 'evil'), r.callerFacing);
  await r.a.send(rtp(1), r.callerFacing);
  await r.b.waitFor(1);
  t.is(r.b.got.length, 1);
  t.is(r.relay.stats.dropped.source, 1);
});

test('checkrtpaddr 0: any source is relayed', async (t) => {
  const r = await rig(t, { checkrtpaddr: 0 });
  r.relay.answered('call-1');
  await r.a.send(rtp(1), r.callerFacing);
  await r.c.send(rtp(2), r.callerFacing);
  await r.b.waitFor(2);
  t.is(r.relay.stats.dropped.source, 0);
});

test('blockearlymedia 3: the callee side is muted until the answer, then relayed', async (t) => {
  const r = await rig(t, { blockearlymedia: 3 });
  await r.b.send(rtp(1), r.calleeFacing); // early: dropped
  await r.a.send(rtp(2), r.callerFacing); // the caller's may flow
  await r.b.waitFor(1);
  await relayed(r.relay, 2);
  t.is(r.relay.stats.dropped.early, 1);
  t.is(r.a.got.length, 0);
  r.relay.answered('call-1');
  await r.b.send(rtp(3), r.calleeFacing);
  const atA = await r.a.waitFor(1);
  t.is(atA[0]!.data.readUInt16BE(2), 3);
});

test('blockearlymedia_in 2 mutes early media on a call to a local user; 1 does not (caller is a user)', async (t) => {
  const muted = await rig(t, { blockearlymedia_in: 2 });
  await muted.b.send(rtp(1), muted.calleeFacing);
  await muted.b.send(rtp(2), muted.calleeFacing);
  await muted.a.send(rtp(3), muted.callerFacing);
  await muted.b.waitFor(1);
  t.is(muted.relay.stats.dropped.early, 2);
  const open = await rig(t, { blockearlymedia_in: 1 });
  await open.b.send(rtp(1), open.calleeFacing);
  await open.a.waitFor(1);
  t.is(open.relay.stats.dropped.early, 0);
});

test('earlystart 0: nothing is relayed either way before the answer', async (t) => {
  const r = await rig(t, { earlystart: false });
  await r.a.send(rtp(1), r.callerFacing);
  await r.b.send(rtp(2), r.calleeFacing);
  await relayed(r.relay, 2);
  r.relay.answered('call-1');
  await r.a.send(rtp(3), r.callerFacing);
  const got = await r.b.waitFor(1);
  t.is(got[0]!.data.readUInt16BE(2), 3);
  t.is(r.relay.stats.dropped.early, 2);
});

test('hold (c=0.0.0.0) stops media towards the held side; resume brings it back', async (t) => {
  const r = await rig(t);
  r.relay.answered('call-1');
  const hold = r.relay.sdp('call-1', 'caller', sdp(r.a.port, ['a=sendonly'], '0.0.0.0'), CTX);
  t.true(hold.ok);
  if (hold.ok) t.true(hold.body.toString().includes('c=IN IP4 0.0.0.0'));
  await r.b.send(rtp(1), r.calleeFacing);
  await r.b.send(rtp(2), r.calleeFacing);
  await relayed(r.relay, 2);
  const resume = r.relay.sdp('call-1', 'caller', sdp(r.a.port), CTX);
  t.true(resume.ok);
  if (resume.ok) t.is(portOf(resume.body), r.calleeFacing, 'a re-INVITE keeps the relay ports');
  await r.b.send(rtp(3), r.calleeFacing);
  const atA = await r.a.waitFor(1);
  t.is(atA[0]!.data.readUInt16BE(2), 3);
  t.is(r.relay.stats.dropped.nopeer, 2);
});

test('after the end of the call its ports relay nothing and go back to the pool', async (t) => {
  const r = await rig(t);
  r.relay.answered('call-1');
  t.is(r.relay.stats.portsInUse, 4);
  r.relay.end('call-1');
  t.is(r.relay.session('call-1'), undefined);
  await r.a.send(rtp(1), r.callerFacing);
  // A new call gets working ports and the old ones relay nothing: what B receives is the new
  // call's packet only.
  const again = r.relay.sdp('call-2', 'caller', sdp(r.c.port), CTX);
  const back = r.relay.sdp('call-2', 'callee', sdp(r.b.port), CTX);
  t.true(again.ok && back.ok);
  if (!again.ok || !back.ok) return;
  r.relay.answered('call-2');
  await r.c.send(rtp(7), portOf(back.body));
  const got = await r.b.waitFor(1);
  t.is(got.length, 1);
  t.is(got[0]!.data.readUInt16BE(2), 7);
  t.not(portOf(back.body), r.callerFacing, 'a freed port is reused last');
});

/** Resolves once the relay's counters show `what` (a counter, not a sleep; 5 s safety net). */
async function untilStats(
  relay: MediaRelay,
  holds: (s: MediaStats) => boolean,
  what: string,
): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!holds(relay.stats)) {
    if (Date.now() > deadline) throw new Error(`no ${what}: ${JSON.stringify(relay.stats)}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
/** Every port back in the pool (releases finish on a promise). */
const allFree = (relay: MediaRelay) =>
  untilStats(relay, (s) => s.portsInUse === 0, 'port left in use');

/** A new call between `caller` and the rig's callee B; its callee-facing relay port. */
function call(r: Rig, callId: string, caller: Peer): number {
  const offer = r.relay.sdp(callId, 'caller', sdp(caller.port), CTX);
  const answer = r.relay.sdp(callId, 'callee', sdp(r.b.port), CTX);
  if (!offer.ok || !answer.ok) throw new Error(`${callId} refused`);
  r.relay.answered(callId);
  return portOf(answer.body);
}

test('a released port keeps dropping what reaches it; its pair serves later calls, before and after the quarantine', async (t) => {
  const r = await rig(t, {}, { pairs: 2 }); // call-1 holds the whole range
  r.relay.end('call-1');
  // The old caller goes on sending: the port, no call's now, drops it and counts it.
  await r.a.send(rtp(1), r.callerFacing);
  await untilStats(r.relay, (s) => s.dropped.released >= 1, 'drop at the released port');
  t.is(r.relay.stats.received, 0, 'no call saw it');
  await allFree(r.relay);

  // Within the quarantine the same pair is bound afresh (whatever the old socket still held
  // goes with it); after it, the kept sockets serve the next call. Both relay.
  const inQuarantine = call(r, 'call-2', r.c);
  await r.c.send(rtp(7), inQuarantine);
  t.is((await r.b.waitFor(1))[0]!.data.readUInt16BE(2), 7);
  r.relay.end('call-2');
  await allFree(r.relay);
  r.clock.advance(QUARANTINE_MS);
  const reused = call(r, 'call-3', r.c);
  t.true([r.callerFacing, r.calleeFacing].includes(reused), 'the same two pairs, in turn');
  await r.c.send(rtp(8), reused);
  const got = await r.b.waitFor(2);
  t.is(got[1]!.data.readUInt16BE(2), 8);
  t.true(
    [r.callerFacing, r.calleeFacing].includes(got[1]!.port) && got[1]!.port !== reused,
    'the callee hears the relay port facing it, from the kept socket',
  );
  t.is(r.relay.stats.forwarded, 2);
  t.is(r.relay.stats.dropped.released, 1, 'nothing of call-3 counted as released');
});

test('a released port no call takes for IDLE_CLOSE_MS is closed: another socket may then bind it', async (t) => {
  const r = await rig(t);
  r.relay.end('call-1');
  const bind = () =>
    new Promise<void>((resolve, reject) => {
      const s = createSocket({ type: 'udp6', ipv6Only: false });
      s.once('error', (err) => {
        s.close();
        reject(err);
      });
      s.bind({ port: r.callerFacing, address: '::', exclusive: true }, () => {
        s.close();
        resolve();
      });
    });
  await t.throwsAsync(bind, { code: 'EADDRINUSE' }, 'the relay still holds the port');
  // The sweeps (every 15 s with mediatimeout 60) until one after the idle time: each sweep
  // arms the next once its media check has settled.
  for (let t0 = 0; t0 <= IDLE_CLOSE_MS; t0 += 15_000) {
    r.clock.advance(15_000);
    await new Promise((resolve) => setImmediate(resolve));
  }
  await t.notThrowsAsync(bind);
});

test('bad SDP is refused with 488 and a reason; an exhausted range with 503', async (t) => {
  const r = await rig(t, {}, { pairs: 2 });
  const bad = r.relay.sdp('call-x', 'caller', Buffer.from('v=0\r\nc=IN IP4 1.2.3\r\n'), CTX);
  t.deepEqual(bad, { ok: false, status: 488, reason: 'SDP has no o= line' });
  // call-1 holds both pairs of the range.
  const full = r.relay.sdp('call-2', 'caller', sdp(r.c.port), CTX);
  t.deepEqual(full, { ok: false, status: 503, reason: 'Media Ports Exhausted' });
  t.is(r.relay.session('call-2'), undefined, 'nothing is kept of a refused call');
});

test('a relay port another process holds: the call still gets its SDP, the pair is never handed out again, ending the call is clean', async (t) => {
  const range = await allocatePortRange(4);
  const squatter = createSocket({ type: 'udp6', ipv6Only: false });
  await new Promise<void>((resolve) => squatter.bind({ port: range.min, address: '::' }, resolve));
  const lines: string[] = [];
  const log = createLogger({
    destination: { write: (line: string) => void lines.push(line) } as never,
  });
  const relay = new MediaRelay({
    config: mediaConfig(range),
    log,
    clock: new FakeClock(),
  });
  t.teardown(async () => {
    squatter.close();
    await relay.close();
  });
  const offer = relay.sdp('call-1', 'caller', sdp(40_000), CTX);
  t.true(offer.ok, 'the offer is still rewritten');
  t.true(
    lines.some((l) => l.includes('media port unusable') && l.includes(`"port":${range.min}`)),
    'the taken port is logged',
  );
  t.notThrows(() => relay.end('call-1'), 'no socket is closed twice');
  const next = relay.sdp('call-2', 'caller', sdp(40_002), CTX);
  t.false(next.ok, 'only the broken pair was left: the range is exhausted, not reused');
});

test('one address cannot hold more than its share of the range', (t) => {
  const ports = new RelayPorts(10_000, 10_999); // 500 pairs: a share is 125
  let taken = 0;
  while (typeof ports.take('198.51.100.7') !== 'string') taken++;
  t.is(taken, 125);
  t.is(ports.take('198.51.100.7'), 'share');
  t.deepEqual(typeof ports.take('198.51.100.8'), 'object', 'another address still gets ports');
});

test('XDP mode, checkrtpaddr 2: both legs are programmed at the answer with the SDP peers', async (t) => {
  const r = await rig(t, { checkrtpaddr: 2 }, { kernel: true });
  t.is(r.legs.filter((l) => l.localPort === r.callerFacing).length, 1);
  r.relay.answered('call-1');
  const toB = r.legs.find((l) => l.localPort === r.callerFacing);
  const toA = r.legs.find((l) => l.localPort === r.calleeFacing);
  t.deepEqual(toB, {
    localPort: r.callerFacing,
    expectedPeer: { ip: '127.0.0.1', port: r.a.port },
    otherSources: 'drop',
    forwardTo: { ip: '127.0.0.1', port: r.b.port },
    forwardFrom: { ip: '127.0.0.1', port: r.calleeFacing },
  });
  t.deepEqual(toA?.expectedPeer, { ip: '127.0.0.1', port: r.b.port });
  r.relay.end('call-1');
  await r.relay.close();
  t.true(r.closed.includes(r.callerFacing) && r.closed.includes(r.calleeFacing));
});

test('XDP mode, checkrtpaddr 1: opened without a peer, then latched on the first packet', async (t) => {
  const r = await rig(t, { checkrtpaddr: 1 }, { kernel: true });
  r.relay.answered('call-1');
  const first = r.legs.filter((l) => l.localPort === r.callerFacing);
  t.deepEqual(first.at(-1)?.expectedPeer, null);
  await r.a.send(rtp(1), r.callerFacing);
  await r.b.waitFor(1);
  const latched = r.legs.filter((l) => l.localPort === r.callerFacing).at(-1);
  t.deepEqual(latched?.expectedPeer, { ip: '127.0.0.1', port: r.a.port });
  t.is(latched?.otherSources, 'drop');
});

test('mediatimeout: the proxy is told of media once per sweep, and a call it no longer knows is released', async (t) => {
  const r = await rig(t, { mediatimeout: 4 });
  const told: string[] = [];
  let known = true;
  r.relay.onActivity = (id) => {
    told.push(id);
    return known;
  };
  r.relay.answered('call-1');
  await r.a.send(rtp(1), r.callerFacing);
  await r.b.waitFor(1);
  r.clock.advance(1000);
  await new Promise((resolve) => setImmediate(resolve));
  t.deepEqual(told, ['call-1']);
  r.clock.advance(1000); // no packet since: nothing to tell
  await new Promise((resolve) => setImmediate(resolve));
  t.deepEqual(told, ['call-1']);
  known = false;
  await r.a.send(rtp(2), r.callerFacing);
  await r.b.waitFor(2);
  r.clock.advance(1000);
  await new Promise((resolve) => setImmediate(resolve));
  t.is(r.relay.session('call-1'), undefined, 'released');
});

test('an IPv6 caller and an IPv4 callee: the relay translates, each side hearing it in its own family', async (t) => {
  const range = await allocatePortRange(4);
  const relay = new MediaRelay({
    config: mediaConfig(range),
    log: createLogger({ level: 'silent' }),
    clock: new FakeClock(),
  });
  const [a, b] = await Promise.all([Peer.open('::1'), Peer.open('127.0.0.1')]);
  t.teardown(async () => {
    a.close();
    b.close();
    await relay.close();
  });
  const ctx: SdpContext = {
    ...CTX,
    relay: { caller: { family: 'IP6', ip: '::1' }, callee: LOOP },
  };
  const v6 = Buffer.from(
    [
      'v=0',
      'o=- 1 1 IN IP6 ::1',
      's=-',
      'c=IN IP6 ::1',
      't=0 0',
      `m=audio ${a.port} RTP/AVP 0`,
      '',
    ].join('\r\n'),
  );
  const offer = relay.sdp('v6-call', 'caller', v6, ctx);
  const answer = relay.sdp('v6-call', 'callee', sdp(b.port), ctx);
  if (!offer.ok || !answer.ok) return t.fail('refused');
  t.true(offer.body.toString().includes('c=IN IP4 127.0.0.1'), 'the IPv4 callee gets IPv4');
  t.true(answer.body.toString().includes('c=IN IP6 ::1'), 'the IPv6 caller gets IPv6');
  relay.answered('v6-call');
  await a.send(rtp(1), portOf(answer.body), '::1');
  const atB = await b.waitFor(1);
  t.is(atB[0]!.ip, '127.0.0.1');
  t.is(atB[0]!.port, portOf(offer.body));
  await b.send(rtp(2), portOf(offer.body));
  const atA = await a.waitFor(1);
  t.is(atA[0]!.ip, '::1');
  t.is(atA[0]!.port, portOf(answer.body));
});
