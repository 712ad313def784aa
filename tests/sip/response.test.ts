import test from 'ava';
import {
  createResponse,
  parseMessage,
  type SipRequest,
  serialize,
} from '../../src/sip/message/index.ts';

function request(text: string): SipRequest {
  const r = parseMessage(Buffer.from(text.replace(/\n/g, '\r\n')), { transport: 'datagram' });
  if (!r.ok || r.message.kind !== 'request') throw new Error('fixture does not parse');
  return r.message;
}

const REGISTER = `REGISTER sip:tollgate SIP/2.0
Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1;rport
v: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK0
From: <sip:alice@tollgate>;tag=a1
To: <sip:alice@tollgate>
Call-ID: c1@10.0.0.5
CSeq: 7 REGISTER
Contact: <sip:alice@10.0.0.5>
Content-Length: 0

`;

test('a response copies Via (all, in order), From, Call-ID, CSeq and tags To', (t) => {
  const res = createResponse(request(REGISTER), 401, undefined, { toTag: 'T1' });
  const wire = serialize(res).toString('latin1');
  t.true(wire.startsWith('SIP/2.0 401 Unauthorized\r\n'));
  t.deepEqual(res.headerValues('via'), [
    'SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1;rport',
    'SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK0',
  ]);
  t.is(res.header('to'), '<sip:alice@tollgate>;tag=T1');
  t.is(res.header('cseq'), '7 REGISTER');
  t.false(res.has('contact'));
  const reparsed = parseMessage(serialize(res), { transport: 'datagram' });
  t.true(reparsed.ok);
});

test('100 Trying gets no tag, and an existing tag is kept', (t) => {
  t.is(createResponse(request(REGISTER), 100).header('to'), '<sip:alice@tollgate>');
  const tagged = request(
    REGISTER.replace('To: <sip:alice@tollgate>', 'To: <sip:alice@tollgate>;tag=x9'),
  );
  t.is(createResponse(tagged, 200).header('to'), '<sip:alice@tollgate>;tag=x9');
});

test('a response reads views beyond those it adopted, and forgets one whose header changes', (t) => {
  const req = request(REGISTER);
  t.is(req.via().length, 2);
  req.from();
  const res = createResponse(req, 200, undefined, { toTag: 'T2' });
  t.is(res.via()[0]!.branch, 'z9hG4bK1');
  t.is(res.to().tag, 'T2');
  t.deepEqual(res.view('route'), []);
  res.addHeader('Contact', '<sip:alice@10.0.0.5>;expires=60');
  const contacts = res.contact();
  t.true(!contacts.star && contacts.list[0]!.expires === 60);
  res.addHeader('Expires', '30');
  t.is(res.view('expires'), 30);
  res.setHeader('Expires', '20');
  t.is(res.view('expires'), 20);
  res.removeFirstHeader('Via');
  t.is(res.via().length, 1);
  t.is(res.via()[0]!.branch, 'z9hG4bK0');
  // Views taken before any other slot was needed still hold.
  t.is(res.from().tag, 'a1');
  t.is(res.callId(), 'c1@10.0.0.5');
});

test('a fresh response (no views adopted) drops a view when its header changes', (t) => {
  const res = createResponse(request(REGISTER), 486, undefined, { toTag: 'T3' });
  res.setHeader('Call-ID', 'other@x');
  t.is(res.callId(), 'other@x');
  res.setHeader('Call-ID', 'third@x');
  t.is(res.callId(), 'third@x');
});
