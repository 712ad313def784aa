// Slowloris against the real daemon (issue 16 §4): the total connection cap is held full with
// idle and with one-octet-a-second TCP and TLS connections from many addresses of a
// namespace, and legitimate phones still register over TCP and TLS. Caps and deadlines are
// scaled down through the config so it runs in seconds; every wait is on a log line or a
// status line, never on the clock.
import test from 'ava';
import { startConnectionLoad } from '../helpers/connection-load.ts';
import { type RunningDaemon, startDaemon, testConfig } from '../helpers/daemon.ts';
import { createLink } from '../helpers/netns.ts';
import { tempDir } from '../helpers/tmp.ts';

const USER = 'alice';
const PASSWORD = 'Exhaustion4321secret';
const REALM = 'tollgate';
const TOTAL = 60;

interface LogLine {
  msg: string;
  ip?: string;
  limit?: string;
  count?: number;
  for?: string;
}

function lines(d: RunningDaemon): LogLine[] {
  return d
    .log()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}

async function logged(
  d: RunningDaemon,
  cond: (l: LogLine) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<LogLine> {
  for (let waited = 0; ; waited += 25) {
    const hit = lines(d).find(cond);
    if (hit) return hit;
    if (waited > timeoutMs) throw new Error(`no log line: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('a cap held full by idle and slow connections: TCP and TLS REGISTERs still succeed, the slow ones meet their deadline, evictions are logged and counted', async (t) => {
  const link = await createLink(t);
  const dataDir = tempDir(t);
  const tcpPort = 5060;
  const tlsPort = 5061;
  const configFile = await testConfig(dataDir, {
    sipaddress: link.b.v4,
    sipport: tcpPort,
    sipsport: tlsPort,
    realm: REALM,
    maxtcpconn: TOTAL,
    maxtcpconnperip: 4,
    // Idle holders stay for the whole test; slow ones meet the message deadline.
    sipfirstmsgtimeout: 60,
    sipmsgtimeout: 2,
    siptlshandshaketimeout: 2,
    // The guard counts what the connection limits did to each address (the namespace's
    // addresses are private: LAN trust off, or it would not count them at all).
    trustlanip: 0,
    maxconnlimithits: 10,
  });
  const d = await startDaemon(t, { dataDir, configFile, netns: link.b.ns });
  const added = await d.ctl('users', 'add', USER, '--password', PASSWORD);
  t.is(added.code, 0, added.stderr);

  // 15 attacker addresses × (2 idle TCP + 1 slow TCP + 1 idle TLS) = the 60 the cap allows.
  const attackers = Array.from({ length: 15 }, (_, i) => link.hostV4(10 + i));
  for (const a of attackers) await link.addAddress(link.a, a);
  const holders = startConnectionLoad(
    link.a.ns,
    {
      mode: 'hold',
      target: link.b.v4,
      tcpPort,
      tlsPort,
      sources: attackers,
      kinds: [
        { transport: 'tcp', behaviour: 'idle', perSource: 2 },
        { transport: 'tcp', behaviour: 'slow', perSource: 1 },
        { transport: 'tls', behaviour: 'idle', perSource: 1 },
      ],
      slowIntervalMs: 1000,
      reconnectMs: 200,
    },
    t,
  );
  await holders.until((s) => s.open >= TOTAL, `${TOTAL} connections held`);

  // A phone registers over TCP and keeps its connection, another over TLS.
  const phone = (transport: 'tcp' | 'tls', keepOpen: boolean) =>
    startConnectionLoad(
      link.a.ns,
      {
        mode: 'register',
        target: link.b.v4,
        port: transport === 'tcp' ? tcpPort : tlsPort,
        transport,
        from: [link.a.v4],
        user: USER,
        password: PASSWORD,
        domain: REALM,
        count: 1,
        concurrency: 1,
        timeoutMs: 10_000,
        keepOpen,
      },
      t,
    );
  const tcp = phone('tcp', true);
  const [tcpResult] = await tcp.resultsDone(1);
  t.like(tcpResult, { ok: true, status: 200 }, `TCP REGISTER: ${JSON.stringify(tcpResult)}`);
  const tls = phone('tls', false);
  const [tlsResult] = await tls.resultsDone(1);
  t.like(tlsResult, { ok: true, status: 200 }, `TLS REGISTER: ${JSON.stringify(tlsResult)}`);

  // The phone's connections were let in by evicting holders: logged, with a running count.
  const eviction = await logged(
    d,
    (l) => l.limit === 'evicted' && l.for === link.a.v4,
    'an eviction for the phone',
  );
  t.true(attackers.includes(eviction.ip!), `an attacker's connection went: ${eviction.ip}`);
  t.true(eviction.count! >= 1);

  // The one-octet-a-second connections are closed by the message deadline.
  const slow = await logged(d, (l) => l.limit === 'message_timeout', 'a message deadline close');
  t.true(attackers.includes(slow.ip!));
  t.regex(slow.msg, /not complete within 2 s of its first octet/);
  await holders.until((s) => (s.closed['tcp-slow'] ?? 0) >= 15, 'every slow connection closed');

  // The holders keep reconnecting and evicting each other; the registered connection is never
  // the one to go (it carries a live registration): many evictions later it is still open.
  const before = eviction.count!;
  await logged(
    d,
    (l) => l.limit === 'evicted' && (l.count ?? 0) >= before + 20,
    '20 more evictions',
    60_000,
  );
  t.is(tcp.keptClosed(), 0, 'the registered TCP connection is still open');
  t.false(
    lines(d).some((l) => l.limit === 'evicted' && l.ip === link.a.v4),
    'no connection of the phone was evicted',
  );

  // The operator sees the same counts in stats.
  const stats = JSON.parse((await d.ctl('stats', '--json')).stdout) as {
    connections: { open: number; limits: { evicted: number; message_timeout: number } };
  };
  t.true(stats.connections.limits.evicted >= before + 20, JSON.stringify(stats.connections));
  t.true(stats.connections.limits.message_timeout > 0, 'slow senders closed by their deadline');

  // The guard heard every eviction and deadline close: attackers that keep hitting them are
  // banned, with the rule as the reason; the phone is not.
  const bans = await bannedFor(d, /^maxconnlimithits: /);
  t.true(bans.length > 0 && bans.every((b) => attackers.includes(b.ip)), JSON.stringify(bans));
  t.false(bans.some((b) => b.ip === link.a.v4));
});

async function bannedFor(
  d: RunningDaemon,
  reason: RegExp,
): Promise<Array<{ ip: string; reason: string }>> {
  for (let waited = 0; ; waited += 100) {
    const r = await d.ctl('bans', '--json');
    const all = JSON.parse(r.stdout || '[]') as Array<{ ip: string; reason: string }>;
    const hits = all.filter((b) => reason.test(b.reason));
    if (hits.length > 0) return hits;
    if (waited > 30_000) throw new Error(`no ban for ${reason}: ${r.stdout}${r.stderr}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}
