// Property tests for the SDP parser and rewrite, which read bodies from the internet:
//   1. no input makes parseSdp or rewriteSdp throw; a refusal always has a known reason;
//   2. whatever is accepted, the rewrite parses again, keeps the number of streams, and
//      names no connection address but the relay's (or the hold address).
import test from 'ava';
import fc from 'fast-check';
import { rewriteSdp } from '../../../src/sip/media/rewrite.ts';
import { parseSdp, SDP_REJECTS } from '../../../src/sip/media/sdp.ts';

const RELAY = { family: 'IP4', ip: '198.51.100.1' } as const;

const ip4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
const ip6 = fc.ipV6();
const addr = fc.oneof(
  ip4.map((a) => `IN IP4 ${a}`),
  ip6.map((a) => `IN IP6 ${a}`),
  fc.constantFrom('IN IP4 0.0.0.0', 'IN IP6 ::', 'IN IP4 host.example', 'XX IP4 1.2.3.4'),
);
const port = fc.oneof(fc.nat(65535), fc.constantFrom(0, 65536, 99999));
const attribute = fc.oneof(
  fc.constantFrom(
    'a=sendrecv',
    'a=sendonly',
    'a=recvonly',
    'a=inactive',
    'a=rtcp-mux',
    'a=rtpmap:0 PCMU/8000',
  ),
  port.map((p) => `a=rtcp:${p}`),
  fc.tuple(port, addr).map(([p, a]) => `a=rtcp:${p} ${a}`),
  ip4.map((a) => `a=candidate:1 1 UDP 2130706431 ${a} 5000 typ host`),
  fc.string({ maxLength: 40 }).map((s) => `a=${s}`),
);
const media = fc
  .tuple(
    fc.constantFrom('audio', 'video', 'image', 'application', 'bad type'),
    port,
    fc.constantFrom(
      'RTP/AVP',
      'RTP/SAVPF',
      'UDP/TLS/RTP/SAVPF',
      'udptl',
      'TCP/MSRP',
      'RTP/AVP/TCP',
    ),
    fc.array(fc.constantFrom('0', '8', '101', '*', 't38'), { maxLength: 5 }),
    fc.option(addr),
    fc.array(attribute, { maxLength: 5 }),
  )
  .map(([m, p, proto, fmts, c, attrs]) =>
    [
      `m=${m} ${p} ${proto}${fmts.length ? ` ${fmts.join(' ')}` : ''}`,
      ...(c ? [`c=${c}`] : []),
      ...attrs,
    ].join('\r\n'),
  );
const sdpText = fc
  .tuple(
    addr,
    fc.option(addr),
    fc.array(attribute, { maxLength: 3 }),
    fc.array(media, { maxLength: 10 }),
    fc.constantFrom('\r\n', '\n'),
  )
  .map(([o, c, attrs, ms, eol]) =>
    ['v=0', `o=- 1 1 ${o}`, 's=-', ...(c ? [`c=${c}`] : []), 't=0 0', ...attrs, ...ms, ''].join(
      eol,
    ),
  );

/** One character changed, cut, or doubled somewhere: near-valid garbage. */
const mutated = fc
  .tuple(
    sdpText,
    fc.nat(),
    fc.constantFrom('drop', 'dup', 'flip', 'cut'),
    fc.integer({ min: 0, max: 255 }),
  )
  .map(([s, at, op, ch]) => {
    const i = s.length === 0 ? 0 : at % s.length;
    if (op === 'drop') return s.slice(0, i) + s.slice(i + 1);
    if (op === 'dup') return s.slice(0, i) + s.slice(i, i + 20) + s.slice(i);
    if (op === 'cut') return s.slice(0, i);
    return s.slice(0, i) + String.fromCharCode(ch) + s.slice(i + 1);
  });

function check(text: string): void {
  const r = parseSdp(Buffer.from(text, 'latin1'));
  if (!r.ok) {
    if (!(r.reason in SDP_REJECTS)) throw new Error(`unknown reason ${r.reason}`);
    return;
  }
  const ports = r.media.map((m, i) => (m.port === 0 ? undefined : 20000 + 2 * i));
  const out = rewriteSdp(r, RELAY, ports);
  const again = parseSdp(out);
  if (!again.ok) throw new Error(`rewrite does not parse: ${again.reason} ${again.detail}\n${out}`);
  if (again.media.length !== r.media.length) throw new Error('streams lost');
  for (const line of out.split('\r\n')) {
    if (!line.startsWith('c=') && !line.startsWith('o=')) continue;
    const a = line.split(' ').at(-1);
    if (a !== RELAY.ip && a !== '0.0.0.0' && a !== '::') throw new Error(`leaked ${line}`);
  }
}

test('generated SDP: parsed or refused with a reason; the rewrite parses and names only the relay', (t) => {
  fc.assert(
    fc.property(sdpText, (s) => check(s)),
    { numRuns: 3000 },
  );
  t.pass();
});

test('mutated SDP never throws', (t) => {
  fc.assert(
    fc.property(mutated, (s) => check(s)),
    { numRuns: 3000 },
  );
  t.pass();
});

test('arbitrary octets never throw', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) =>
      check(`v=0\r\n${Buffer.from(bytes).toString('latin1')}`),
    ),
    { numRuns: 3000 },
  );
  t.pass();
});
