// Calls through the running daemon between two real SIP clients (SIPp) on loopback: bob
// registers with digest auth and answers, alice is challenged (407), answers, and the call
// completes end to end (180, 200, ACK and BYE along the Record-Route). Then the refusals a
// user would see: a wrong password (403, reported to the guard), a registered-nowhere
// callee (480), and the call over maxcallperip (403). Over TCP the callee is reached on the
// connection it registered over (its ephemeral port accepts no new connection).
//
// Both SIPp instances get the same -cid_str: SIPp only hands an incoming INVITE to the
// callee's scenario when it carries the Call-ID of that scenario's REGISTER
// (tests/sipp/answer-register.xml explains).
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import test, { type ExecutionContext } from 'ava';
import { freePort, type RunningDaemon, startDaemon, testConfig } from '../helpers/daemon.ts';
import { runSipp } from '../helpers/sipp.ts';
import { tempDir } from '../helpers/tmp.ts';

const ALICE = { user: 'alice', password: 'Wonder-land-42' };
const BOB = { user: 'bob', password: 'Build-it-77x' };
const CAROL = { user: 'carol', password: 'Sings-in-tune-99' };
const DOMAIN = 'tollgate';

/** One SIPp run of one call; `fields` is the injection line (field0;field1;...). */
function sipp(
  t: ExecutionContext,
  o: {
    scenario: string;
    port: number;
    account: { user: string; password: string };
    fields: string[];
    callIds: string;
    transport?: 'udp' | 'tcp';
    rewrite?: (xml: string) => string;
  },
) {
  return runSipp(t, {
    scenario: o.scenario,
    target: { ip: '127.0.0.1', port: o.port },
    transport: o.transport ?? 'udp',
    account: o.account,
    fields: o.fields,
    timeoutSeconds: 20,
    extraArgs: ['-cid_str', o.callIds],
    ...(o.rewrite ? { rewrite: o.rewrite } : {}),
  });
}

async function registrations(d: RunningDaemon): Promise<number> {
  return JSON.parse((await d.ctl('status', '--json')).stdout).registrations as number;
}

/** Polls until `check` holds; bounded, so a broken registration fails the test, not CI. */
async function until(check: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const logLines = (d: RunningDaemon) =>
  d
    .log()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

test('a call completes through tollgate; wrong password, unregistered callee and maxcallperip are refused', async (t) => {
  const dataDir = tempDir(t);
  const sipport = await freePort();
  const configFile = await testConfig(dataDir, { sipport, maxcallperip: 1 });
  const d = await startDaemon(t, { dataDir, configFile });
  for (const u of [ALICE, BOB, CAROL]) {
    const added = await d.ctl('users', 'add', u.user, '--password', u.password);
    t.is(added.code, 0, added.stderr);
  }
  const callIds = `tgcall-${randomBytes(4).toString('hex')}-%u`;
  const caller = (
    scenario: string,
    account = ALICE,
    callee = BOB.user,
    rewrite?: (x: string) => string,
  ) =>
    sipp(t, {
      scenario,
      port: sipport,
      account,
      fields: [account.user, DOMAIN, callee],
      callIds: `${callIds}-${randomBytes(2).toString('hex')}`,
      ...(rewrite ? { rewrite } : {}),
    });

  // bob registers and waits for the call; alice calls him.
  const callee = sipp(t, {
    scenario: 'answer-register.xml',
    port: sipport,
    account: BOB,
    fields: [BOB.user, DOMAIN],
    callIds,
  });
  await until(async () => (await registrations(d)) === 1, 'bob to register');
  const call = await sipp(t, {
    scenario: 'call-auth.xml',
    port: sipport,
    account: ALICE,
    fields: [ALICE.user, DOMAIN, BOB.user],
    callIds,
  });
  t.is(call.exitCode, 0, `caller: ${call.output}`);
  const answered = await callee;
  t.is(answered.exitCode, 0, `callee: ${answered.output}`);
  await until(async () => logLines(d).some((l) => l.msg === 'call ended'), 'the call end log');
  const ended = logLines(d).find((l) => l.msg === 'call ended');
  t.like(ended, { ip: '127.0.0.1', user: 'alice' }, 'the end of the call is reported');

  // A wrong password: 403 after the challenge, reported with user and source.
  const wrong = await caller('call-refused.xml', { user: 'alice', password: 'not-her-password' });
  t.is(wrong.exitCode, 0, wrong.output);
  const fail = logLines(d).find((l) => l.msg === 'SIP auth-fail');
  t.like(fail, { ip: '127.0.0.1', user: 'alice', detail: 'wrong-password' });
  t.false(d.log().includes('not-her-password'), 'the password is never logged');

  // carol exists but has no binding: 480 to an authenticated caller.
  const offline = await caller('call-refused.xml', ALICE, CAROL.user, (x) =>
    x.replace('<recv response="403"/>', '<recv response="480"/>'),
  );
  t.is(offline.exitCode, 0, offline.output);

  // maxcallperip = 1: alice's first call used the allowance; the next is refused with 403.
  const limited = await caller('call-refused.xml');
  t.is(limited.exitCode, 0, limited.output);
  // The daemon's log is written asynchronously: wait for the line, do not race it.
  await until(
    async () => logLines(d).some((l) => l.msg === 'call refused' && l.rule === 'maxcallperip'),
    'the refusal to be logged naming the rule',
  );
  t.is(await d.stop(), 0);
});

test('a call completes over TCP: the INVITE reaches the callee on its registered connection', async (t) => {
  const dataDir = tempDir(t);
  const sipport = await freePort();
  const d = await startDaemon(t, { dataDir, configFile: await testConfig(dataDir, { sipport }) });
  for (const u of [ALICE, BOB]) {
    const added = await d.ctl('users', 'add', u.user, '--password', u.password);
    t.is(added.code, 0, added.stderr);
  }
  const callIds = `tgtcp-${randomBytes(4).toString('hex')}-%u`;
  const common = { port: sipport, callIds, transport: 'tcp' as const };
  const callee = sipp(t, {
    ...common,
    scenario: 'answer-register.xml',
    account: BOB,
    fields: [BOB.user, DOMAIN],
  });
  await until(async () => (await registrations(d)) === 1, 'bob to register');
  const call = await sipp(t, {
    ...common,
    scenario: 'call-auth.xml',
    account: ALICE,
    fields: [ALICE.user, DOMAIN, BOB.user],
  });
  t.is(call.exitCode, 0, `caller: ${call.output}`);
  const answered = await callee;
  t.is(answered.exitCode, 0, `callee: ${answered.output}`);
  t.like(
    logLines(d).find((l) => l.msg === 'call ended'),
    { ip: '127.0.0.1', user: 'alice' },
  );
  t.is(await d.stop(), 0);
});

/** One request over UDP to the daemon, and its final response (status line and headers). */
async function ask(port: number, method: string, uri: string, extra: string[] = [], body = '') {
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  const local = socket.address().port;
  const text = [
    `${method} ${uri} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=z9hG4bK${randomBytes(6).toString('hex')};rport`,
    'Max-Forwards: 70',
    `From: <sip:alice@${DOMAIN}>;tag=${randomBytes(4).toString('hex')}`,
    `To: <${uri}>`,
    `Call-ID: ${randomBytes(6).toString('hex')}@127.0.0.1`,
    `CSeq: 1 ${method}`,
    ...extra,
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
  const answer = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to ${method}`)), 10_000);
    socket.on('message', (m) => {
      const reply = m.toString('latin1');
      if (/^SIP\/2\.0 1\d\d /.test(reply)) return;
      clearTimeout(timer);
      resolve(reply);
    });
  });
  socket.send(text, port, '127.0.0.1');
  try {
    const reply = await answer;
    const header = (name: string) =>
      new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(reply)?.[1]?.trim();
    return { status: Number(reply.slice(8, 11)), header };
  } finally {
    socket.close();
  }
}

test('MESSAGE and OPTIONS for a registered user reach that phone (407 first); what tollgate does not serve gets 405/501 with Allow, 415 with Accept', async (t) => {
  const dataDir = tempDir(t);
  const sipport = await freePort();
  const d = await startDaemon(t, { dataDir, configFile: await testConfig(dataDir, { sipport }) });
  for (const u of [ALICE, BOB]) {
    const added = await d.ctl('users', 'add', u.user, '--password', u.password);
    t.is(added.code, 0, added.stderr);
  }
  const callIds = `tgmsg-${randomBytes(4).toString('hex')}-%u`;
  const recipient = sipp(t, {
    scenario: 'answer-message.xml',
    port: sipport,
    account: BOB,
    fields: [BOB.user, DOMAIN],
    callIds,
  });
  await until(async () => (await registrations(d)) === 1, 'bob to register');
  const sender = await sipp(t, {
    scenario: 'message-auth.xml',
    port: sipport,
    account: ALICE,
    fields: [ALICE.user, DOMAIN, BOB.user],
    callIds,
  });
  t.is(sender.exitCode, 0, `sender: ${sender.output}`);
  const answered = await recipient;
  t.is(answered.exitCode, 0, `recipient: ${answered.output}`);

  // Addressed to tollgate itself (no user part): OPTIONS is answered here and lists what
  // tollgate takes; a method it knows but does not serve is 405, one it does not know 501.
  const options = await ask(sipport, 'OPTIONS', `sip:127.0.0.1:${sipport}`);
  t.is(options.status, 200);
  t.regex(options.header('allow') ?? '', /\bMESSAGE\b.*\bSUBSCRIBE\b/);
  const publish = await ask(sipport, 'PUBLISH', `sip:bob@${DOMAIN}`, ['Event: presence']);
  t.is(publish.status, 405);
  t.truthy(publish.header('allow'));
  const unknown = await ask(sipport, 'FROBNICATE', `sip:127.0.0.1:${sipport}`);
  t.is(unknown.status, 501);
  t.truthy(unknown.header('allow'));
  const text = await ask(
    sipport,
    'MESSAGE',
    `sip:127.0.0.1:${sipport}`,
    ['Content-Type: text/plain'],
    'for nobody',
  );
  t.is(text.status, 415);
  t.is(text.header('accept'), 'application/sdp', '§21.4.16: 415 says what is accepted');
  t.is(await d.stop(), 0);
});
