// Calls with media through the real daemon: a caller, tollgate and a callee in three network
// namespaces (tests/helpers/relay-hosts.ts), SIPp for the signalling on both ends
// (tests/sipp/media-call.xml, media-answer.xml) and a separate RTP endpoint beside each
// (tests/helpers/rtp-peer.ts) whose port the SDP names. The relay ports each phone must send
// to are what SIPp read in the SDP it received (its report file), as a phone would.
//
// What is checked is what a user would check: RTP sent by each phone arrives at the other,
// from the relay's address and port (never the other phone's); RTP injected by a third
// address into a live relay port does not arrive (and the kernel's counter moves); in XDP
// mode the daemon's own relay sees no media once a stream is latched (its counter of
// received packets stays put while hundreds pass); after the call the port drops everything;
// a hold and resume re-INVITE keep the ports; a call whose media stops is torn down after
// mediatimeout; a late offer (SDP in 200 and ACK) works; a bad SDP gets 488; early media
// after a 183 is muted under blockearlymedia until the answer.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { type RunningDaemon, startDaemon, testConfig } from '../../helpers/daemon.ts';
import { sweepStaleNamespaces } from '../../helpers/netns.ts';
import type { Datagram } from '../../helpers/packets.ts';
import { type RelayHosts, relayHosts, resolveNeighbours } from '../../helpers/relay-hosts.ts';
import { type RtpPeer, rtpPeer } from '../../helpers/rtp-peer.ts';
import { runSipp, type SippResult } from '../../helpers/sipp.ts';
import { tempDir } from '../../helpers/tmp.ts';

const DOMAIN = 'tollgate.test';
const PASSWORD = 'Media-both-ways-42';
const RANGE = { min: 20000, max: 20099 };
const CALLER_RTP = 4000;
const CALLEE_RTP = 6000;

test.before(async () => {
  await sweepStaleNamespaces();
});

async function until<T>(
  check: () => T | undefined | Promise<T | undefined>,
  what: string,
  ms = 30_000,
): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

interface MediaStats {
  sessions: number;
  portsInUse: number;
  received: number;
  forwarded: number;
  dropped: { source: number; early: number; nopeer: number };
}

interface Stats {
  dataplane: { mode: string };
  drops: Record<string, number>;
  media: MediaStats;
}

async function stats(d: RunningDaemon): Promise<Stats> {
  const r = await d.ctl('stats', '--json');
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as Stats;
}

/** Keeps the marked blocks named in `keep`, removes the other variants. */
function variant(keep: string[], times: { hold?: number; talk?: number; early?: number } = {}) {
  const all = ['early-offer', 'late-offer', 'hold', 'talk', 'wait-bye', 'early'];
  return (xml: string) => {
    let out = xml;
    for (const name of all.filter((n) => !keep.includes(n)))
      out = out.replace(new RegExp(`<!-- ${name} -->[\\s\\S]*?<!-- /${name} -->`, 'g'), '');
    return out
      .replaceAll('HOLD_MS', String(times.hold ?? 300))
      .replaceAll('TALK_MS', String(times.talk ?? 1000))
      .replaceAll('EARLY_MS', String(times.early ?? 0));
  };
}

interface Call {
  h: RelayHosts;
  d: RunningDaemon;
  caller: RtpPeer;
  callee: RtpPeer;
  third: RtpPeer;
  report: string;
  /** Both SIPp runs, resolved when they end. */
  done: Promise<[SippResult, SippResult]>;
  /** What SIPp printed, once a run ended (for the messages of a failing wait). */
  finished: string[];
}

async function startCall(
  t: ExecutionContext,
  config: Record<string, string | number>,
  keep: string[],
  times: { hold?: number; talk?: number; early?: number } = {},
  opts: {
    callerRewrite?: (xml: string) => string;
    calleeRegistersOnly?: boolean;
    /** The caller's address family (signalling and media); the callee is always IPv4. */
    callerFamily?: 'v4' | 'v6';
  } = {},
): Promise<Call> {
  t.timeout(4 * 60_000);
  const h = await relayHosts(t);
  await resolveNeighbours(h);
  const dataDir = tempDir(t);
  const configFile = await testConfig(dataDir, {
    sipaddress: '0.0.0.0',
    sipport: 5060,
    sipsport: 5061,
    realm: DOMAIN,
    dataplanemode: 'auto',
    mediaportmin: RANGE.min,
    mediaportmax: RANGE.max,
    ...config,
  });
  const d = await startDaemon(t, { dataDir, configFile, netns: h.tollgate.ns });
  for (const u of ['alice', 'bob']) {
    const added = await d.ctl('users', 'add', u, '--password', PASSWORD);
    t.is(added.code, 0, added.stderr);
  }
  const fam = opts.callerFamily ?? 'v4';
  const [caller, callee, third] = await Promise.all([
    rtpPeer(t, h.caller.ns, { host: h.caller[fam], port: CALLER_RTP }),
    rtpPeer(t, h.callee.ns, { host: h.callee.v4, port: CALLEE_RTP }),
    rtpPeer(t, h.third.ns, { host: h.third.v4, port: CALLER_RTP }),
  ]);
  const dir = tempDir(t, 'tollgate-media-');
  const report = join(dir, 'ports.txt');
  const ids = `tgmedia-${randomBytes(4).toString('hex')}-%u`;
  const rewrite = variant(keep, times);
  const answering = opts.calleeRegistersOnly
    ? runSipp(t, {
        scenario: 'register.xml',
        netns: h.callee.ns,
        localIp: h.callee.v4,
        target: { ip: h.tollgate.toCallee.v4, port: 5060 },
        transport: 'udp',
        account: { user: 'bob', password: PASSWORD },
        domain: DOMAIN,
      })
    : runSipp(t, {
        scenario: 'media-answer.xml',
        netns: h.callee.ns,
        localIp: h.callee.v4,
        target: { ip: h.tollgate.toCallee.v4, port: 5060 },
        transport: 'udp',
        account: { user: 'bob', password: PASSWORD },
        fields: ['bob', DOMAIN, String(CALLEE_RTP), report],
        timeoutSeconds: 90,
        rewrite,
        extraArgs: ['-cid_str', ids],
      });
  let calleeEnded: SippResult | undefined;
  void answering.then((r) => {
    calleeEnded = r;
  });
  await until(async () => {
    if (calleeEnded && calleeEnded.exitCode !== 0) throw new Error(`callee: ${calleeEnded.output}`);
    const s = JSON.parse((await d.ctl('status', '--json')).stdout) as { registrations: number };
    return s.registrations === 1 || undefined;
  }, 'bob to register');
  const calling = runSipp(t, {
    scenario: 'media-call.xml',
    netns: h.caller.ns,
    localIp: h.caller[fam],
    // SIPp takes an IPv6 target in brackets.
    target: {
      ip: fam === 'v6' ? `[${h.tollgate.toCaller.v6}]` : h.tollgate.toCaller.v4,
      port: 5060,
    },
    transport: 'udp',
    account: { user: 'alice', password: PASSWORD },
    fields: ['alice', DOMAIN, 'bob', String(CALLER_RTP), report],
    timeoutSeconds: 90,
    rewrite: opts.callerRewrite ? (xml) => opts.callerRewrite!(rewrite(xml)) : rewrite,
    extraArgs: ['-cid_str', ids],
  });
  const finished: string[] = [];
  for (const [who, run] of [
    ['caller', calling],
    ['callee', answering],
  ] as const)
    void run.then((r) => finished.push(`${who} exited ${r.exitCode}: ${r.output}`));
  return {
    h,
    d,
    caller,
    callee,
    third,
    report,
    done: Promise.all([calling, answering]),
    finished,
  };
}

/** The relay port SIPp reported for `who` ("caller", "callee", "resumed"). */
function reported(c: Call, who: string): Promise<number> {
  return until(
    () => {
      if (!existsSync(c.report)) return undefined;
      for (const line of readFileSync(c.report, 'utf8').split('\n')) {
        const [name, port] = line.trim().split(' ');
        if (name === who && port && /^\d+$/.test(port)) return Number(port);
      }
      return undefined;
    },
    `SIPp's ${who} to report its relay port; ${c.finished.join('\n')}\n${c.d.log().slice(-3000)}`,
    150_000,
  );
}

const startsWith = (p: string) => (d: Datagram) => d.text.startsWith(`${p} `);

/** `count` datagrams "<tag> i" from `from` to the relay port, and all of them seen at `to`. */
async function flow(
  from: RtpPeer,
  to: RtpPeer,
  relay: { ip: string; port: number },
  tag: string,
  count: number,
): Promise<Datagram[]> {
  await from.send({ to: relay.ip, port: relay.port, count, payload: tag, size: 172 });
  await to.waitForCount(startsWith(tag), count);
  return to.received.filter(startsWith(tag));
}

test('XDP mode, checkrtpaddr 1: RTP both ways through the kernel; injection dropped; zero media in userspace after latching; hold/resume; the port drops everything after the call', async (t) => {
  const c = await startCall(t, { checkrtpaddr: 1 }, ['early-offer', 'hold', 'talk'], {
    talk: 30_000,
  });
  const st0 = await stats(c.d);
  t.regex(st0.dataplane.mode, /^xdp/, 'the kernel dataplane is XDP');
  const calleeFacing = await reported(c, 'callee');
  const callerFacing = await reported(c, 'caller');
  // Hold (c=0.0.0.0) and resume: the resumed answer names the same relay port.
  t.is(await reported(c, 'resumed'), callerFacing, 'the ports survive hold and resume');
  for (const port of [callerFacing, calleeFacing]) {
    t.true(
      port >= RANGE.min && port < RANGE.max,
      `relay port ${port} in mediaportmin..mediaportmax`,
    );
    t.is(port % 2, 0, 'RTP on an even port (RTCP on the next)');
  }
  const toCaller = { ip: c.h.tollgate.toCaller.v4, port: callerFacing };
  const toCallee = { ip: c.h.tollgate.toCallee.v4, port: calleeFacing };

  // Latching: the first packets of each side go up to the relay, which programs the kernel.
  const atCallee = await flow(c.caller, c.callee, toCaller, 'a', 20);
  t.true(
    atCallee.every((p) => p.from === toCallee.ip && p.port === toCallee.port),
    'the callee hears the relay, never the caller',
  );
  const atCaller = await flow(c.callee, c.caller, toCallee, 'b', 20);
  t.true(atCaller.every((p) => p.from === toCaller.ip && p.port === toCaller.port));

  // After latching the kernel forwards: 200 more each way, and the daemon's relay sees none.
  const latched = (await stats(c.d)).media.received;
  await flow(c.caller, c.callee, toCaller, 'c', 200);
  await flow(c.callee, c.caller, toCallee, 'd', 200);
  const after = await stats(c.d);
  t.is(after.media.received, latched, 'the relay process saw zero media after latching');
  t.log(`packets seen by the relay process: ${latched} (of 440 relayed)`);

  // A third address injects into the caller-facing port: dropped in XDP, counted.
  await c.third.send({ to: toCaller.ip, port: toCaller.port, count: 30, payload: 'x', size: 172 });
  await flow(c.caller, c.callee, toCaller, 'e', 5);
  t.is(c.callee.received.filter(startsWith('x')).length, 0, 'nothing injected reached the callee');
  const injected = await until(async () => {
    const s = await stats(c.d);
    return s.drops.rtp_source - after.drops.rtp_source >= 30 ? s : undefined;
  }, 'the kernel to count the injected packets');
  t.is(injected.drops.rtp_source - after.drops.rtp_source, 30);
  t.is(injected.media.received, latched, 'the injection never reached userspace either');

  const [calling, answering] = await c.done;
  t.is(calling.exitCode, 0, calling.output);
  t.is(answering.exitCode, 0, answering.output);

  // The call is over: its ports drop everything, in the kernel.
  const ended = await until(async () => {
    const s = await stats(c.d);
    return s.media.sessions === 0 ? s : undefined;
  }, 'the relay session to end');
  await c.caller.send({ to: toCaller.ip, port: toCaller.port, count: 10, payload: 'z' });
  const dropped = await until(async () => {
    const s = await stats(c.d);
    return s.drops.rtp_unallocated - ended.drops.rtp_unallocated >= 10 ? s : undefined;
  }, 'the kernel to drop packets to the ended call port');
  t.is(dropped.drops.rtp_unallocated - ended.drops.rtp_unallocated, 10);
  t.is(c.callee.received.filter(startsWith('z')).length, 0);
  t.is(dropped.media.portsInUse, 0, 'every port went back to the pool');
  t.is(await c.d.stop(), 0);
});

test('mediatimeout: a call whose media stops is torn down (BYE to both phones) and its ports freed', async (t) => {
  const c = await startCall(t, { checkrtpaddr: 2, mediatimeout: 2, dataplanemode: 'off' }, [
    'early-offer',
    'wait-bye',
  ]);
  const callerFacing = await reported(c, 'caller');
  await flow(c.caller, c.callee, { ip: c.h.tollgate.toCaller.v4, port: callerFacing }, 'a', 10);
  // Then silence: both SIPp runs end only when each got tollgate's BYE.
  const [calling, answering] = await c.done;
  t.is(calling.exitCode, 0, calling.output);
  t.is(answering.exitCode, 0, answering.output);
  t.true(
    c.d
      .log()
      .split('\n')
      .some((l) => l.includes('call torn down') && l.includes('"rule":"mediatimeout"')),
    'tollgate logged the teardown by mediatimeout',
  );
  const s = await until(async () => {
    const x = await stats(c.d);
    return x.media.sessions === 0 ? x : undefined;
  }, 'the relay session to end');
  t.is(s.media.portsInUse, 0);
  t.is(await c.d.stop(), 0);
});

test('userspace relay (dataplane off), late offer: SDP in the 200 and the ACK, RTP both ways; checkrtpaddr 2 drops a third address', async (t) => {
  const c = await startCall(t, { checkrtpaddr: 2, dataplanemode: 'off' }, ['late-offer', 'talk'], {
    talk: 20_000,
  });
  const callerFacing = await reported(c, 'caller');
  const calleeFacing = await reported(c, 'callee');
  const toCaller = { ip: c.h.tollgate.toCaller.v4, port: callerFacing };
  const toCallee = { ip: c.h.tollgate.toCallee.v4, port: calleeFacing };
  const atCallee = await flow(c.caller, c.callee, toCaller, 'a', 50);
  t.true(atCallee.every((p) => p.from === toCallee.ip && p.port === toCallee.port));
  const atCaller = await flow(c.callee, c.caller, toCallee, 'b', 50);
  t.true(atCaller.every((p) => p.from === toCaller.ip && p.port === toCaller.port));
  const before = (await stats(c.d)).media;
  await c.third.send({ to: toCaller.ip, port: toCaller.port, count: 10, payload: 'x' });
  await flow(c.caller, c.callee, toCaller, 'e', 5);
  t.is(c.callee.received.filter(startsWith('x')).length, 0);
  const s = (await stats(c.d)).media;
  t.is(s.dropped.source - before.dropped.source, 10, 'each injected packet counted');
  t.true(s.forwarded >= 105, 'the userspace relay forwarded the media');
  const [calling, answering] = await c.done;
  t.is(calling.exitCode, 0, calling.output);
  t.is(answering.exitCode, 0, answering.output);
  t.is(await c.d.stop(), 0);
});

/** The caller's offer with a port out of range, expecting 488 with the parser's reason. */
function badOffer(xml: string): string {
  const bad = xml.replaceAll('m=audio [field3] RTP/AVP 0', 'm=audio 99999 RTP/AVP 0');
  const head = bad.slice(0, bad.indexOf('<recv response="180" optional="true"/>'));
  return `${head}
  <recv response="488">
    <action>
      <ereg regexp="^SIP/2.0 488 [^\r\n]*" search_in="msg" check_it="true" assign_to="why"/>
      <exec command="echo refused [$why] >> [field4]"/>
    </action>
  </recv>
  <send>
    <![CDATA[

      ACK sip:[field2]@[field1] SIP/2.0
      [last_Via:]
      From: <sip:[field0]@[field1]>;tag=[pid]SIPpTag00[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 2 ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
</scenario>
`;
}

test('a bad SDP offer is refused with 488 naming what is wrong; no relay port is kept', async (t) => {
  const c = await startCall(
    t,
    { dataplanemode: 'off' },
    ['early-offer'],
    {},
    {
      callerRewrite: badOffer,
      calleeRegistersOnly: true,
    },
  );
  const [calling] = await c.done;
  t.is(calling.exitCode, 0, calling.output);
  t.regex(readFileSync(c.report, 'utf8'), /^refused SIP\/2\.0 488 bad SDP media port$/m);
  const s = await stats(c.d);
  t.is(s.media.sessions, 0);
  t.is(s.media.portsInUse, 0);
  t.is(await c.d.stop(), 0);
});

test("blockearlymedia 3: the callee side's media after a 183 is muted until the 200, then relayed", async (t) => {
  const c = await startCall(
    t,
    { blockearlymedia: 3, checkrtpaddr: 1, dataplanemode: 'off' },
    ['early-offer', 'early', 'talk'],
    { early: 10_000, talk: 15_000 },
  );
  const calleeFacing = await reported(c, 'callee');
  const toCallee = { ip: c.h.tollgate.toCallee.v4, port: calleeFacing };
  await c.callee.send({ to: toCallee.ip, port: toCallee.port, count: 10, payload: 'e' });
  const muted = await until(async () => {
    const s = await stats(c.d);
    return s.media.dropped.early >= 10 ? s : undefined;
  }, 'the early media to be dropped');
  t.is(muted.media.dropped.early, 10);
  t.is(c.caller.received.filter(startsWith('e')).length, 0, 'the caller heard no early media');
  // The 200 reached the caller (it reports the port from it): the call is answered.
  const callerFacing = await reported(c, 'caller');
  const atCaller = await flow(c.callee, c.caller, toCallee, 'f', 10);
  t.true(
    atCaller.every((p) => p.port === callerFacing),
    'relayed once answered',
  );
  const [calling, answering] = await c.done;
  t.is(calling.exitCode, 0, calling.output);
  t.is(answering.exitCode, 0, answering.output);
  t.is(await c.d.stop(), 0);
});
