// Whole dialogs through the real daemon between two real SIP clients (SIPp) in network
// namespaces, for every caller/callee transport pair of UDP, TCP and TLS: tollgate in one
// namespace (SIP on 5060, SIPS on 5061), the phones in the other. TLS phones are SIPp behind
// a TLS relay in their namespace (Debian's SIPp has no TLS): tollgate sees a real TLS peer.
//
// For each pair the callee registers, the caller calls (407, then authenticated), both sides
// send a re-INVITE (hold, resume) and one of them hangs up. What is checked is what a phone
// would see:
//   - the INVITE reaches the callee with no Route naming tollgate, and with a Record-Route
//     for each side that carries that side's transport (one entry when they match, two,
//     RFC 5658, when they differ);
//   - ACK, re-INVITE and BYE from either side reach the other on that side's own transport
//     (a UDP SIPp hears nothing sent over TCP, a TCP one nothing sent over UDP) and are
//     answered: SIPp's scenario completes only if every one of them arrived;
//   - no in-dialog request reaches a phone with tollgate's Route still on it;
//   - tollgate logs the end of the call.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { startDaemon, testConfig } from '../helpers/daemon.ts';
import { createLink } from '../helpers/netns.ts';
import { runSipp } from '../helpers/sipp.ts';
import { logLines, received, until } from '../helpers/sipp-world.ts';
import { tlsRelayIn } from '../helpers/tls-relay-child.ts';
import { tempDir } from '../helpers/tmp.ts';

type Transport = 'udp' | 'tcp' | 'tls';
const TRANSPORTS: readonly Transport[] = ['udp', 'tcp', 'tls'];
const DOMAIN = 'tollgate.test';
const PASSWORD = 'Dialog-both-ways-77';
const SIP_PORT = 5060;
const SIPS_PORT = 5061;

/** The Record-Route entry a phone on `transport` must be given to reach tollgate at `ip`. */
function facing(ip: string, transport: Transport, double: boolean): string {
  const r2 = double ? ';r2=on' : '';
  if (transport === 'udp') return `<sip:${ip}:${SIP_PORT};lr${r2}>`;
  const port = transport === 'tls' ? SIPS_PORT : SIP_PORT;
  return `<sip:${ip}:${port};transport=${transport};lr${r2}>`;
}

function expectedRecordRoute(ip: string, caller: Transport, callee: Transport): string {
  if (caller === callee) return facing(ip, caller, false);
  return `${facing(ip, callee, true)}, ${facing(ip, caller, true)}`;
}

const headerLines = (message: string, name: string) =>
  message
    .split(/\r?\n/)
    .filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`))
    .map((l) => l.slice(name.length + 1).trim());

const firstLine = (message: string) => message.split(/\r?\n/, 1)[0] ?? '';

/** Keeps the BYE block of the side that hangs up, drops the other side's. */
function hangUpBy(side: 'caller' | 'callee') {
  const other = side === 'caller' ? 'callee' : 'caller';
  return (xml: string) =>
    xml.replace(new RegExp(`<!-- ${other}-bye -->[\\s\\S]*?<!-- /${other}-bye -->`), '');
}

async function callsFrom(t: ExecutionContext, caller: Transport): Promise<void> {
  t.timeout(6 * 60_000); // three calls, each bounded by SIPp's 60 s
  const link = await createLink(t);
  const dataDir = tempDir(t);
  const configFile = await testConfig(dataDir, {
    sipaddress: link.a.v4,
    sipport: SIP_PORT,
    sipsport: SIPS_PORT,
    realm: DOMAIN,
  });
  const d = await startDaemon(t, { dataDir, configFile, netns: link.a.ns });
  const relay = await tlsRelayIn(t, link.b.ns, {
    listen: link.b.v4,
    target: { ip: link.a.v4, port: SIPS_PORT },
  });
  const reach = (transport: Transport) =>
    transport === 'tls'
      ? { target: { ip: link.b.v4, port: relay.port }, transport: 'tcp' as const }
      : { target: { ip: link.a.v4, port: SIP_PORT }, transport };
  const callerUser = { user: `alice-${caller}`, password: PASSWORD };
  for (const u of [callerUser.user, ...TRANSPORTS.map((c) => `bob-${caller}-${c}`)]) {
    const added = await d.ctl('users', 'add', u, '--password', PASSWORD);
    t.is(added.code, 0, added.stderr);
  }

  for (const [i, callee] of TRANSPORTS.entries()) {
    const calleeUser = { user: `bob-${caller}-${callee}`, password: PASSWORD };
    const pair = `${caller.toUpperCase()} → ${callee.toUpperCase()}`;
    // Who hangs up alternates, so each transport is hung up on from both sides in the matrix.
    const side = (TRANSPORTS.indexOf(caller) + i) % 2 === 0 ? 'caller' : 'callee';
    const dir = tempDir(t, 'tollgate-dialog-');
    const callIds = `tgdlg-${randomBytes(4).toString('hex')}-%u`;
    const common = {
      netns: link.b.ns,
      localIp: link.b.v4,
      // A bound, not a duration: the callee's SIPp waits from its start through the caller's
      // start and the whole call, which on a busy machine takes well over 20 s.
      timeoutSeconds: 60,
      rewrite: hangUpBy(side),
    };
    const calleeLog = join(dir, 'callee.log');
    const answering = runSipp(t, {
      ...common,
      ...reach(callee),
      scenario: 'answer-dialog.xml',
      account: calleeUser,
      fields: [calleeUser.user, DOMAIN],
      extraArgs: ['-cid_str', callIds, '-trace_msg', '-message_file', calleeLog],
    });
    await until(async () => {
      const status = JSON.parse((await d.ctl('status', '--json')).stdout) as {
        registrations: number;
      };
      return status.registrations === i + 1;
    }, `${calleeUser.user} to register over ${callee}`);
    const callerLog = join(dir, 'caller.log');
    const calling = await runSipp(t, {
      ...common,
      ...reach(caller),
      scenario: 'call-dialog.xml',
      account: callerUser,
      fields: [callerUser.user, DOMAIN, calleeUser.user],
      extraArgs: ['-cid_str', callIds, '-trace_msg', '-message_file', callerLog],
    });
    const answered = await answering;
    t.is(calling.exitCode, 0, `${pair}, caller: ${calling.output}`);
    t.is(answered.exitCode, 0, `${pair}, callee: ${answered.output}`);

    // What the callee received: the INVITE, then the caller's ACK, re-INVITE, ACK, (BYE).
    const atCallee = received(calleeLog).filter((m) => !m.startsWith('SIP/2.0'));
    const invite = atCallee.find((m) => firstLine(m).startsWith('INVITE '));
    t.truthy(invite, `${pair}: the INVITE reached the callee`);
    t.deepEqual(
      headerLines(invite!, 'Record-Route'),
      [expectedRecordRoute(link.a.v4, caller, callee)],
      `${pair}: one Record-Route per side, each with its transport`,
    );
    const methods = (ms: string[]) => ms.map((m) => firstLine(m).split(' ')[0]);
    t.deepEqual(
      methods(atCallee),
      ['INVITE', 'ACK', 'INVITE', 'ACK', ...(side === 'caller' ? ['BYE'] : [])],
      `${pair}: every request of the caller reached the callee`,
    );
    const atCaller = received(callerLog).filter((m) => !m.startsWith('SIP/2.0'));
    t.deepEqual(
      methods(atCaller),
      ['INVITE', 'ACK', ...(side === 'callee' ? ['BYE'] : [])],
      `${pair}: every request of the callee reached the caller`,
    );
    for (const m of [...atCallee, ...atCaller])
      t.deepEqual(headerLines(m, 'Route'), [], `${pair}: no Route left on ${firstLine(m)}`);
    // The 200 the caller got carries the same route set.
    const ok = received(callerLog).find(
      (m) => m.startsWith('SIP/2.0 200') && /INVITE/.test(headerLines(m, 'CSeq')[0] ?? ''),
    );
    t.deepEqual(headerLines(ok!, 'Record-Route'), [expectedRecordRoute(link.a.v4, caller, callee)]);

    await until(
      () =>
        logLines(d).some(
          (l) =>
            l.msg === 'call ended' &&
            l.user === callerUser.user &&
            String(l.callId).startsWith(callIds.slice(0, -3)),
        ),
      `${pair}: the end of the call in tollgate's log`,
    );
  }
  t.is(await d.stop(), 0);
}

for (const caller of TRANSPORTS) {
  test(`a ${caller.toUpperCase()} caller calls UDP, TCP and TLS callees: Record-Route per side, in-dialog requests both ways on each side's transport, the call's end logged`, (t) =>
    callsFrom(t, caller));
}
