// Transport logic without sockets: stream framing, received/rport stamping, response
// destinations (RFC 3261 §18.2.2) and the salvaged error responses.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { Settings } from '../../src/config/settings.ts';
import type { TollgateError } from '../../src/errors.ts';
import { createLogger } from '../../src/log.ts';
import {
  DEFAULT_LIMITS,
  parseMessage,
  resolveLimits,
  type SipMessage,
  type SipRequest,
  serialize,
} from '../../src/sip/message/index.ts';
import { subnetOf } from '../../src/sip/transport/connection-table.ts';
import { resolveOptions, transportOptionsFromSettings } from '../../src/sip/transport/options.ts';
import { buildRejectResponse } from '../../src/sip/transport/reject-response.ts';
import { type FrameEvent, StreamFramer } from '../../src/sip/transport/stream-framer.ts';
import type { Source } from '../../src/sip/transport/types.ts';
import { responseDestination, stampReceived } from '../../src/sip/transport/via-rules.ts';
import { Store } from '../../src/store/store.ts';
import { tempDir } from '../helpers/tmp.ts';

function request(via: string, extra = '', body = ''): string {
  return [
    'OPTIONS sip:tollgate.example SIP/2.0',
    `Via: ${via}`,
    'From: <sip:alice@example.com>;tag=a1',
    'To: <sip:tollgate.example>',
    'Call-ID: c1@example.com',
    'CSeq: 1 OPTIONS',
    'Max-Forwards: 70',
    ...(extra === '' ? [] : [extra]),
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

function parseReq(text: string): SipRequest {
  const r = parseMessage(Buffer.from(text, 'latin1'));
  if (!r.ok || r.message.kind !== 'request') throw new Error(`did not parse: ${JSON.stringify(r)}`);
  return r.message;
}

const udpSource: Source = { transport: 'udp', ip: '203.0.113.7', port: 40123 };

// ---- received / rport

test('rport: received and the source port are filled in (RFC 3581 §4)', (t) => {
  const m = parseReq(request('SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK1;rport'));
  t.true(stampReceived(m, udpSource));
  const top = m.topVia()!;
  t.is(top.received, '203.0.113.7');
  t.is(top.rport, 40123);
  t.is(top.branch, 'z9hG4bK1');
  t.deepEqual(responseDestination(top, udpSource), {
    transport: 'udp',
    ip: '203.0.113.7',
    port: 40123,
  });
});

test('received is added when sent-by differs from the source, rport left out when not asked', (t) => {
  const m = parseReq(request('SIP/2.0/UDP phone.example.com:5062;branch=z9hG4bK2'));
  stampReceived(m, udpSource);
  const top = m.topVia()!;
  t.is(top.received, '203.0.113.7');
  t.is(top.rport, undefined);
  // §18.2.2: to received, at the sent-by port.
  t.is(responseDestination(top, udpSource).port, 5062);
  t.is(responseDestination(top, udpSource).ip, '203.0.113.7');
});

test('nothing is added when sent-by is the source address and rport was not asked for', (t) => {
  const via = 'SIP/2.0/UDP 203.0.113.7:5060;branch=z9hG4bK3';
  const m = parseReq(request(via));
  stampReceived(m, udpSource);
  t.is(m.header('via'), via);
  t.is(responseDestination(m.topVia(), udpSource).port, 5060);
});

test('client-supplied received and rport values are replaced, never trusted', (t) => {
  const m = parseReq(
    request('SIP/2.0/UDP 203.0.113.7;received=198.51.100.99;rport=9;branch=z9hG4bK4'),
  );
  stampReceived(m, udpSource);
  const top = m.topVia()!;
  t.is(top.received, '203.0.113.7');
  t.is(top.rport, 40123);
  t.is(m.header('via')?.match(/received/g)?.length, 1);
});

test('only the top Via is stamped; later Via values and fields are untouched', (t) => {
  const m = parseReq(
    request(
      'SIP/2.0/UDP a.example;branch=z9hG4bKtop;rport, SIP/2.0/UDP b.example;branch=z9hG4bKb',
      'Via: SIP/2.0/TCP c.example;branch=z9hG4bKc',
    ),
  );
  stampReceived(m, udpSource);
  const vias = m.via();
  t.is(vias.length, 3);
  t.is(vias[0]!.received, '203.0.113.7');
  t.is(vias[1]!.received, undefined);
  t.is(vias[2]!.host, 'c.example');
  t.is(vias[2]!.received, undefined);
});

test('IPv6 sent-by in brackets equal to the source is recognised', (t) => {
  const src: Source = { transport: 'udp', ip: '2001:db8::1', port: 5060 };
  const m = parseReq(request('SIP/2.0/UDP [2001:DB8:0::1]:5060;branch=z9hG4bK5'));
  stampReceived(m, src);
  t.is(m.topVia()!.received, undefined);
  const m2 = parseReq(request('SIP/2.0/UDP [2001:db8::2]:5060;branch=z9hG4bK5;rport'));
  stampReceived(m2, src);
  t.is(m2.topVia()!.received, '2001:db8::1');
  // The stamped message still serializes and parses.
  t.true(parseMessage(serialize(m2)).ok);
});

test('a request with an unparseable Via is left as it is', (t) => {
  const m = parseReq(request('garbage'));
  t.false(stampReceived(m, udpSource));
  t.is(m.header('via'), 'garbage');
  // And its response would go back to the packet source.
  t.deepEqual(responseDestination(undefined, udpSource), {
    transport: 'udp',
    ip: '203.0.113.7',
    port: 5060,
  });
});

test('stream responses prefer the connection, falling back to the sent-by port', (t) => {
  const src: Source = { transport: 'tls', ip: '203.0.113.7', port: 50001, connectionId: 'tls-3' };
  const m = parseReq(request('SIP/2.0/TLS 10.0.0.5;branch=z9hG4bK6;rport'));
  stampReceived(m, src);
  t.deepEqual(responseDestination(m.topVia(), src), {
    transport: 'tls',
    ip: '203.0.113.7',
    port: 5061,
    connectionId: 'tls-3',
  });
});

// ---- reject responses

test('a request with a bad header is answered with 400 built from its salvaged fields', (t) => {
  const raw = Buffer.from(
    request('SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bK7;rport', 'Bad Header Line'),
  );
  const r = parseMessage(raw);
  t.false(r.ok);
  if (r.ok) return;
  t.is(r.status, 400);
  const res = buildRejectResponse(raw, r.reason, r.status!, udpSource, DEFAULT_LIMITS);
  t.truthy(res);
  t.is(res!.status, 400);
  t.is(res!.callId(), 'c1@example.com');
  t.deepEqual(res!.cseq(), { seq: 1, method: 'OPTIONS' });
  t.is(res!.from().tag, 'a1');
  t.truthy(res!.to().tag, 'a To tag is added (§8.2.6.2)');
  t.is(res!.topVia()!.received, '203.0.113.7');
  t.is(res!.topVia()!.rport, 40123);
  t.true(parseMessage(serialize(res!)).ok, 'the response itself is well formed');
});

test('no response when a needed field is missing, or for an ACK', (t) => {
  const noCallId = Buffer.from(
    'INVITE sip:x@y SIP/3.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:x@y>\r\nCSeq: 1 INVITE\r\n\r\n',
  );
  t.is(buildRejectResponse(noCallId, 'unsupported_version', 505, udpSource, DEFAULT_LIMITS), null);
  const ack = Buffer.from(
    'ACK sip:x@y SIP/3.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:x@y>\r\nCall-ID: 1\r\nCSeq: 1 ACK\r\n\r\n',
  );
  t.is(buildRejectResponse(ack, 'unsupported_version', 505, udpSource, DEFAULT_LIMITS), null);
  const badVia = Buffer.from(
    'INVITE sip:x@y SIP/3.0\r\nVia: nonsense\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:x@y>\r\nCall-ID: 1\r\nCSeq: 1 INVITE\r\n\r\n',
  );
  t.is(buildRejectResponse(badVia, 'unsupported_version', 505, udpSource, DEFAULT_LIMITS), null);
});

// ---- stream framing

function framer(limits = DEFAULT_LIMITS, maxBuffered = limits.maxMessageBytes) {
  const f = new StreamFramer(limits, maxBuffered);
  const events: FrameEvent[] = [];
  return {
    f,
    events,
    push: (data: string | Buffer) => {
      events.push(...f.push(Buffer.isBuffer(data) ? data : Buffer.from(data, 'latin1')));
    },
    messages: () =>
      events.filter((e) => e.kind === 'message').map((e) => (e as { message: SipMessage }).message),
  };
}

const msgA = request('SIP/2.0/TCP 10.0.0.1;branch=z9hG4bKa', '', 'v=0\r\n');
const msgB = request('SIP/2.0/TCP 10.0.0.1;branch=z9hG4bKb');

test('framing: a message split at every possible point yields exactly that message', (t) => {
  const whole = Buffer.from(msgA, 'latin1');
  for (let cut = 1; cut < whole.length; cut++) {
    const fr = framer();
    fr.push(whole.subarray(0, cut));
    t.is(fr.messages().length, 0);
    fr.push(whole.subarray(cut));
    const got = fr.messages();
    t.is(got.length, 1, `cut at ${cut}`);
    t.is(got[0]!.body.toString(), 'v=0\r\n');
    t.is(fr.f.buffered, 0);
  }
});

test('framing: one byte at a time, then two messages and a ping in one chunk', (t) => {
  const fr = framer();
  for (const byte of Buffer.from(msgA, 'latin1')) fr.push(Buffer.from([byte]));
  t.is(fr.messages().length, 1);
  fr.push(`${msgB}\r\n\r\n${msgA}`);
  const got = fr.messages();
  t.is(got.length, 3);
  t.deepEqual(
    got.map((m) => m.topVia()!.branch),
    ['z9hG4bKa', 'z9hG4bKb', 'z9hG4bKa'],
  );
  t.is(fr.events.filter((e) => e.kind === 'ping').length, 1);
});

test('framing: a lone CRLF pair is not a ping; a double CRLF split in two is', (t) => {
  const fr = framer();
  fr.push('\r\n');
  t.is(fr.events.length, 0);
  fr.push('\r\n');
  t.deepEqual(fr.events, [{ kind: 'ping' }]);
});

test('framing: a header block that never ends is refused at the message limit', (t) => {
  const limits = resolveLimits({ maxMessageBytes: 2000 });
  const fr = framer(limits);
  fr.push('OPTIONS sip:x SIP/2.0\r\n');
  for (let i = 0; i < 200 && fr.events.length === 0; i++) fr.push('X-Filler: 0123456789\r\n');
  const rej = fr.events.find((e) => e.kind === 'reject');
  t.truthy(rej);
  t.is(rej!.kind === 'reject' ? rej!.reason : '', 'message_too_large');
  t.true(fr.f.buffered <= 2000 + 64);
  // Dead after a reject: further bytes are ignored.
  fr.push(msgB);
  t.is(fr.messages().length, 0);
});

test('framing: Content-Length above the limit is refused before the body arrives', (t) => {
  const fr = framer(resolveLimits({ maxMessageBytes: 4000, maxContentLength: 3000 }));
  fr.push(msgB.replace('Content-Length: 0', 'Content-Length: 3500'));
  const rej = fr.events[0];
  t.is(rej?.kind, 'reject');
  if (rej?.kind === 'reject') t.is(rej.reason, 'content_length_too_large');
});

test('framing: a smaller buffer cap than the message limit is enforced', (t) => {
  const fr = framer(DEFAULT_LIMITS, 1000);
  fr.push(msgB.replace('Content-Length: 0', 'Content-Length: 5000'));
  fr.push('x'.repeat(1200));
  const rej = fr.events.find((e) => e.kind === 'reject');
  t.truthy(rej);
  if (rej?.kind === 'reject') {
    t.is(rej.reason, 'message_too_large');
    t.is(rej.status, 513);
  }
});

test('framing: a message without Content-Length on a stream is refused with 400', (t) => {
  const fr = framer();
  fr.push(msgB.replace('Content-Length: 0\r\n', ''));
  const rej = fr.events[0];
  t.is(rej?.kind, 'reject');
  if (rej?.kind === 'reject') {
    t.is(rej.reason, 'missing_content_length');
    t.is(rej.status, 400);
  }
});

// ---- daemon options

test('daemon options: sipaddress/sipport/sipsport and the self-signed certificate', (t) => {
  const dir = tempDir(t);
  const log = createLogger({ level: 'silent' });
  const store = Store.open(join(dir, 'db'));
  t.teardown(() => store.close());
  const settings = new Settings(store, { sipaddress: '::', sipport: 5070, sipsport: 5071 }, log);
  const o = transportOptionsFromSettings(settings, { dataDir: dir });
  t.deepEqual(o.udp, [{ ip: '::', port: 5070 }]);
  t.deepEqual(o.tcp, [{ ip: '::', port: 5070 }]);
  t.deepEqual(o.tls, [{ ip: '::', port: 5071 }]);
  t.true(existsSync(join(dir, 'tls', 'cert.pem')), 'generated into the data directory');
  t.deepEqual(o.tlsCredentials?.cert, readFileSync(join(dir, 'tls', 'cert.pem')));
  // Defaults are sane and validated.
  const r = resolveOptions(o);
  t.is(r.maxConnectionsPerIp, 32);
  t.is(r.idleTimeoutMs, 120_000);
  const err = t.throws<TollgateError>(() => resolveOptions({ ...o, maxConnectionsPerIp: 0 }));
  t.is(err?.code, 'TG_TRANSPORT_BAD_OPTION');
});

// ---- connection table

test('subnetOf: the /24 of an IPv4 address, the /64 of an IPv6 one (any spelling of zeros)', (t) => {
  t.is(subnetOf('203.0.113.77'), '203.0.113.0/24');
  t.is(subnetOf('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64');
  t.is(subnetOf('2001:db8:1:2::9'), '2001:db8:1:2::/64');
  t.is(subnetOf('2001:db8::1'), '2001:db8:0:0::/64');
  t.is(subnetOf('::1'), '0:0:0:0::/64');
  t.is(subnetOf('fe80::1:2:3:4'), 'fe80:0:0:0::/64');
});
