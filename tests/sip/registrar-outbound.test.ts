// RFC 5626 outbound against the running daemon, with a phone that keeps one TCP connection
// (a flow) as a phone behind NAT does: it registers over it with +sip.instance and reg-id and
// is told `Require: outbound` and `Flow-Timer`; its CRLF keep-alive is answered; a call (a
// real SIPp caller) reaches it over that connection; once the connection is gone, the next
// call gets 430 Flow Failed instead of tollgate trying to connect to a port behind a NAT.
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import test from 'ava';
import { parseMessage, type SipMessage, type SipResponse } from '../../src/sip/message/index.ts';
import { FLOW_TIMER_SECONDS } from '../../src/sip/registrar/outbound.ts';
import { freePort, startDaemon, testConfig } from '../helpers/daemon.ts';
import { authorization, challenges } from '../helpers/sip-client.ts';
import { runSipp } from '../helpers/sipp.ts';
import { tempDir } from '../helpers/tmp.ts';

const DOMAIN = 'tollgate';
const BOB = { user: 'bob', password: 'Flow-kept-open-31' };
const ALICE = { user: 'alice', password: 'Calls-the-flow-52' };
const INSTANCE = '<urn:uuid:6d1c3c9e-0b1a-4b8e-9f31-5d2f1c7a0b42>';

/** A phone on one TCP connection: what it receives, message by message or as raw octets. */
class FlowPhone {
  readonly socket: Socket;
  #buffer = Buffer.alloc(0);
  readonly #waiting: { test: (b: Buffer) => number; resolve: (b: Buffer) => void }[] = [];

  constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#drain();
    });
  }

  #drain(): void {
    for (;;) {
      const w = this.#waiting[0];
      if (w === undefined) return;
      const n = w.test(this.#buffer);
      if (n <= 0) return;
      const taken = this.#buffer.subarray(0, n);
      this.#buffer = this.#buffer.subarray(n);
      this.#waiting.shift();
      w.resolve(taken);
    }
  }

  #take(test: (b: Buffer) => number, what: string): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} on the flow`)), 15_000);
      this.#waiting.push({
        test,
        resolve: (b) => {
          clearTimeout(timer);
          resolve(b);
        },
      });
      this.#drain();
    });
  }

  /** The next whole SIP message (headers and Content-Length octets of body). */
  async message(): Promise<SipMessage> {
    const raw = await this.#take((b) => {
      const end = b.indexOf('\r\n\r\n');
      if (end < 0) return 0;
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(b.subarray(0, end).toString('latin1'));
      const total = end + 4 + Number(length?.[1] ?? 0);
      return b.length >= total ? total : 0;
    }, 'SIP message');
    const parsed = parseMessage(raw, { transport: 'stream' } as never);
    if (!parsed.ok) throw new Error(`unparsable message on the flow: ${parsed.detail}`);
    return parsed.message;
  }

  /** A keep-alive pong: one CRLF (RFC 5626 §3.5.1). */
  pong(): Promise<Buffer> {
    return this.#take((b) => (b.subarray(0, 2).toString('latin1') === '\r\n' ? 2 : 0), 'pong');
  }

  send(text: string): void {
    this.socket.write(text);
  }
}

function register(port: number, cseq: number, authz?: string): string {
  const local = `127.0.0.1:${port}`;
  return [
    `REGISTER sip:${DOMAIN} SIP/2.0`,
    `Via: SIP/2.0/TCP ${local};branch=z9hG4bK${randomBytes(6).toString('hex')};rport`,
    'Max-Forwards: 70',
    `From: <sip:${BOB.user}@${DOMAIN}>;tag=flow${cseq}`,
    `To: <sip:${BOB.user}@${DOMAIN}>`,
    'Call-ID: flow-reg@127.0.0.1',
    `CSeq: ${cseq} REGISTER`,
    'Supported: path, outbound',
    `Contact: <sip:${BOB.user}@${local};transport=tcp;ob>;reg-id=1;+sip.instance="${INSTANCE}"`,
    'Expires: 600',
    ...(authz ? [`Authorization: ${authz}`] : []),
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** A response to `req` as the phone writes it (its own tag on To). */
function answer(req: SipMessage, status: number, reason: string): string {
  return [
    `SIP/2.0 ${status} ${reason}`,
    ...req.headerValues('via').map((v) => `Via: ${v}`),
    `From: ${req.header('from')}`,
    `To: ${req.header('to')};tag=phone-busy`,
    `Call-ID: ${req.header('call-id')}`,
    `CSeq: ${req.header('cseq')}`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

test('an outbound phone on TCP: Require: outbound and Flow-Timer, keep-alives answered, calls over its flow, 430 once it is gone', async (t) => {
  const dataDir = tempDir(t);
  const sipport = await freePort();
  const d = await startDaemon(t, { dataDir, configFile: await testConfig(dataDir, { sipport }) });
  for (const u of [ALICE, BOB]) {
    const added = await d.ctl('users', 'add', u.user, '--password', u.password);
    t.is(added.code, 0, added.stderr);
  }
  const socket = connect({ host: '127.0.0.1', port: sipport });
  t.teardown(() => socket.destroy());
  await new Promise((r) => socket.once('connect', r));
  const phone = new FlowPhone(socket);
  const port = socket.localPort!;

  phone.send(register(port, 1));
  const challenge = (await phone.message()) as SipResponse;
  t.is(challenge.status, 401);
  const c = challenges(challenge.headerValues('www-authenticate'))[0]!;
  phone.send(
    register(port, 2, authorization(c, BOB, { method: 'REGISTER', uri: `sip:${DOMAIN}` })),
  );
  const ok = (await phone.message()) as SipResponse;
  t.is(ok.status, 200);
  t.is(ok.header('require'), 'outbound', 'the flow is kept: the phone starts its keep-alives');
  t.is(ok.header('flow-timer'), String(FLOW_TIMER_SECONDS));
  t.regex(ok.header('contact') ?? '', /;reg-id=1;\+sip\.instance="<urn:uuid:6d1c3c9e[^"]*>"/);

  // The keep-alive of RFC 5626 §3.5.1 over the flow: CRLFCRLF, answered with CRLF.
  phone.send('\r\n\r\n');
  t.deepEqual(await phone.pong(), Buffer.from('\r\n'));

  // alice calls bob: the INVITE comes down bob's own connection; bob is busy.
  const callIds = `tgflow-${randomBytes(4).toString('hex')}-%u`;
  const call = (expect: number) =>
    runSipp(t, {
      scenario: 'call-refused.xml',
      target: { ip: '127.0.0.1', port: sipport },
      transport: 'udp',
      account: ALICE,
      fields: [ALICE.user, DOMAIN, BOB.user],
      timeoutSeconds: 20,
      extraArgs: ['-cid_str', `${callIds}-${expect}`],
      rewrite: (x) => x.replace('<recv response="403"/>', `<recv response="${expect}"/>`),
    });
  const busy = call(486);
  const invite = await phone.message();
  t.is(invite.kind, 'request');
  t.is(invite.kind === 'request' ? invite.method : '', 'INVITE');
  t.regex(invite.header('record-route') ?? '', /transport=tcp/, 'its side of the route is TCP');
  phone.send(answer(invite, 486, 'Busy Here'));
  const refused = await busy;
  t.is(refused.exitCode, 0, refused.output);

  // The connection goes (the NAT forgot it, the phone moved): no new one is tried towards
  // the phone's port, the caller learns the flow failed.
  socket.destroy();
  const gone = await call(430);
  t.is(gone.exitCode, 0, gone.output);
  t.is(await d.stop(), 0);
});
