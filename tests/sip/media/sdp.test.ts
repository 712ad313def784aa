// The SDP parser and the relay's rewrite: what a phone on the other side of tollgate gets.
import test from 'ava';
import { rewriteSdp } from '../../../src/sip/media/rewrite.ts';
import { parseSdp, SDP_LIMITS, type SDP_REJECTS, type Sdp } from '../../../src/sip/media/sdp.ts';

const OFFER = [
  'v=0',
  'o=alice 2890844526 2890844527 IN IP4 192.168.1.10',
  's=-',
  'c=IN IP4 192.168.1.10',
  't=0 0',
  'a=ice-ufrag:F7gI',
  'a=ice-pwd:x9cml/YzichV2+XlhiMu8g',
  'm=audio 49170 RTP/AVP 0 8 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtcp:49171 IN IP4 192.168.1.10',
  'a=candidate:1 1 UDP 2130706431 192.168.1.10 49170 typ host',
  'a=candidate:2 1 UDP 1694498815 203.0.113.7 49170 typ srflx raddr 192.168.1.10 rport 49170',
  'a=sendrecv',
  'm=video 51372 RTP/AVPF 99',
  'c=IN IP4 192.168.1.11',
  'a=rtcp-mux',
  'a=rtpmap:99 H264/90000',
  'm=message 2855 TCP/MSRP *',
  'a=path:msrp://192.168.1.10:2855/s;tcp',
  '',
].join('\r\n');

const RELAY = { family: 'IP4', ip: '198.51.100.1' } as const;

function parsed(text: string): Sdp {
  const r = parseSdp(text);
  if (!r.ok) throw new Error(`${r.reason}: ${r.detail}`);
  return r;
}

test('an offer is parsed: addresses per stream, RTCP port and mux, direction', (t) => {
  const s = parsed(OFFER);
  t.is(s.media.length, 3);
  const [audio, video, msrp] = s.media;
  t.deepEqual(audio!.address, { family: 'IP4', ip: '192.168.1.10' });
  t.is(audio!.port, 49170);
  t.deepEqual(audio!.rtcp, { port: 49171, address: { family: 'IP4', ip: '192.168.1.10' } });
  t.false(audio!.rtcpMux);
  t.is(audio!.direction, 'sendrecv');
  t.deepEqual(video!.address, { family: 'IP4', ip: '192.168.1.11' });
  t.true(video!.rtcpMux);
  t.is(msrp!.proto, 'TCP/MSRP');
});

test('the rewrite names only the relay: o=, c=, m= ports, a=rtcp; ICE gone; a TCP stream disabled', (t) => {
  const out = rewriteSdp(parsed(OFFER), RELAY, [20000, 20002, undefined]);
  t.false(out.includes('192.168.1.'), 'no address of the sender is left');
  t.false(out.includes('203.0.113.7'));
  t.false(/a=(candidate|ice-)/.test(out), 'no ICE attribute is left');
  const lines = out.split('\r\n');
  t.true(lines.includes('o=alice 2890844526 2890844527 IN IP4 198.51.100.1'));
  t.true(lines.includes('c=IN IP4 198.51.100.1'));
  t.true(lines.includes('m=audio 20000 RTP/AVP 0 8 101'));
  t.true(lines.includes('a=rtcp:20001 IN IP4 198.51.100.1'));
  t.true(lines.includes('m=video 20002 RTP/AVPF 99'));
  t.true(lines.includes('a=rtcp-mux'), 'rtcp-mux is kept');
  t.true(lines.includes('m=message 0 TCP/MSRP *'), 'a stream the relay cannot carry is disabled');
  t.true(lines.includes('a=rtpmap:0 PCMU/8000') && lines.includes('a=sendrecv'));
  t.true(out.endsWith('\r\n'));
  // The rewrite parses again, to the same streams.
  const again = parsed(out);
  t.deepEqual(
    again.media.map((m) => m.port),
    [20000, 20002, 0],
  );
});

test('IPv6 in, IPv4 out (and back): the family follows the receiver', (t) => {
  const v6 = OFFER.replaceAll('IN IP4 192.168.1.10', 'IN IP6 2001:DB8::10').replaceAll(
    'IN IP4 192.168.1.11',
    'IN IP6 2001:db8::11',
  );
  const s = parsed(v6);
  t.deepEqual(s.media[0]!.address, { family: 'IP6', ip: '2001:db8::10' });
  const out = rewriteSdp(s, RELAY, [20000, 20002, undefined]);
  t.false(out.includes('IP6'));
  const back = rewriteSdp(parsed(OFFER), { family: 'IP6', ip: '2001:db8::1' }, [
    20000,
    20002,
    undefined,
  ]);
  t.true(back.includes('c=IN IP6 2001:db8::1\r\n'));
  t.false(back.includes('IP4'));
});

test('hold: c=0.0.0.0 stays hold, a=sendonly/inactive are kept', (t) => {
  const hold = OFFER.replace('c=IN IP4 192.168.1.10', 'c=IN IP4 0.0.0.0').replace(
    'a=sendrecv',
    'a=inactive',
  );
  const s = parsed(hold);
  t.is(s.media[0]!.direction, 'inactive');
  const out = rewriteSdp(s, RELAY, [20000, 20002, undefined]);
  t.true(out.includes('c=IN IP4 0.0.0.0\r\n'));
  t.true(out.includes('a=inactive\r\n'));
});

test('session-level direction applies to streams that say nothing', (t) => {
  const s = parsed(
    'v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\na=sendonly\r\nm=audio 4000 RTP/AVP 0\r\n',
  );
  t.is(s.media[0]!.direction, 'sendonly');
});

const bad: Array<[string, string, keyof typeof SDP_REJECTS]> = [
  ['not SDP at all', 'hello', 'bad_version'],
  ['v=1', 'v=1\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\n', 'bad_version'],
  ['no o=', 'v=0\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\n', 'missing_origin'],
  ['space before =', 'v=0\r\no =- 1 1 IN IP4 1.2.3.4\r\n', 'bad_line'],
  ['upper-case type', 'v=0\r\nO=- 1 1 IN IP4 1.2.3.4\r\n', 'bad_line'],
  [
    'bad c= address',
    'v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.256\r\n',
    'bad_connection',
  ],
  [
    'multicast c=',
    'v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 224.2.1.1/127\r\n',
    'bad_connection',
  ],
  [
    'port 70000',
    'v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 70000 RTP/AVP 0\r\n',
    'bad_port',
  ],
  [
    'port count',
    'v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=video 4000/2 RTP/AVP 31\r\n',
    'port_count',
  ],
  [
    'no address for media',
    'v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n',
    'missing_connection',
  ],
  [
    'bad a=rtcp',
    'v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtcp:x\r\n',
    'bad_rtcp',
  ],
  ['NUL inside a line', 'v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=\u0000\r\n', 'bad_line'],
];
for (const [what, text, reason] of bad) {
  test(`refused with a reason: ${what}`, (t) => {
    const r = parseSdp(text);
    t.false(r.ok);
    if (!r.ok) t.is(r.reason, reason);
  });
}

test('every bound is enforced: size, lines, line length, media sections, formats', (t) => {
  const head = 'v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\n';
  const reasons = [
    parseSdp(head + 'a=x\r\n'.repeat(SDP_LIMITS.maxBytes / 5)),
    parseSdp(head + 'a=x\r\n'.repeat(SDP_LIMITS.maxLines)),
    parseSdp(`${head}a=${'x'.repeat(SDP_LIMITS.maxLineBytes)}\r\n`),
    parseSdp(head + 'm=audio 4000 RTP/AVP 0\r\n'.repeat(SDP_LIMITS.maxMediaSections + 1)),
    parseSdp(`${head}m=audio 4000 RTP/AVP ${'0 '.repeat(SDP_LIMITS.maxFormats)}0\r\n`),
  ].map((r) => (r.ok ? 'ok' : r.reason));
  t.deepEqual(reasons, [
    'too_large',
    'too_many_lines',
    'line_too_long',
    'too_many_media',
    'too_many_formats',
  ]);
});
