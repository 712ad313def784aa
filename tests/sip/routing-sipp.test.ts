// Routing through the real daemon with real SIPp peers, tollgate in one network namespace and
// the phones and trunks in the other, each on its own address:
//   - a number routed to two trunks: the first answers 503 (or nothing at all, within its
//     timeout), the call goes out through the second and completes (ACK, BYE through us);
//   - forking: bob registered from two phones, both ring, the desk answers, the mobile gets
//     a CANCEL; topology hiding: no header the desk receives names the caller's address, and
//     none the caller receives names the desk's;
//   - an unknown number (no user, no route) gets 404 after authentication;
//   - a spoofed From (alice authenticates, From says bob): the call is alice's, in the log.
import { join } from 'node:path';
import test from 'ava';
import {
  answering,
  BOB,
  call,
  logLines,
  received,
  register,
  until,
  world,
} from '../helpers/sipp-world.ts';

/** A message's start line and headers (no body: the SDP is the media relay's business). */
const headersOf = (message: string) => message.split(/\r?\n\r?\n/, 1)[0] ?? '';

/** The spoofed-From test needs From changes allowed (the call is billed to the digest user). */
const CONFIG = { allowcalleridchange: 2 };

test('trunk failover: 503 from the first trunk, the call completes through the second; no answer at all from a trunk within its timeout, the same', async (t) => {
  t.timeout(4 * 60_000);
  const w = await world(t, [3, 4], CONFIG);
  const a = { ip: w.link.hostV4(3), port: 5060 };
  const b = { ip: w.link.hostV4(4), port: 5080 };
  const dead = w.link.hostV4(9); // nobody has this address: the INVITE goes nowhere
  for (const args of [
    ['trunks', 'add', 'carrier-a', '--host', a.ip],
    ['trunks', 'add', 'carrier-b', '--host', b.ip, '--port', String(b.port)],
    ['trunks', 'add', 'carrier-dead', '--host', dead, '--timeout', '1'],
    ['routes', 'add', '0044', '--trunk', 'carrier-a', '--priority', '1'],
    ['routes', 'add', '0044', '--trunk', 'carrier-b', '--priority', '2'],
    ['routes', 'add', '0049', '--trunk', 'carrier-dead', '--priority', '1'],
    ['routes', 'add', '0049', '--trunk', 'carrier-b', '--priority', '2'],
  ]) {
    const r = await w.d.ctl(...args);
    t.is(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  }

  const refusing = await answering(t, w, a, 'uas-refuse.xml');
  const bLog = join(w.dir, 'trunk-b.log');
  const answeringB = await answering(t, w, b, 'uas-answer.xml', { log: bLog });
  const calling = await call(t, w, '00441234567');
  t.is(calling.exitCode, 0, `caller: ${calling.output}`);
  t.is((await refusing.done).exitCode, 0, 'the first trunk got the INVITE and refused it');
  t.is((await answeringB.done).exitCode, 0, 'the second trunk answered, got the ACK and the BYE');
  const inviteAtB = received(bLog).find((m) => m.startsWith('INVITE '))!;
  t.regex(inviteAtB, new RegExp(`^INVITE sip:00441234567@${b.ip.replaceAll('.', '\\.')}:5080 `));
  await until(
    () => logLines(w.d).some((l) => l.msg === 'failover to the next route'),
    'the failover in the log',
  );

  const answeringB2 = await answering(t, w, b, 'uas-answer.xml');
  const calling2 = await call(t, w, '00491234567');
  t.is(calling2.exitCode, 0, `caller (dead first trunk): ${calling2.output}`);
  t.is((await answeringB2.done).exitCode, 0);
  t.true(logLines(w.d).some((l) => l.msg === 'trunk did not answer' && l.trunk === 'carrier-dead'));
  t.is(await w.d.stop(), 0);
});

test('forking to two phones: both ring, the first 2xx wins, the other gets CANCEL; neither side sees the other side’s addresses', async (t) => {
  t.timeout(4 * 60_000);
  const w = await world(t, [3, 4], CONFIG);
  const desk = { ip: w.link.hostV4(3), port: 5062 };
  const mobile = { ip: w.link.hostV4(4), port: 5064 };
  await register(t, w, desk);
  await register(t, w, mobile);
  const deskLog = join(w.dir, 'desk.log');
  const callerLog = join(w.dir, 'caller.log');
  const deskRun = await answering(t, w, desk, 'uas-answer.xml', { log: deskLog });
  const mobileRun = await answering(t, w, mobile, 'uas-ring-cancel.xml');
  // The desk answers at once; the mobile only rings: the mobile must be cancelled.
  const calling = await call(t, w, BOB.user, { log: callerLog });
  t.is(calling.exitCode, 0, `caller: ${calling.output}`);
  t.is((await deskRun.done).exitCode, 0, 'the desk answered and got the ACK and BYE');
  t.is((await mobileRun.done).exitCode, 0, 'the mobile rang and was cancelled (CANCEL, 487, ACK)');

  // Topology hiding: nothing the desk got names the caller's address, and nothing the
  // caller got names the desk's (headers; the SDP is the media relay's).
  const callerIp = w.link.b.v4;
  const atDesk = received(deskLog).map(headersOf);
  t.true(atDesk.some((m) => m.startsWith('INVITE ')));
  for (const m of atDesk)
    t.false(m.includes(callerIp), `the caller's address reached the callee:\n${m}`);
  const atCaller = received(callerLog).map(headersOf);
  t.true(atCaller.some((m) => m.startsWith('SIP/2.0 200')));
  for (const m of atCaller)
    t.false(m.includes(desk.ip), `the callee's address reached the caller:\n${m}`);
  t.is(await w.d.stop(), 0);
});

test('an unknown number is 404; a spoofed From is billed to the authenticated user', async (t) => {
  t.timeout(3 * 60_000);
  const w = await world(t, [3], CONFIG);
  const unknown = await call(t, w, '0099123', {
    scenario: 'call-refused.xml',
    rewrite: (xml) => xml.replace('<recv response="403"/>', '<recv response="404"/>'),
  });
  t.is(unknown.exitCode, 0, `unknown number: ${unknown.output}`);

  const desk = { ip: w.link.hostV4(3), port: 5062 };
  await register(t, w, desk);
  const deskRun = await answering(t, w, desk, 'uas-answer.xml');
  // alice authenticates as alice but writes bob in From.
  const spoofed = await call(t, w, BOB.user, { from: BOB.user });
  t.is(spoofed.exitCode, 0, `spoofed From: ${spoofed.output}`);
  t.is((await deskRun.done).exitCode, 0);
  await until(
    () => logLines(w.d).some((l) => l.msg === 'call ended'),
    'the end of the call in the log',
  );
  const ended = logLines(w.d).filter((l) => l.msg === 'call ended');
  t.deepEqual(
    ended.map((l) => l.user),
    ['alice'],
    'the call is the authenticated user’s, not the From user’s',
  );
  t.is(await w.d.stop(), 0);
});
