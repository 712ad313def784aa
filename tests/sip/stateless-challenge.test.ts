// The 407 to an INVITE without credentials is stateless (RFC 3261 §8.2.7, as kamailio's
// auth_challenge through sl): through the running daemon, over real UDP sockets on loopback,
// with a registered callee. The 407 leaves no server transaction behind (a flood of them
// neither); its ACK, with or without a Route, is dropped and counted, never forwarded to the
// callee; a forged ACK (no dialog, or a live dialog's Call-ID and From tag with a To tag that
// is not the callee's) is never forwarded either; a retransmitted INVITE is challenged again;
// a CANCEL of the challenged INVITE gets 481; and the INVITE with credentials then makes a
// call as before (INVITE, 200, ACK, BYE reach the callee, in that order and nothing else).
// Ordering, not sleeps: the callee's socket must receive exactly the INVITE, the ACK and the
// BYE, each as the next datagram, so anything forwarded before them would be seen.
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import test, { type ExecutionContext } from 'ava';
import { freePort, type RunningDaemon, startDaemon, testConfig } from '../helpers/daemon.ts';
import { authorization, challenges, register } from '../helpers/sip-client.ts';
import { tempDir } from '../helpers/tmp.ts';

const ALICE = { user: 'alice', password: 'Wonder-land-42' };
const BOB = { user: 'bob', password: 'Build-it-77x' };
const DOMAIN = 'tollgate';
const DEADLINE_MS = 10_000;

interface Phone {
  readonly port: number;
  /** Every datagram received, in order. */
  readonly received: string[];
  send(text: string): void;
  /** The next datagram not read yet that `match` accepts (the ones before it are skipped). */
  next(what: string, match?: (m: string) => boolean): Promise<string>;
}

async function phone(t: ExecutionContext, server: number): Promise<Phone> {
  const socket: Socket = createSocket('udp4');
  t.teardown(() => socket.close());
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  const received: string[] = [];
  let wake: (() => void) | undefined;
  socket.on('message', (m) => {
    received.push(m.toString('latin1'));
    wake?.();
  });
  let cursor = 0;
  return {
    port: socket.address().port,
    received,
    send: (text) => socket.send(text, server, '127.0.0.1'),
    async next(what, match = () => true) {
      const end = Date.now() + DEADLINE_MS;
      for (;;) {
        while (cursor < received.length) {
          const m = received[cursor++]!;
          if (match(m)) return m;
        }
        const left = end - Date.now();
        if (left <= 0) throw new Error(`timed out waiting for ${what}`);
        await new Promise<void>((r) => {
          const timer = setTimeout(r, left);
          wake = () => {
            clearTimeout(timer);
            r();
          };
        });
      }
    },
  };
}

const status = (m: string) => Number(m.slice(8, 11));
const isFinal = (code: number) => (m: string) => m.startsWith('SIP/2.0 ') && status(m) === code;
const header = (m: string, name: string) =>
  new RegExp(`^${name}:[ \\t]*(.*)$`, 'im').exec(m)?.[1]?.trim();
const headers = (m: string, name: string) =>
  [...m.matchAll(new RegExp(`^${name}:[ \\t]*(.*)$`, 'gim'))].map((x) => x[1]!.trim());
const tagOf = (nameAddr: string | undefined) => /;tag=([^;>\s]+)/.exec(nameAddr ?? '')?.[1];
const branch = () => `z9hG4bK${randomBytes(6).toString('hex')}`;

/** A request from alice's socket; `lines` go after the Via. */
function aliceRequest(
  alice: Phone,
  o: { method: string; uri: string; via: string; lines: string[]; cseq: string },
): string {
  return [
    `${o.method} ${o.uri} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${alice.port};branch=${o.via};rport`,
    'Max-Forwards: 70',
    ...o.lines,
    `CSeq: ${o.cseq}`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** bob's answer to a request he received: its Vias and Record-Routes, his tag and Contact. */
function answer(req: string, bob: Phone, code: number, reason: string): string {
  const to = header(req, 'To')!;
  return [
    `SIP/2.0 ${code} ${reason}`,
    ...headers(req, 'Via').map((v) => `Via: ${v}`),
    ...headers(req, 'Record-Route').map((v) => `Record-Route: ${v}`),
    `From: ${header(req, 'From')}`,
    `To: ${tagOf(to) ? to : `${to};tag=bob-tag`}`,
    `Call-ID: ${header(req, 'Call-ID')}`,
    `CSeq: ${header(req, 'CSeq')}`,
    `Contact: <sip:bob@127.0.0.1:${bob.port}>`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

interface TransactionStats {
  server: number;
  challengeAcks: number;
  acksToTu: number;
}

async function transactions(d: RunningDaemon): Promise<TransactionStats> {
  const r = await d.ctl('stats', '--json');
  return (JSON.parse(r.stdout) as { transactions: TransactionStats }).transactions;
}

async function registerBob(bob: Phone): Promise<void> {
  const callId = `reg-${randomBytes(4).toString('hex')}`;
  const contact = `<sip:bob@127.0.0.1:${bob.port}>`;
  bob.send(register({ user: BOB.user, contact, callId, expires: 600 }));
  const c = challenges(headers(await bob.next('401', isFinal(401)), 'WWW-Authenticate')).find(
    (x) => x.algorithm === 'MD5',
  )!;
  const auth = authorization(c, BOB, { method: 'REGISTER', uri: `sip:${DOMAIN}` });
  bob.send(
    register({ user: BOB.user, contact, callId, cseq: 2, expires: 600, authorization: auth }),
  );
  await bob.next('bob registered', isFinal(200));
}

test('an INVITE without credentials gets one stateless 407: no transaction kept, its ACK and forged ACKs reach nobody, the call then proceeds', async (t) => {
  const dataDir = tempDir(t);
  const sipport = await freePort();
  // The flood below is 100 challenges from one address: the guard's counts of those are
  // turned off here (the guard itself is tests/guard's); it still sees every message.
  const configFile = await testConfig(dataDir, {
    sipport,
    maxsubsipauthrequest: 0,
    fastauthsubswrongusermsg: 0,
  });
  const d = await startDaemon(t, { dataDir, configFile });
  for (const u of [ALICE, BOB]) {
    const added = await d.ctl('users', 'add', u.user, '--password', u.password);
    t.is(added.code, 0, added.stderr);
  }
  const alice = await phone(t, sipport);
  const bob = await phone(t, sipport);
  await registerBob(bob);
  const bobSeen = bob.received.length;
  const before = await transactions(d);

  const callId = `sl-${randomBytes(6).toString('hex')}@127.0.0.1`;
  const from = `From: <sip:alice@${DOMAIN}>;tag=alice-${randomBytes(3).toString('hex')}`;
  const uri = `sip:bob@${DOMAIN}`;
  const dialog = [from, `To: <${uri}>`, `Call-ID: ${callId}`];
  const firstBranch = branch();
  const invite = aliceRequest(alice, {
    method: 'INVITE',
    uri,
    via: firstBranch,
    lines: [...dialog, `Contact: <sip:alice@127.0.0.1:${alice.port}>`],
    cseq: '1 INVITE',
  });
  alice.send(invite);
  const first407 = await alice.next('the 407', isFinal(407));
  // The 407 lost: the same INVITE again is challenged again (a new tag, a new nonce).
  alice.send(invite);
  const second407 = await alice.next('the second 407', isFinal(407));
  const firstTag = tagOf(header(first407, 'To'))!;
  const secondTag = tagOf(header(second407, 'To'))!;
  t.truthy(firstTag);
  t.not(firstTag, secondTag);

  // A flood of INVITEs without credentials: 100 challenges, and the table does not grow.
  const FLOOD = 100;
  for (let i = 0; i < FLOOD; i++) {
    alice.send(
      aliceRequest(alice, {
        method: 'INVITE',
        uri,
        via: branch(),
        lines: [from, `To: <${uri}>`, `Call-ID: flood-${i}-${callId}`],
        cseq: '1 INVITE',
      }),
    );
  }
  for (let i = 0; i < FLOOD; i++) await alice.next(`flood 407 #${i}`, isFinal(407));
  const flooded = await transactions(d);
  t.true(
    flooded.server <= before.server,
    `no server transaction left by ${FLOOD + 2} challenges (${before.server} → ${flooded.server})`,
  );

  // CANCEL of the challenged INVITE: there is no transaction to cancel (§9.2).
  alice.send(
    aliceRequest(alice, {
      method: 'CANCEL',
      uri,
      via: firstBranch,
      lines: dialog,
      cseq: '1 CANCEL',
    }),
  );
  await alice.next('481 to the CANCEL', isFinal(481));

  // The 407's ACK (§17.1.1.3: same branch, the 407's To), plainly and with a Route to bob's
  // own address; a forged ACK with a To tag that is not ours and a Route to bob.
  const ackOf407 = (tag: string, extra: string[] = []) =>
    aliceRequest(alice, {
      method: 'ACK',
      uri,
      via: firstBranch,
      lines: [...extra, from, `To: <${uri}>;tag=${tag}`, `Call-ID: ${callId}`],
      cseq: '1 ACK',
    });
  const toBob = [`Route: <sip:127.0.0.1:${bob.port};lr>`];
  alice.send(ackOf407(firstTag));
  alice.send(ackOf407(secondTag, toBob));
  alice.send(ackOf407('forged-tag', toBob));

  // With credentials: the call's INVITE is the first thing bob receives since registering.
  const c = challenges(headers(second407, 'Proxy-Authenticate')).find(
    (x) => x.algorithm === 'MD5',
  )!;
  alice.send(
    aliceRequest(alice, {
      method: 'INVITE',
      uri,
      via: branch(),
      lines: [
        ...dialog,
        `Contact: <sip:alice@127.0.0.1:${alice.port}>`,
        `Proxy-Authorization: ${authorization(c, ALICE, { method: 'INVITE', uri })}`,
      ],
      cseq: '2 INVITE',
    }),
  );
  const got = await bob.next('the INVITE at bob');
  t.true(got.startsWith('INVITE '), `bob's first message is the INVITE, not: ${got.slice(0, 60)}`);
  t.is(bob.received.length - bobSeen, 1);
  // Answered at once (a late answer would have tollgate resend the INVITE, Timer A).
  bob.send(answer(got, bob, 200, 'OK'));
  const ok = await alice.next('the 200', isFinal(200));
  const acked = await transactions(d);
  t.is(acked.challengeAcks - before.challengeAcks, 2, 'both ACKs of our 407s dropped and counted');
  t.is(acked.acksToTu - before.acksToTu, 1, 'the forged one reached the proxy, which dropped it');
  // Late: the 407's ACK again, and an ACK with the live call's Call-ID and From tag but a To
  // tag that is not bob's. Then the call's own ACK, along the Record-Route.
  alice.send(ackOf407(firstTag));
  const routeSet = headers(ok, 'Record-Route').reverse();
  const target = /<([^>]+)>/.exec(header(ok, 'Contact')!)![1]!;
  const inDialog = (method: string, toTag: string, cseq: string) =>
    aliceRequest(alice, {
      method,
      uri: target,
      via: branch(),
      lines: [
        ...routeSet.map((r) => `Route: ${r}`),
        from,
        `To: <${uri}>;tag=${toTag}`,
        `Call-ID: ${callId}`,
      ],
      cseq,
    });
  alice.send(inDialog('ACK', 'not-bobs-tag', '2 ACK'));
  alice.send(inDialog('ACK', tagOf(header(ok, 'To'))!, '2 ACK'));
  const ack = await bob.next('the ACK of the 200 at bob');
  t.true(ack.startsWith('ACK '), ack.slice(0, 60));
  t.is(tagOf(header(ack, 'To')), 'bob-tag', "the dialog's own ACK, not the forged or the 407's");
  alice.send(inDialog('BYE', tagOf(header(ok, 'To'))!, '3 BYE'));
  const bye = await bob.next('the BYE at bob');
  t.true(bye.startsWith('BYE '), `bob's next message is the BYE: ${bye.slice(0, 60)}`);
  bob.send(answer(bye, bob, 200, 'OK'));
  await alice.next('the 200 to the BYE', (m) => isFinal(200)(m) && /BYE/.test(header(m, 'CSeq')!));
  t.is(bob.received.length - bobSeen, 3, 'bob received the INVITE, its ACK and the BYE only');

  // Each INVITE without credentials was answered exactly once.
  t.is(alice.received.filter(isFinal(407)).length, FLOOD + 2);
  // No strike: nothing was reported wrong or unauthorized, nobody is banned.
  const lines = d
    .log()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg?: string });
  t.false(
    lines.some((l) => l.msg === 'SIP wrong' || l.msg === 'SIP unauthorized'),
    'no report of a wrong or unauthorized message',
  );
  const bans = JSON.parse((await d.ctl('bans', '--json')).stdout) as unknown[];
  t.deepEqual(bans, []);
  t.is(await d.stop(), 0);
});
