import test from 'ava';
import { TollgateError } from '../../src/errors.ts';
import {
  DEFAULT_LIMITS,
  isSipUri,
  type ParseRejectReason,
  parseMessage,
  parseUri,
  REJECT_INFO,
  resolveLimits,
  SipRequest,
  SipResponse,
  type SipUri,
  serialize,
  validateRequest,
} from '../../src/sip/message/index.ts';

const CRLF = '\r\n';

/** A small valid request; `extra` header lines are inserted before the empty line. */
function req(extra: string[] = [], opts: { startLine?: string; body?: string } = {}): Buffer {
  const body = opts.body ?? '';
  return Buffer.from(
    [
      opts.startLine ?? 'INVITE sip:bob@example.com SIP/2.0',
      'Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bK776asdhds',
      'Max-Forwards: 70',
      'To: Bob <sip:bob@example.com>',
      'From: Alice <sip:alice@example.com>;tag=1928301774',
      'Call-ID: a84b4c76e66710@pc33.example.com',
      'CSeq: 314159 INVITE',
      ...extra,
      '',
      body,
    ].join(CRLF),
    'latin1',
  );
}

function rejectReason(buf: Buffer, opts?: Parameters<typeof parseMessage>[1]): string {
  const r = parseMessage(buf, opts);
  return r.ok ? 'ok' : r.reason;
}

function ok(buf: Buffer, opts?: Parameters<typeof parseMessage>[1]) {
  const r = parseMessage(buf, opts);
  if (!r.ok) throw new Error(`${r.reason}: ${r.detail}`);
  return r;
}

test('a plain request parses into start line, headers and body', (t) => {
  const r = ok(req(['Content-Type: application/sdp', 'Content-Length: 4'], { body: 'v=0\n' }));
  const m = r.message as SipRequest;
  t.is(m.kind, 'request');
  t.is(m.method, 'INVITE');
  t.is(m.uriText, 'sip:bob@example.com');
  t.is(m.to().displayName, 'Bob');
  t.is(m.from().tag, '1928301774');
  t.deepEqual(m.cseq(), { seq: 314159, method: 'INVITE' });
  t.is(m.body.toString(), 'v=0\n');
  t.is(
    r.consumed,
    req(['Content-Type: application/sdp', 'Content-Length: 4'], { body: 'v=0\n' }).length,
  );
  t.true(validateRequest(m).ok);
});

test('compact header forms map to their long names', (t) => {
  const m = ok(
    Buffer.from(
      [
        'MESSAGE sip:a@b SIP/2.0',
        'v: SIP/2.0/TCP h;branch=z9hG4bK1',
        't: <sip:a@b>',
        'f: <sip:c@d>;tag=9',
        'i: cid',
        'm: <sip:c@h>',
        'c: text/plain',
        'l: 2',
        'k: path',
        's: hi',
        'e: identity',
        'o: presence',
        'u: dialog',
        'r: <sip:x@y>',
        'b: <sip:z@y>',
        'x: 1800',
        'y: abc',
        'a: *;audio',
        '',
        'ok',
      ].join(CRLF),
    ),
  ).message;
  const keys = m.headers.map((h) => h.key);
  t.deepEqual(keys, [
    'via',
    'to',
    'from',
    'call-id',
    'contact',
    'content-type',
    'content-length',
    'supported',
    'subject',
    'content-encoding',
    'event',
    'allow-events',
    'refer-to',
    'referred-by',
    'session-expires',
    'identity',
    'accept-contact',
  ]);
  t.is(m.callId(), 'cid');
  t.is(m.header('CALL-id'), 'cid');
  t.is(m.header('I'), 'cid');
  t.deepEqual(m.view('supported'), ['path']);
  const wire = serialize(m).toString('latin1');
  t.regex(wire, /\r\nCall-ID: cid\r\n/);
  t.regex(wire, /\r\nRefer-To: <sip:x@y>\r\n/);
  t.regex(wire, /\r\nContent-Length: 2\r\n\r\nok$/);
});

test('folded header lines are unfolded to single spaces', (t) => {
  const m = ok(req(['Subject: first', ' second', '\t  third', 'X-Empty:', '  later'])).message;
  t.is(m.header('subject'), 'first second third');
  t.is(m.header('x-empty'), 'later');
});

test('comma lists split outside quotes and <> only', (t) => {
  const m = ok(
    req([
      'Contact: "Doe, John" <sip:j@h;a=1>;q=0.5, <sip:k@h>;expires=60',
      'Route: <sip:p1@x;lr>, <sip:p2@x;lr>',
      'Route: <sip:p3@x;lr>',
    ]),
  ).message;
  const c = m.contact();
  if (c.star) return t.fail();
  t.is(c.list.length, 2);
  t.is(c.list[0]!.displayName, 'Doe, John');
  t.is(c.list[0]!.q, 0.5);
  t.is(c.list[1]!.expires, 60);
  t.deepEqual(
    m.view('route').map((r) => (r.uri as SipUri).user),
    ['p1', 'p2', 'p3'],
  );
});

test('Contact: * is recognised and must stand alone', (t) => {
  const star = ok(req(['Contact: *'])).message;
  t.deepEqual(star.contact(), { star: true });
  const mixed = ok(req(['Contact: *, <sip:a@b>'])).message;
  t.false(mixed.tryView('contact').ok);
});

test('quoted strings keep escaped quotes and backslashes', (t) => {
  const q = ok(
    Buffer.from(req().toString('latin1').replace('To: Bob', 'To: "B\\"o\\\\b"'), 'latin1'),
  ).message;
  t.is(q.to().displayName, 'B"o\\b');
});

test('Via: received, rport, port, IPv6 and branch are typed', (t) => {
  const m = ok(
    req([
      'Via: SIP/2.0/TLS [2001:db8::1]:5061;branch=z9hG4bKa;received=2001:db8::9;rport=5070',
      'Via: SIP/2.0/WSS h.example.com;rport;branch=z9hG4bKb',
    ]),
  ).message;
  const [v0, v1, v2] = m.via();
  t.is(v0!.host, 'pc33.example.com');
  t.like(v1, { transport: 'TLS', host: '[2001:db8::1]', hostType: 'ipv6', port: 5061 });
  t.is(v1!.received, '2001:db8::9');
  t.is(v1!.rport, 5070);
  t.is(v2!.rport, true);
  t.is(v2!.transport, 'WSS');
});

test('malformed Via values are refused by the view, with a coded error when asked for', (t) => {
  for (const bad of [
    'SIP/2.0/UDP',
    'SIP/2.0 h',
    'SIP/2.0/UDP h;branch',
    'SIP/2.0/UDP h;received=example.com',
    'SIP/2.0/UDP h:99999',
    'SIP/2.0/UDP h;rport=x',
    'SIP/2.0/UDP [::1',
    'SIP/2.0/UDP h junk',
  ]) {
    const m = ok(req([`Via: ${bad}`])).message;
    t.false(m.tryView('via').ok, bad);
    const err = t.throws(() => m.via(), { instanceOf: TollgateError });
    t.is((err as TollgateError).code, 'TG_SIP_MALFORMED_HEADER');
  }
});

test('a missing mandatory header is a coded TG_SIP_MISSING_HEADER', (t) => {
  const m = ok(
    Buffer.from(`OPTIONS sip:a@b SIP/2.0${CRLF}Via: SIP/2.0/UDP h${CRLF}${CRLF}`),
  ).message;
  const err = t.throws(() => m.from(), { instanceOf: TollgateError });
  t.is((err as TollgateError).code, 'TG_SIP_MISSING_HEADER');
  t.like(validateRequest(m as SipRequest), { ok: false, status: 400 });
});

test('Authorization Digest parameters, quoted and unquoted', (t) => {
  const m = ok(
    req([
      'Authorization: Digest username="bob", realm="biloxi.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",' +
        ' uri="sip:bob@biloxi.com", qop=auth, nc=00000001, cnonce="0a4f113b",' +
        ' response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41", algorithm=MD5',
      'Proxy-Authorization: Digest username="a\\"b", realm="r", nonce="n", uri="sip:x", response="00"',
      'WWW-Authenticate: Digest realm="atlanta.com", qop="auth,auth-int", nonce="84a4cc6f", stale=FALSE',
    ]),
  ).message;
  const [a] = m.view('authorization');
  t.is(a!.scheme, 'Digest');
  t.is(a!.params.get('username'), 'bob');
  t.is(a!.params.get('uri'), 'sip:bob@biloxi.com');
  t.is(a!.params.get('qop'), 'auth');
  t.is(a!.params.get('nc'), '00000001');
  t.is(a!.params.get('algorithm'), 'MD5');
  t.is(m.view('proxyAuthorization')[0]!.params.get('username'), 'a"b');
  t.is(m.view('wwwAuthenticate')[0]!.params.get('qop'), 'auth,auth-int');
  for (const bad of [
    'Digest',
    'Digest realm',
    'Digest realm="x',
    'Digest a=1,,b=2',
    'Digest a=1, a=2',
  ]) {
    const b = ok(req([`Authorization: ${bad}`])).message;
    t.false(b.tryView('authorization').ok, bad);
  }
});

test('scalar headers: bounds per RFC 3261', (t) => {
  const view = (h: string, v: 'cseq' | 'maxForwards' | 'expires') =>
    ok(req([h])).message.tryView(v);
  t.like(view('Expires: 4294967295', 'expires'), { ok: true, value: 4294967295 });
  t.false(view('Expires: 4294967296', 'expires').ok);
  t.like(view('Max-Forwards: 255', 'maxForwards'), { ok: true });
  // The request already has Max-Forwards: the view reads the first one.
  t.like(ok(req()).message.tryView('maxForwards'), { ok: true, value: 70 });
  const cs = (v: string) =>
    ok(
      Buffer.from(req().toString('latin1').replace('CSeq: 314159 INVITE', `CSeq: ${v}`)),
    ).message.tryView('cseq');
  t.like(cs('2147483647 INVITE'), { ok: true, value: { seq: 2147483647 } });
  t.false(cs('2147483648 INVITE').ok);
  t.false(cs('1INVITE').ok);
  t.false(cs('-1 INVITE').ok);
  t.false(cs('1 INVITE x').ok);
});

test('Request-URI forms: sip, sips, IPv6, ports, params, escapes', (t) => {
  const u = (s: string) => {
    const r = parseUri(s, 2048);
    return r.ok && isSipUri(r.uri) ? r.uri : null;
  };
  t.like(u('sips:[2001:db8::10]:5061;transport=tls'), {
    scheme: 'sips',
    host: '[2001:db8::10]',
    hostType: 'ipv6',
    port: 5061,
  });
  t.is(u('sip:host;LR')!.params.get('lr'), null);
  t.is(u('sip:a:pw@h')!.password, 'pw');
  t.is(u('sip:a:@h')!.password, '');
  t.is(u('sip:%61lice@EXAMPLE.com')!.user, 'alice');
  t.is(u('sip:%61lice@EXAMPLE.com')!.host, 'example.com');
  t.is(u('sip:h?subject=x%20y&priority=urgent')!.headers.get('subject'), 'x y');
  for (const bad of [
    'sip:',
    'sip:@h',
    'sip:a@',
    'sip:a@h:',
    'sip:a@h:65536',
    'sip:a@[::1',
    'sip:a@[zz::1]',
    'sip:a@1.2.3.999',
    'sip:a%2@h',
    'sip:a%zz@h',
    'sip:a@h;',
    'sip:a@h;x=',
    'sip:a@h;x=1;x=2',
    'sip:a b@h',
    'sip:a@-h.com',
    '<sip:a@h>',
    '1sip:a@h',
  ]) {
    t.false(parseUri(bad, 2048).ok, bad);
  }
  t.like(parseUri('urn:service:sos', 2048), {
    ok: true,
    uri: { scheme: 'urn', opaque: 'service:sos' },
  });
  t.false(parseUri('urn:a b', 2048).ok);
});

test('start line strictness', (t) => {
  const cases: Array<[string, ParseRejectReason | 'ok']> = [
    ['INVITE sip:a@b SIP/2.0', 'ok'],
    ['INVITE sip:a@b sip/2.0', 'ok'],
    ['INVITE sip:a@b SIP/3.0', 'unsupported_version'],
    ['INVITE sip:a@b SIP/2', 'bad_version'],
    ['INVITE sip:a@b HTTP/1.1', 'bad_version'],
    ['INVITE  sip:a@b SIP/2.0', 'bad_start_line'],
    ['INVITE sip:a@b  SIP/2.0', 'bad_start_line'],
    ['INVITE sip:a@b SIP/2.0 ', 'bad_start_line'],
    ['INVITE sip:a@b', 'bad_start_line'],
    [' INVITE sip:a@b SIP/2.0', 'bad_start_line'],
    ['INV(TE sip:a@b SIP/2.0', 'bad_method'],
    ['INVITE <sip:a@b> SIP/2.0', 'bad_request_uri'],
  ];
  for (const [line, want] of cases) {
    t.is(rejectReason(req([], { startLine: line })), want, line);
  }
});

test('status line strictness; bad responses are dropped, not answered', (t) => {
  const resp = (line: string) =>
    Buffer.from(
      `${line}${CRLF}Via: SIP/2.0/UDP h;branch=z9hG4bK1${CRLF}Content-Length: 0${CRLF}${CRLF}`,
    );
  const r = ok(resp('SIP/2.0 180 Ringing')).message as SipResponse;
  t.is(r.status, 180);
  t.is(r.reason, 'Ringing');
  t.is((ok(resp('SIP/2.0 404')).message as SipResponse).reason, '');
  for (const [line, want] of [
    ['SIP/2.0 099 Low', 'bad_status_code'],
    ['SIP/2.0 700 High', 'bad_status_code'],
    ['SIP/2.0 20 Short', 'bad_status_code'],
    ['SIP/2.0 2000 Long', 'bad_status_code'],
    ['SIP/2.0 2x0 Hex', 'bad_status_code'],
    ['SIP/2.0 200 Bell\x07', 'bad_reason_phrase'],
    ['SIP/3.0 200 OK', 'unsupported_version'],
  ] as const) {
    const res = parseMessage(resp(line));
    t.like(res, { ok: false, reason: want }, line);
    t.is(res.ok ? 0 : res.status, undefined, `${line}: responses get no status`);
  }
});

test('header line errors', (t) => {
  t.is(rejectReason(req(['NoColonHere'])), 'bad_header');
  t.is(rejectReason(req(['Bad Name: x'])), 'bad_header');
  t.is(rejectReason(req([': x'])), 'bad_header');
  t.is(rejectReason(req(['X-Ok : tolerated before colon'])), 'ok');
  t.is(
    rejectReason(Buffer.from(`OPTIONS sip:a@b SIP/2.0${CRLF} folded-first: x${CRLF}${CRLF}`)),
    'bad_header',
  );
  t.is(
    rejectReason(Buffer.from(`OPTIONS sip:a@b SIP/2.0\nVia: x${CRLF}${CRLF}`)),
    'bad_line_ending',
  );
  t.is(
    rejectReason(Buffer.from(`OPTIONS sip:a@b SIP/2.0${CRLF}X: a\rb${CRLF}${CRLF}`)),
    'bad_line_ending',
  );
  t.is(
    rejectReason(Buffer.from(`OPTIONS sip:a@b SIP/2.0${CRLF}X: a\nY: b${CRLF}${CRLF}`)),
    'bad_line_ending',
  );
  t.is(
    rejectReason(Buffer.from(`OPTIONS sip:a@b SIP/2.0${CRLF}X: a${CRLF}`)),
    'missing_header_end',
  );
});

test('each limit has its own reason and suggested status', (t) => {
  const limits = resolveLimits({
    maxMessageBytes: 2000,
    maxHeaderCount: 12,
    maxHeaderLineBytes: 200,
    maxUriBytes: 60,
    maxViaCount: 3,
    maxContentLength: 100,
  });
  const check = (buf: Buffer, reason: ParseRejectReason, status: number) => {
    const r = parseMessage(buf, { limits });
    t.like(r, { ok: false, reason, status }, reason);
  };
  check(
    req([`X-Pad: ${'a'.repeat(190)}`, `X-Pad: ${'a'.repeat(190)}`], { body: 'x'.repeat(1700) }),
    'message_too_large',
    513,
  );
  check(req(Array.from({ length: 7 }, (_, i) => `X-${i}: v`)), 'too_many_headers', 400);
  check(req([`X-Long: ${'a'.repeat(200)}`]), 'line_too_long', 400);
  check(
    req(['X-Folded: start', ...Array.from({ length: 10 }, () => ` ${'b'.repeat(30)}`)]),
    'line_too_long',
    400,
  );
  check(req([], { startLine: `INVITE sip:${'u'.repeat(60)}@h SIP/2.0` }), 'uri_too_long', 414);
  check(req(['Via: SIP/2.0/UDP a, SIP/2.0/UDP b', 'Via: SIP/2.0/UDP c']), 'too_many_via', 400);
  check(req(['Content-Length: 101'], { body: 'x'.repeat(101) }), 'content_length_too_large', 413);
  // Within the limits the same shapes pass.
  t.true(parseMessage(req(['Via: SIP/2.0/UDP a, SIP/2.0/UDP b']), { limits }).ok);
  t.true(parseMessage(req(['Content-Length: 100'], { body: 'x'.repeat(100) }), { limits }).ok);
});

test('the default limits accept the largest UDP datagram and no more', (t) => {
  const base = req(['Content-Type: text/plain']);
  const room = DEFAULT_LIMITS.maxMessageBytes - base.length;
  const full = Buffer.concat([base, Buffer.alloc(room, 0x61)]);
  t.true(parseMessage(full).ok);
  t.like(parseMessage(Buffer.concat([full, Buffer.from('a')])), { reason: 'message_too_large' });
});

test('limits are validated once when configured', (t) => {
  const err = t.throws(() => resolveLimits({ maxHeaderCount: 0 }), { instanceOf: TollgateError });
  t.is((err as TollgateError).code, 'TG_SIP_BAD_LIMIT');
  t.throws(() => resolveLimits({ maxUriBytes: 1.5 }));
  t.true(Object.isFrozen(resolveLimits()));
});

test('every reject reason has an entry in the status table', (t) => {
  for (const [reason, info] of Object.entries(REJECT_INFO)) {
    if (info.status !== undefined) {
      t.true(info.status >= 400 && info.status <= 599, reason);
      t.truthy(info.phrase, reason);
    }
  }
  t.false(REJECT_INFO.keepalive.malformed);
  t.false(REJECT_INFO.incomplete.malformed);
  t.true(REJECT_INFO.bad_header.malformed);
});

test('stream framing: partial reads, two messages in one buffer, CRLF keepalives', (t) => {
  const one = req(['Content-Length: 5'], { body: 'hello' });
  const two = req(['Content-Length: 0']);
  const both = Buffer.concat([Buffer.from('\r\n\r\n'), one, two]);
  const a = parseMessage(both, { transport: 'stream' });
  if (!a.ok) return t.fail(a.reason);
  t.is(a.message.body.toString(), 'hello');
  t.is(a.consumed, 4 + one.length);
  const b = parseMessage(both.subarray(a.consumed), { transport: 'stream' });
  t.like(b, { ok: true, consumed: two.length });
  for (let cut = 1; cut < one.length; cut += 37) {
    t.like(parseMessage(one.subarray(0, cut), { transport: 'stream' }), {
      ok: false,
      reason: 'incomplete',
    });
  }
  t.like(parseMessage(Buffer.from('\r\n\r\n'), { transport: 'stream' }), {
    ok: false,
    reason: 'keepalive',
    consumed: 4,
  });
  t.like(parseMessage(Buffer.alloc(0)), { ok: false, reason: 'keepalive' });
  // A header block that never ends is cut off at the message limit.
  const limits = resolveLimits({ maxMessageBytes: 1000 });
  const endless = Buffer.from(`OPTIONS sip:a@b SIP/2.0\r\n${'X: y\r\n'.repeat(300)}`);
  t.like(parseMessage(endless, { transport: 'stream', limits }), { reason: 'message_too_large' });
  // A body that would exceed the message limit is refused before it arrives.
  const big = req(['Content-Length: 990']);
  t.like(parseMessage(big, { transport: 'stream', limits }), { reason: 'message_too_large' });
});

test('stream: stream-only Content-Length rules', (t) => {
  t.like(parseMessage(req(), { transport: 'stream' }), {
    reason: 'missing_content_length',
    status: 400,
  });
  t.like(parseMessage(req(['Content-Length: 0', 'l: 0']), { transport: 'stream' }), { ok: true });
  t.like(
    parseMessage(req(['Content-Length: 0', 'l: 3'], { body: 'abc' }), { transport: 'stream' }),
    {
      reason: 'conflicting_content_length',
    },
  );
  t.is(rejectReason(req(['Content-Length: 1x'])), 'bad_content_length');
  t.is(rejectReason(req(['Content-Length: '])), 'bad_content_length');
});

test('datagram: body is the rest without Content-Length, extra octets ignored with it', (t) => {
  t.is(ok(req([], { body: 'rest of it' })).message.body.toString(), 'rest of it');
  const r = ok(req(['Content-Length: 4'], { body: 'restXX' }));
  t.is(r.message.body.toString(), 'rest');
  t.is(r.consumed, req(['Content-Length: 4'], { body: 'restXX' }).length - 2);
});

test('serialize: canonical form, Content-Length fixed, round trip is stable', (t) => {
  const wire = [
    'INVITE sip:bob@example.com SIP/2.0',
    'v:  SIP/2.0/UDP h;branch=z9hG4bK1',
    'VIA: SIP/2.0/UDP g;branch=z9hG4bK2',
    't:<sip:bob@example.com>',
    'From  :   <sip:a@example.com>;tag=x',
    'i: id1',
    'CSEQ: 1 INVITE',
    'X-Folded: a',
    ' b',
    'l: 3',
    '',
    'abc',
  ].join(CRLF);
  const m = ok(Buffer.from(wire)).message;
  const out = serialize(m).toString('latin1');
  t.is(
    out,
    [
      'INVITE sip:bob@example.com SIP/2.0',
      'Via: SIP/2.0/UDP h;branch=z9hG4bK1',
      'Via: SIP/2.0/UDP g;branch=z9hG4bK2',
      'To: <sip:bob@example.com>',
      'From: <sip:a@example.com>;tag=x',
      'Call-ID: id1',
      'CSeq: 1 INVITE',
      'X-Folded: a b',
      'Content-Length: 3',
      '',
      'abc',
    ].join(CRLF),
  );
  const again = ok(Buffer.from(out, 'latin1')).message;
  t.true(serialize(again).equals(Buffer.from(out, 'latin1')));
  t.deepEqual(
    again.via().map((v) => v.branch),
    ['z9hG4bK1', 'z9hG4bK2'],
  );
});

test('building and editing messages; header injection is refused', (t) => {
  const uri = parseUri('sip:alice@example.com', 100);
  if (!uri.ok) return t.fail();
  const m = new SipRequest('OPTIONS', 'sip:alice@example.com', uri.uri, [], Buffer.alloc(0));
  m.addHeader('Via', 'SIP/2.0/UDP a;branch=z9hG4bK1')
    .addHeader('To', '<sip:alice@example.com>')
    .addHeader('From', '<sip:bob@example.com>;tag=1')
    .addHeader('Call-ID', 'c1')
    .addHeader('CSeq', '1 OPTIONS')
    .addHeader('Max-Forwards', '70');
  t.is(m.topVia()!.host, 'a');
  // Views are recomputed after an edit.
  m.prependHeader('v', 'SIP/2.0/TCP proxy.example.com;branch=z9hG4bKp');
  t.deepEqual(
    m.via().map((v) => v.host),
    ['proxy.example.com', 'a'],
  );
  t.true(m.removeFirstHeader('Via'));
  t.is(m.topVia()!.host, 'a');
  m.setHeader('max-forwards', '69');
  t.is(m.view('maxForwards'), 69);
  t.is(m.removeHeader('Max-Forwards'), 1);
  t.is(m.view('maxForwards'), undefined);
  t.true(validateRequest(m).ok);
  const parsed = ok(serialize(m)).message as SipRequest;
  t.is(parsed.method, 'OPTIONS');
  t.is(parsed.callId(), 'c1');

  for (const [name, value] of [
    ['X-Evil', 'a\r\nVia: SIP/2.0/UDP attacker'],
    ['X-Evil', 'a\nb'],
    ['Bad Name', 'v'],
    ['', 'v'],
  ] as const) {
    const err = t.throws(() => m.addHeader(name, value), { instanceOf: TollgateError });
    t.is((err as TollgateError).code, 'TG_SIP_HEADER_INJECTION');
  }
  const resp = new SipResponse(486, 'Busy Here', [], Buffer.from('x'));
  resp.addHeader('Via', 'SIP/2.0/UDP a;branch=z9hG4bK1');
  t.is(
    serialize(resp).toString(),
    'SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nContent-Length: 1\r\n\r\nx',
  );
  resp.reason = 'bad\r\nX: y';
  t.throws(() => serialize(resp), { instanceOf: TollgateError });
  resp.reason = 'ok';
  resp.status = 99;
  t.throws(() => serialize(resp), { instanceOf: TollgateError });
});

test('Date view accepts only RFC 1123 GMT dates', (t) => {
  const d = (v: string) => ok(req([`Date: ${v}`])).message.tryView('date');
  t.like(d('Thu, 21 Feb 2002 13:02:03 GMT'), { ok: true });
  for (const bad of [
    'Thu, 21 Feb 2002 13:02:03 EST',
    'Thu, 31 Feb 2002 13:02:03 GMT',
    'Xyz, 21 Feb 2002 13:02:03 GMT',
    'Thu, 21 Foo 2002 13:02:03 GMT',
    'Thu, 21 Feb 2002 25:02:03 GMT',
    'Thu 21 Feb 2002 13:02:03 GMT',
  ]) {
    t.false(d(bad).ok, bad);
  }
});

test('request checks: Content-Length mismatch, Contact * rules, ACK skips answerable checks', (t) => {
  const sized = ok(req(['Content-Length: 2'], { body: 'ab' })).message as SipRequest;
  t.true(validateRequest(sized).ok);
  sized.body = Buffer.from('abc');
  t.like(validateRequest(sized), { status: 400, phrase: 'Content-Length Mismatch' });
  const register = (extra: string[]) =>
    ok(
      Buffer.from(
        req(extra, { startLine: 'REGISTER sip:example.com SIP/2.0' })
          .toString('latin1')
          .replace('314159 INVITE', '2 REGISTER'),
      ),
    ).message as SipRequest;
  t.like(validateRequest(register(['Contact: *']), { role: 'registrar' }), { status: 400 });
  t.true(validateRequest(register(['Contact: *', 'Expires: 0']), { role: 'registrar' }).ok);
  const ack = ok(
    Buffer.from(
      req(['Require: weird'], { startLine: 'ACK sip:bob@example.com SIP/2.0' })
        .toString('latin1')
        .replace('314159 INVITE', '314159 ACK'),
    ),
  ).message as SipRequest;
  t.true(validateRequest(ack, { role: 'uas' }).ok);
});
