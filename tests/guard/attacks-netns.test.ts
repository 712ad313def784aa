// The appliance under attack by the real SIPVicious tools, end to end: the daemon runs in its
// own network namespace with the XDP dataplane; scanners, password guessers and legitimate
// phones are distinct hosts (addresses) in the other namespace. What an operator checks:
// `tollgatectl bans --json` explains each ban (rule, count, threshold), `tollgatectl stats
// --json` shows the banned source's packets dying in the kernel, the daemon's log shows
// nothing more from it, and a legitimate phone at another address keeps registering.
//
// The 10.x test addresses are private, and trustlanip (default on) trusts private sources,
// which are never banned; these hosts stand for Internet hosts, so trustlanip is off here.
//
// Tests run one after another: each starts a daemon, SIPp and the tools on a 2-core machine,
// and the "nothing reaches the daemon" checks are clearer without a neighbour's traffic.
import { randomBytes } from 'node:crypto';
import test, { type ExecutionContext } from 'ava';
import { type RunningDaemon, startDaemon, testConfig } from '../helpers/daemon.ts';
import { keepRegistering } from '../helpers/keep-registering.ts';
import { createLink, type Link } from '../helpers/netns.ts';
import { sendUdp } from '../helpers/packets.ts';
import { runSipp, type SippUser } from '../helpers/sipp.ts';
import { routeFrom, type SipviciousOptions, startSipvicious } from '../helpers/sipvicious.ts';
import { tempDir } from '../helpers/tmp.ts';

const SIP_PORT = 5060;
const ALICE: SippUser = { user: 'alice', password: 'Quiet-meadow-8371' };
const BOB: SippUser = { user: 'bob', password: 'Amber-river-5529' };
const CAROL: SippUser = { user: 'carol', password: 'Stone-bridge-4410' };
/** A User-Agent no list blocks: the tool must then be caught by what it does. */
const DISGUISE = 'Zoiper rv2.10.20.2';

interface Evidence {
  reason: string;
  rule: string;
  scope: string;
  ip: string;
  count: number;
  threshold: number;
  windowSeconds: number;
  userAgent?: string;
  user?: string;
  last: { at: number; method?: string; sample?: string };
}

interface Ban {
  ip: string;
  /** 'ip' (kernel ban of the address) or 'ip:port' (the guard's userspace ban of one source). */
  scope: 'ip' | 'ip:port';
  port?: number;
  reason: string;
  origin: string;
  expiresAt: number;
  evidence?: Evidence;
}

interface Appliance {
  link: Link;
  d: RunningDaemon;
  dataDir: string;
  configFile: string;
  /** The daemon's SIP address:port. */
  target: { ip: string; port: number };
  /** The attacking host (a second address on side a; the tools send from it). */
  attacker: string;
  /** The legitimate phone's host (side a's first address). */
  phone: string;
}

/** Daemon in side b with the XDP dataplane; accounts alice, bob, carol; attacker routed. */
async function appliance(
  t: ExecutionContext,
  overrides: Record<string, string | number> = {},
): Promise<Appliance> {
  const link = await createLink(t);
  const attacker = link.hostV4(66);
  await link.addAddress(link.a, attacker);
  // svwar and svcrack 0.3.3 ignore -b: their source is whatever the route picks.
  await routeFrom(link.a.ns, link.a.ifname, link.b.v4, attacker);
  const dataDir = tempDir(t);
  const configFile = await testConfig(dataDir, {
    sipaddress: link.b.v4,
    sipport: SIP_PORT,
    sipsport: SIP_PORT + 1,
    dataplanemode: 'auto',
    trustlanip: 'false',
    ...overrides,
  });
  const d = await startDaemon(t, { dataDir, configFile, netns: link.b.ns });
  const status = JSON.parse((await d.ctl('status', '--json')).stdout);
  t.regex(status.dataplane.mode, /^xdp/, 'the kernel dataplane is XDP');
  for (const u of [ALICE, BOB, CAROL]) {
    const added = await d.ctl('users', 'add', u.user, '--password', u.password);
    t.is(added.code, 0, added.stderr);
  }
  return {
    link,
    d,
    dataDir,
    configFile,
    target: { ip: link.b.v4, port: SIP_PORT },
    attacker,
    phone: link.a.v4,
  };
}

function legitimatePhone(t: ExecutionContext, a: Appliance) {
  return keepRegistering(t, {
    netns: a.link.a.ns,
    localIp: a.phone,
    target: a.target,
    transport: 'udp',
    account: ALICE,
  });
}

/**
 * A legitimate call while an attack goes on: bob (his own host on side a) registers and
 * answers, alice (the phone's host) calls him with digest authentication, through the proxy.
 * SIPp hands an incoming INVITE to a scenario only if it has that scenario's Call-ID, hence
 * the shared -cid_str (see tests/sip/proxy-sipp.test.ts).
 */
async function placeCall(t: ExecutionContext, a: Appliance): Promise<void> {
  const bobHost = a.link.hostV4(77);
  await a.link.addAddress(a.link.a, bobHost);
  const callIds = `attackcall-${randomBytes(4).toString('hex')}-%u`;
  const side = { netns: a.link.a.ns, target: a.target, transport: 'udp' as const };
  const callee = runSipp(t, {
    ...side,
    scenario: 'answer-register.xml',
    account: BOB,
    localIp: bobHost,
    fields: [BOB.user, 'tollgate'],
    extraArgs: ['-cid_str', callIds],
    timeoutSeconds: 30,
  });
  await eventually('bob to register', async () =>
    JSON.parse((await a.d.ctl('status', '--json')).stdout).registrations >= 2 ? true : undefined,
  );
  const call = await runSipp(t, {
    ...side,
    scenario: 'call-auth.xml',
    account: ALICE,
    localIp: a.phone,
    fields: [ALICE.user, 'tollgate', BOB.user],
    extraArgs: ['-cid_str', callIds],
    timeoutSeconds: 30,
  });
  t.is(call.exitCode, 0, `caller: ${call.output}`);
  t.is((await callee).exitCode, 0, 'the callee answered and the call ended with BYE');
}

function attack(
  t: ExecutionContext,
  a: Appliance,
  o: Omit<SipviciousOptions, 'ns' | 'bindIp' | 'timeoutSeconds'> & { timeoutSeconds?: number },
) {
  // 60 s bounds a tool that hangs; they stop by themselves (--maximumtime) well before,
  // but on a busy machine Python alone can take seconds to start.
  return startSipvicious(t, { timeoutSeconds: 60, ...o, ns: a.link.a.ns, bindIp: a.attacker });
}

async function bans(d: RunningDaemon): Promise<Ban[]> {
  const r = await d.ctl('bans', '--json');
  if (r.code !== 0) throw new Error(`tollgatectl bans: ${r.stderr}`);
  return JSON.parse(r.stdout) as Ban[];
}

async function bannedDrops(d: RunningDaemon): Promise<number> {
  const r = await d.ctl('stats', '--json');
  if (r.code !== 0) throw new Error(`tollgatectl stats: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { drops: Record<string, number> }).drops.banned ?? 0;
}

/** Polls `check` until it returns a value (not undefined); fails after timeoutMs (a safety net). */
async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The kernel ban of an address (not its IP:port bans). */
async function banOf(d: RunningDaemon, ip: string, timeoutMs?: number): Promise<Ban> {
  return eventually(
    `a ban of ${ip}`,
    async () => (await bans(d)).find((b) => b.ip === ip && b.scope === 'ip'),
    timeoutMs,
  );
}

/** The daemon's log lines (pino JSON) about one source address. */
function linesFrom(d: RunningDaemon, ip: string): Array<Record<string, unknown>> {
  return d
    .log()
    .split('\n')
    .filter((l) => l.includes(`"ip":"${ip}"`))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/**
 * Sends `count` SIP-looking datagrams from the attacker; true when the kernel's banned
 * counter grew by at least `count` (it may grow by more: a tool's last retransmissions).
 */
async function allDropped(a: Appliance, count: number, marker: string): Promise<boolean> {
  const before = await bannedDrops(a.d);
  await sendUdp(a.link.a.ns, {
    from: a.attacker,
    to: a.target.ip,
    port: a.target.port,
    count,
    payload: `OPTIONS sip:${marker}@${a.target.ip} SIP/2.0\r\n`,
  });
  // The counter is read from the kernel map; give the last datagrams time to be counted.
  return eventually(
    'the banned counter',
    async () => ((await bannedDrops(a.d)) - before >= count ? true : undefined),
    30_000,
  ).catch(() => false);
}

test.serial(
  'svmap: the scanner is banned by its User-Agent and dropped in the kernel',
  async (t) => {
    const a = await appliance(t);
    const phone = legitimatePhone(t, a);
    await phone.waitForSuccesses(1, 20_000);

    const scan = await attack(t, a, { tool: 'svmap', args: ['-p', String(SIP_PORT), a.target.ip] })
      .exited;
    t.regex(scan.output, /found nothing/, 'svmap learned nothing about the server');
    const ban = await banOf(a.d, a.attacker);
    t.is(ban.origin, 'auto');
    t.is(ban.evidence?.rule, 'blockua');
    t.is(ban.evidence?.userAgent, 'friendly-scanner');
    t.is(ban.evidence?.last.method, 'OPTIONS');
    t.regex(ban.reason, /friendly-scanner/);
    t.true(ban.expiresAt > Date.now(), 'the ban expires (reenabledosblocked), it is not forever');

    // The scanner comes back: this time the kernel drops it, userspace never sees it.
    const logged = linesFrom(a.d, a.attacker).length;
    const before = await bannedDrops(a.d);
    const again = await attack(t, a, { tool: 'svmap', args: ['-p', String(SIP_PORT), a.target.ip] })
      .exited;
    t.regex(again.output, /found nothing/);
    t.true((await bannedDrops(a.d)) > before, 'the second scan died in XDP');
    t.true(await allDropped(a, 30, 'svmap-again'), 'every datagram from the scanner is dropped');
    t.is(linesFrom(a.d, a.attacker).length, logged, 'nothing more from the scanner was logged');

    await phone.waitForSuccesses(1, 20_000);
    const tally = await phone.stop();
    t.is(tally.failed, 0, tally.failures.join('\n---\n'));
    t.is(await a.d.stop(), 0);
  },
);

test.serial(
  'svwar OPTIONS sweep in disguise: banned at blockscanning_treshold, then dropped in the kernel',
  async (t) => {
    const threshold = 7;
    const a = await appliance(t, { blockscanning_treshold: threshold });
    const phone = legitimatePhone(t, a);
    await phone.waitForSuccesses(1, 20_000);

    // tollgate proxies an OPTIONS for a user under the same admission as a call, so every
    // extension, real or not, gets the same 407: svwar learns nothing and gives up after its
    // probe and the first extension or two. A persistent scanner runs it again, and the
    // guard counts the users its OPTIONS name across the runs.
    const runs: string[] = [];
    let ban: Ban | undefined;
    for (let i = 0; i < 10 && !ban; i++) {
      const first = 100 * (i + 1);
      const run = attack(t, a, {
        tool: 'svwar',
        userAgent: DISGUISE,
        args: [
          '-m',
          'OPTIONS',
          '-e',
          `${first}-${first + 99}`,
          '--force',
          '--maximumtime',
          '2',
          `udp://${a.target.ip}:${SIP_PORT}`,
        ],
        timeoutSeconds: 15,
      });
      await eventually('svwar OPTIONS to give up', () =>
        /unknown response|No server response|found nothing/.test(run.output()) ||
        run.process.exitCode !== null ||
        run.process.signalCode !== null
          ? true
          : undefined,
      );
      await run.stop();
      runs.push(run.output().slice(-300));
      t.notRegex(run.output(), /exists/, 'svwar found no extension');
      ban = (await bans(a.d)).find((b) => b.ip === a.attacker);
    }
    t.truthy(ban, `banned after ${runs.length} svwar runs:\n${runs.join('\n')}`);
    t.is(ban?.evidence?.rule, 'blockscanning_treshold');
    t.is(ban?.evidence?.count, threshold, 'banned when the count reached the configured threshold');
    t.is(ban?.evidence?.threshold, threshold);
    t.is(ban?.evidence?.userAgent, DISGUISE, 'banned for what it did, not for its name');
    t.is(ban?.evidence?.last.method, 'OPTIONS');
    t.log(`svwar OPTIONS: banned during run ${runs.length}, at ${ban?.evidence?.count} usernames`);
    t.true(await allDropped(a, 40, 'svwar-more'));

    await phone.waitForSuccesses(1, 20_000);
    const tally = await phone.stop();
    t.is(tally.failed, 0, tally.failures.join('\n---\n'));
    t.is(await a.d.stop(), 0);
  },
);

test.serial(
  'svwar REGISTER/INVITE sweeps learn nothing; a scanner that keeps trying is banned at the threshold',
  async (t) => {
    const threshold = 6;
    const a = await appliance(t, { blockscanning_treshold: threshold });
    const phone = legitimatePhone(t, a);
    await phone.waitForSuccesses(1, 20_000);

    // tollgate challenges every extension alike (401 for REGISTER, 407 for INVITE), so svwar
    // sees no difference between existing and made-up extensions and gives up after its probe
    // and the first extension or two. A persistent scanner simply runs it again.
    const runs: string[] = [];
    let ban: Ban | undefined;
    for (const [i, method] of [
      'REGISTER',
      'INVITE',
      'REGISTER',
      'INVITE',
      'REGISTER',
      'INVITE',
      'REGISTER',
      'INVITE',
    ].entries()) {
      const first = 100 * (i + 1);
      const run = attack(t, a, {
        tool: 'svwar',
        userAgent: DISGUISE,
        args: [
          '-m',
          method,
          '-e',
          `${first}-${first + 99}`,
          '--force',
          '--maximumtime',
          '2',
          `udp://${a.target.ip}:${SIP_PORT}`,
        ],
        timeoutSeconds: 15,
      });
      // Once svwar has given up ("unknown response": every extension answered alike) it
      // still waits out its socket timeout before exiting; no need to wait with it. (Its
      // own 15 s bound ends it anyway: on a busy machine it may not get that far.)
      await eventually(`svwar ${method} to give up`, () =>
        /unknown response|No server response/.test(run.output()) ||
        run.process.exitCode !== null ||
        run.process.signalCode !== null
          ? true
          : undefined,
      );
      await run.stop();
      runs.push(`${method}: ${run.output().slice(-300)}`);
      t.notRegex(run.output(), /exists/, `svwar ${method} found no extension`);
      ban = (await bans(a.d)).find((b) => b.ip === a.attacker);
      if (ban) break;
    }
    t.truthy(ban, `banned after ${runs.length} svwar runs:\n${runs.join('\n')}`);
    t.is(ban?.evidence?.rule, 'blockscanning_treshold');
    t.is(ban?.evidence?.count, threshold);
    t.is(ban?.evidence?.userAgent, DISGUISE);
    t.log(
      `svwar REGISTER/INVITE: banned during run ${runs.length}, at ${ban?.evidence?.count} usernames`,
    );
    t.true(await allDropped(a, 40, 'svwar-after'), 'then dropped in the kernel');

    await phone.waitForSuccesses(1, 20_000);
    const tally = await phone.stop();
    t.is(tally.failed, 0, tally.failures.join('\n---\n'));
    t.is(await a.d.stop(), 0);
  },
);

test.serial(
  'svcrack as itself is banned on its first request; in disguise at maxwrongauthfromip',
  async (t) => {
    const limit = 6;
    // Only maxwrongauthfromip counts here (the IP:port and IP failed-auth rules are off).
    const a = await appliance(t, {
      maxfailedauthenabledipport: 0,
      maxfailedauthenabledip: 0,
      maxwrongauthfromip: limit,
    });
    const phone = legitimatePhone(t, a);
    await phone.waitForSuccesses(1, 20_000);

    const plain = attack(t, a, {
      tool: 'svcrack',
      args: [
        '-u',
        BOB.user,
        '-r',
        '100000-100100',
        '--maximumtime',
        '2',
        `udp://${a.target.ip}:${SIP_PORT}`,
      ],
      timeoutSeconds: 15,
    });
    const uaBan = await banOf(a.d, a.attacker);
    // svcrack waits 10 s (its socket timeout) for an answer that never comes: no need to.
    await plain.stop();
    t.notRegex(plain.output(), /The password for/);
    t.is(uaBan.evidence?.rule, 'blockua');
    t.is(
      linesFrom(a.d, a.attacker).filter((l) => l.msg === 'REGISTER refused').length,
      0,
      'not one password was tried',
    );
    t.is((await a.d.ctl(`delbanned,${a.attacker}`)).code, 0);
    await eventually('the ban lifted', async () =>
      (await bans(a.d)).some((b) => b.ip === a.attacker) ? undefined : true,
    );

    const before = await bannedDrops(a.d);
    const guesser = attack(t, a, {
      tool: 'svcrack',
      userAgent: DISGUISE,
      args: [
        '-u',
        BOB.user,
        '-r',
        '100000-100100',
        '--maximumtime',
        '3',
        `udp://${a.target.ip}:${SIP_PORT}`,
      ],
      timeoutSeconds: 20,
    });
    const ban = await banOf(a.d, a.attacker);
    t.is(ban.evidence?.rule, 'maxwrongauthfromip');
    t.is(ban.evidence?.count, limit);
    t.is(ban.evidence?.threshold, limit);
    t.is(ban.evidence?.user, BOB.user);
    t.is(ban.evidence?.userAgent, DISGUISE);
    const refused = () => linesFrom(a.d, a.attacker).filter((l) => l.msg === 'REGISTER refused');
    // Wait until the kernel drops it, then nothing more may reach the daemon.
    await eventually('kernel drops', async () =>
      (await bannedDrops(a.d)) > before ? true : undefined,
    );
    const refusedAtBan = refused().length;
    t.is(refusedAtBan, limit, 'exactly `limit` wrong passwords were answered, not one more');
    // While the banned guesser keeps sending, alice calls bob (another host) through tollgate.
    await placeCall(t, a);
    // svcrack stops sending after --maximumtime without an answer (then idles 10 s), or its
    // time runs out first when the call above took long on a busy machine.
    await eventually('svcrack to give up', () =>
      /since we last received a response/.test(guesser.output()) ||
      guesser.process.exitCode !== null ||
      guesser.process.signalCode !== null
        ? true
        : undefined,
    );
    await guesser.stop();
    t.notRegex(guesser.output(), /The password for/, 'the password was not found');
    const dropped = (await bannedDrops(a.d)) - before;
    t.true(dropped > 0, 'it kept sending and the kernel dropped it');
    t.is(refused().length, refusedAtBan, 'no new log lines from the guesser after the ban');
    t.log(
      `svcrack disguised: banned at ${ban.evidence?.count} failures; ${dropped} packets dropped in XDP after`,
    );

    await phone.waitForSuccesses(1, 20_000);
    const tally = await phone.stop();
    t.is(tally.failed, 0, tally.failures.join('\n---\n'));
    t.is(await a.d.stop(), 0);
  },
);

test.serial(
  'NAT: a guesser is banned per IP:port first, its neighbour behind the same address keeps registering until maxfailedauthenabledip',
  async (t) => {
    const perPort = 4;
    const perIp = 10;
    const a = await appliance(t, {
      maxfailedauthenabledipport: perPort,
      maxfailedauthenabledip: perIp,
      maxwrongauthfromip: 1000,
    });
    const phone = legitimatePhone(t, a);
    // The second device behind the guesser's NAT address, on its own source port.
    const natPhone = keepRegistering(t, {
      netns: a.link.a.ns,
      localIp: a.attacker,
      localPort: 5999,
      target: a.target,
      transport: 'udp',
      account: CAROL,
    });
    await natPhone.waitForSuccesses(1, 20_000);

    const refusedFrom = (port?: number) =>
      linesFrom(a.d, a.attacker).filter(
        (l) => l.msg === 'REGISTER refused' && (port === undefined || l.port === port),
      ).length;
    const portBanLines = () =>
      linesFrom(a.d, a.attacker).filter((l) => l.msg === 'IP:port banned (enforced in userspace)');

    // The guesser moves to a new source port each time one is banned. (Not 5060: SIPp given
    // `-p 0` binds 5060 when it is free, and svcrack would silently move to the next port.)
    for (const [i, port] of [15060, 15061].entries()) {
      const guesser = attack(t, a, {
        tool: 'svcrack',
        userAgent: DISGUISE,
        localPort: port,
        args: [
          '-u',
          BOB.user,
          '-r',
          `${200000 + i * 1000}-${200000 + i * 1000 + 99}`,
          '--maximumtime',
          '2',
          `udp://${a.target.ip}:${SIP_PORT}`,
        ],
        timeoutSeconds: 20,
      });
      const line = await eventually(`IP:port ban of ${a.attacker}:${port}`, () =>
        portBanLines().find((l) => l.port === port),
      ).catch((err) => {
        t.log(guesser.output().slice(-1000));
        throw err;
      });
      t.is(line.rule, 'maxfailedauthenabledipport');
      t.is(line.count, perPort);
      t.is(line.threshold, perPort);
      await guesser.stop();
      t.is(refusedFrom(port), perPort, `exactly ${perPort} wrong passwords from port ${port}`);
      const listed = await bans(a.d);
      const early = listed.find((b) => b.ip === a.attacker && b.scope === 'ip');
      t.is(early, undefined, `the address itself is not banned yet: ${JSON.stringify(early)}`);
      t.like(
        listed.find((b) => b.scope === 'ip:port' && b.port === port),
        { ip: a.attacker, evidence: { rule: 'maxfailedauthenabledipport', count: perPort } },
        '`tollgatectl bans` explains the IP:port ban',
      );
      // Its neighbour behind the same address is still served.
      await natPhone.waitForSuccesses(1, 20_000);
    }
    t.is(refusedFrom(), 2 * perPort);

    const before = await bannedDrops(a.d);
    const last = attack(t, a, {
      tool: 'svcrack',
      userAgent: DISGUISE,
      localPort: 15062,
      args: [
        '-u',
        BOB.user,
        '-r',
        '300000-300099',
        '--maximumtime',
        '2',
        `udp://${a.target.ip}:${SIP_PORT}`,
      ],
      timeoutSeconds: 20,
    });
    const ban = await banOf(a.d, a.attacker);
    t.is(ban.evidence?.rule, 'maxfailedauthenabledip');
    t.is(ban.evidence?.count, perIp);
    t.is(ban.evidence?.threshold, perIp);
    t.is(ban.evidence?.scope, 'ip');
    await eventually('kernel drops', async () =>
      (await bannedDrops(a.d)) > before ? true : undefined,
    );
    t.is(refusedFrom(), perIp, 'the whole address was banned at the configured count');
    await last.stop();

    // Now the whole address is dropped in the kernel, the NAT neighbour included.
    const natTally = await natPhone.stop();
    t.is(
      natTally.failed <= 1,
      true,
      `the NAT neighbour was served until the IP ban: ${natTally.failures.join('\n')}`,
    );
    const blocked = await runSipp(t, {
      scenario: 'register.xml',
      netns: a.link.a.ns,
      localIp: a.attacker,
      localPort: 5999,
      target: a.target,
      transport: 'udp',
      account: CAROL,
      timeoutSeconds: 3,
    });
    t.is(blocked.successful, 0, 'after maxfailedauthenabledip the neighbour is banned too');
    t.true(await allDropped(a, 30, 'nat-after'));
    t.is(refusedFrom(), perIp, 'nothing more from that address reached the registrar');
    t.log(
      `NAT: IP:port bans at ${perPort} (ports 15060, 15061), IP ban at ${ban.evidence?.count}; neighbour registered ${natTally.ok} times`,
    );

    await phone.waitForSuccesses(1, 20_000);
    const tally = await phone.stop();
    t.is(tally.failed, 0, tally.failures.join('\n---\n'));
    t.is(await a.d.stop(), 0);
  },
);

test.serial(
  'a guard ban survives a restart (kernel and store) and delbanned lifts it everywhere',
  async (t) => {
    const a = await appliance(t);
    await attack(t, a, { tool: 'svmap', args: ['-p', String(SIP_PORT), a.target.ip] }).exited;
    const ban = await banOf(a.d, a.attacker);
    t.is(ban.evidence?.rule, 'blockua');
    t.is(await a.d.stop(), 0, 'SIGTERM: a clean stop');

    const d = await startDaemon(t, {
      dataDir: a.dataDir,
      configFile: a.configFile,
      netns: a.link.b.ns,
    });
    const again = { ...a, d };
    const restored = (await bans(d)).find((b) => b.ip === a.attacker);
    t.deepEqual(restored, ban, 'listed after the restart with the same evidence and expiry');
    t.true(await allDropped(again, 30, 'after-restart'), 'dropped in the kernel after the restart');
    const svmap = await attack(t, again, {
      tool: 'svmap',
      userAgent: DISGUISE,
      args: ['-p', String(SIP_PORT), a.target.ip],
    }).exited;
    t.regex(svmap.output, /found nothing/, 'even in disguise it reaches nothing');

    const lifted = await d.ctl(`delbanned,${a.attacker}`);
    t.is(lifted.code, 0, lifted.stderr);
    t.deepEqual(
      (await bans(d)).filter((b) => b.ip === a.attacker),
      [],
      'gone from the store',
    );
    const before = await bannedDrops(d);
    // The same host, now as a phone: its packets reach the daemon and it is served (the
    // guard forgot the ban too, or it would drop them in userspace).
    const registered = await runSipp(t, {
      scenario: 'register.xml',
      netns: a.link.a.ns,
      localIp: a.attacker,
      target: a.target,
      transport: 'udp',
      account: CAROL,
      timeoutSeconds: 10,
    });
    t.is(registered.successful, 1, registered.output);
    const found = await attack(t, again, {
      tool: 'svmap',
      userAgent: DISGUISE,
      args: ['-p', String(SIP_PORT), a.target.ip],
    }).exited;
    t.regex(
      found.output,
      new RegExp(a.target.ip.replaceAll('.', '\\.')),
      'svmap now finds the server',
    );
    t.is((await bannedDrops(d)) - before, 0, 'nothing dropped as banned any more');
    t.is(await d.stop(), 0);
  },
);
