// The message layer's shortcuts must not show: views cached per header and shared between
// messages (text-cache.ts, createResponse), names recognised in place, shared empty results.
import test from 'ava';
import {
  createResponse,
  headerKey,
  newTag,
  parseMessage,
  resolveLimits,
  type SipRequest,
  serialize,
} from '../../src/sip/message/index.ts';

function request(text: string, limits = resolveLimits()): SipRequest {
  const r = parseMessage(Buffer.from(text.replace(/\n/g, '\r\n'), 'latin1'), { limits });
  if (!r.ok || r.message.kind !== 'request') throw new Error('fixture does not parse');
  return r.message;
}

const REGISTER = `REGISTER sip:example.com SIP/2.0
Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1;rport
From: <sip:alice@example.com>;tag=a1
To: <sip:alice@example.com>
Call-ID: c1@10.0.0.5
CSeq: 7 REGISTER
Contact: <sip:alice@10.0.0.5>
Content-Length: 0

`;

test('changing a header re-parses its view only', (t) => {
  const m = request(REGISTER);
  const to = m.tryView('to');
  t.is(m.topVia()?.branch, 'z9hG4bK1');
  m.setHeader('Via', 'SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK2;received=10.0.0.9');
  t.is(m.topVia()?.branch, 'z9hG4bK2');
  t.is(m.topVia()?.received, '10.0.0.9');
  t.is(m.tryView('to'), to, 'the To view was kept');
  m.addHeader('v', 'SIP/2.0/TCP 10.0.0.1;branch=z9hG4bK3');
  t.deepEqual(
    m.via().map((v) => v.branch),
    ['z9hG4bK2', 'z9hG4bK3'],
  );
  m.removeHeader('via');
  t.deepEqual(m.via(), []);
});

test('a response shares the parsed Via of its request, until its own Via changes', (t) => {
  const req = request(REGISTER);
  const via = req.tryView('via');
  const res = createResponse(req, 200, undefined, { toTag: 'x' });
  t.is(res.tryView('via'), via);
  t.is(res.to().tag, 'x');
  res.prependHeader('Via', 'SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp');
  t.deepEqual(
    res.via().map((v) => v.host),
    ['proxy.example.com', '10.0.0.5'],
  );
  t.is(req.via().length, 1, 'the request is unchanged');
});

test('a response made with extra Via fields does not take the request Via view', (t) => {
  const req = request(REGISTER);
  req.tryView('via');
  const res = createResponse(req, 200, undefined, {
    headers: [['Via', 'SIP/2.0/UDP other.example.com;branch=z9hG4bKo']],
  });
  t.is(res.via().length, 2);
});

test('the same text parses to the same view, under every URI limit it meets', (t) => {
  const a = request(REGISTER);
  const b = request(REGISTER.replace('CSeq: 7', 'CSeq: 8'));
  t.deepEqual(a.from(), b.from());
  t.is(b.cseq().seq, 8);
  // A later message with a smaller URI limit must not get the cached view.
  const small = resolveLimits({ maxUriBytes: 10 });
  const c = request(REGISTER.replace('REGISTER sip:example.com', 'REGISTER sip:e.com'), small);
  const from = c.tryView('from');
  t.false(from.ok);
  if (!from.ok) t.regex(from.detail, /longer than 10/);
  const contact = c.tryView('contact');
  t.false(contact.ok);
});

test('views of absent headers are read-only and empty', (t) => {
  const m = request(REGISTER);
  t.deepEqual(m.view('route'), []);
  t.deepEqual(m.view('require'), []);
  t.is(m.view('expires'), undefined);
  t.throws(() => (m.view('route') as unknown[]).push(1));
  const params = m.to().params as Map<string, string | null>;
  t.is(params.size, 0);
  t.throws(() => params.set('tag', 'x'));
  t.is(m.to().params.size, 0);
});

test('header names: any case and compact forms give the key, others their lower case', (t) => {
  const m = request(
    REGISTER.replace(
      'Content-Length: 0',
      'CONTENT-LENGTH: 0\nuser-AGENT: x\nX-Odd-Name: y\ni: second',
    ),
  );
  t.is(m.header('content-length'), '0');
  t.is(m.header('User-Agent'), 'x');
  t.is(m.header('x-odd-name'), 'y');
  t.deepEqual(m.headerValues('call-id'), ['c1@10.0.0.5', 'second']);
  t.is(headerKey('Constructor'), 'constructor');
  const wire = serialize(createResponse(m, 100)).toString('latin1');
  t.true(wire.includes('\r\nCall-ID: c1@10.0.0.5\r\n'));
});

test('tags are 8 base64url chars, never repeated', (t) => {
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const tag = newTag();
    t.regex(tag, /^[A-Za-z0-9_-]{8}$/);
    seen.add(tag);
  }
  t.is(seen.size, 2000);
});

const INVITE = `INVITE sip:bob@example.com SIP/2.0
Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1;rport
Route: <sip:proxy.example.com;lr>, <sip:second.example.com;lr>
Route: <sip:third.example.com;lr>
From: "Alice" <sip:alice@example.com>;tag=a1
To: <sip:bob@example.com>
Call-ID: c2@10.0.0.5
CSeq: 1 INVITE
Contact: <sip:alice@10.0.0.5>
Content-Length: 0

`;

/** Every view of `m` as parsing its serialized text again gives it. */
function viewsAsReparsed(t: import('ava').ExecutionContext, m: SipRequest): void {
  const again = request(serialize(m).toString('latin1').replace(/\r\n/g, '\n'), m.limits);
  for (const name of ['via', 'route', 'from', 'to', 'cseq', 'callId', 'contact'] as const)
    t.deepEqual(m.tryView(name), again.tryView(name), name);
}

/** A copy with the same field objects, as a proxy forwards (src/sip/proxy/forward.ts copyRequest). */
function sharingCopy(original: SipRequest, limits = original.limits): SipRequest {
  return new (original.constructor as typeof SipRequest)(
    original.method,
    original.uriText,
    original.uri,
    [...original.headers],
    original.body,
    limits,
  );
}

test('a copy sharing the fields of a parsed request, then edited, has the views a fresh parse gives', (t) => {
  const original = request(INVITE);
  for (const name of ['via', 'route', 'from', 'to', 'cseq', 'contact'] as const)
    original.tryView(name);
  const copy = sharingCopy(original);
  copy.prependHeader('Via', 'SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKtg1;rport');
  copy.removeFirstHeader('route');
  viewsAsReparsed(t, copy);
  t.is(copy.via().length, 2);
  copy.removeFirstHeader('via');
  viewsAsReparsed(t, copy);
  viewsAsReparsed(t, original);
});

test('fields shared with a message under a lower URI limit are judged by that limit', (t) => {
  const original = request(INVITE);
  t.true(original.tryView('route').ok);
  t.true(original.tryView('from').ok);
  const strict = sharingCopy(original, resolveLimits({ maxUriBytes: 20 }));
  t.false(strict.tryView('route').ok, 'a Route URI longer than 20 octets');
  t.false(strict.tryView('from').ok, 'a From URI longer than 20 octets');
  t.true(original.tryView('route').ok, 'the original keeps its views');
});
