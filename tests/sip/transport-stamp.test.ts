// received/rport stamping (via-rules.ts) against the obvious split/trim/join rewrite it
// replaced for speed: the same text must come out for any Via, odd spacing, case, quoted
// strings with ";" and ",", several values in one field, several Via fields.
import test from 'ava';
import fc from 'fast-check';
import { canonicalIp } from '../../src/ip.ts';
import { parseMessage, type SipMessage, type SipRequest } from '../../src/sip/message/index.ts';
import { quotedEnd } from '../../src/sip/message/value-scan.ts';
import { stampReceived } from '../../src/sip/transport/via-rules.ts';

// ---- the reference: the former implementation, kept verbatim as the oracle

function splitOn(el: string, sep: number): string[] {
  const out: string[] = [];
  let from = 0;
  for (let i = 0; i < el.length; i++) {
    const c = el.charCodeAt(i);
    if (c === 0x22) {
      const q = quotedEnd(el, i, el.length);
      if (q < 0) break;
      i = q - 1;
    } else if (c === sep) {
      out.push(el.slice(from, i));
      from = i + 1;
    }
  }
  out.push(el.slice(from));
  return out;
}

function referenceRewriteTop(element: string, sourceIp: string, rport: number | undefined) {
  const parts = splitOn(element, 0x3b);
  const kept = [parts[0]!.trim()];
  for (const p of parts.slice(1)) {
    const name = p.split('=', 1)[0]!.trim().toLowerCase();
    if (name !== 'received' && name !== 'rport') kept.push(p.trim());
  }
  kept.push(`received=${sourceIp}`);
  if (rport !== undefined) kept.push(`rport=${rport}`);
  return kept.join(';');
}

function referenceStamp(m: SipMessage, source: { ip: string; port: number }): boolean {
  const vias = m.tryView('via');
  if (!vias.ok || vias.value.length === 0) return false;
  const top = vias.value[0]!;
  const host =
    top.host.startsWith('[') && top.host.endsWith(']') ? top.host.slice(1, -1) : top.host;
  const needed =
    canonicalIp(host) !== source.ip ||
    top.rport !== undefined ||
    (top.received !== undefined && canonicalIp(top.received) !== source.ip);
  if (!needed) return true;
  const first = m.headers.find((h) => h.key === 'via')!;
  const values = splitOn(first.value, 0x2c);
  values[0] = referenceRewriteTop(
    values[0]!,
    source.ip,
    top.rport === undefined ? undefined : source.port,
  );
  const rebuilt = values.map((v) => v.trim()).join(', ');
  if (m.headerValues('via').length === 1) m.setHeader(first.name, rebuilt);
  else {
    m.removeFirstHeader('via');
    m.prependHeader(first.name, rebuilt);
  }
  return true;
}

// ---- generated Vias

const ws = fc.constantFrom('', ' ', '  ', '\t', ' \t ');
const word = fc.constantFrom(
  'received',
  'RECEIVED',
  'Received',
  'rport',
  'RPort',
  'rPORT',
  'branch',
  'ttl',
  'maddr',
  'x-rport',
  'receivedx',
  'recei',
);
const paramValue = fc.constantFrom(
  '',
  '=1.2.3.4',
  '=5060',
  '=z9hG4bK776',
  ' = 9 ',
  '="a;b,c"',
  '="q\\"x"',
  '=[2001:db8::1]',
);
const param = fc.tuple(ws, word, paramValue, ws).map(([a, n, v, b]) => `${a}${n}${v}${b}`);
const host = fc.constantFrom(
  '203.0.113.7',
  '192.0.2.1',
  'pc.example.com',
  '[2001:db8::1]',
  '[2001:DB8::0:1]',
  '203.0.113.7:5060',
  'h.example:5070',
);
const viaValue = fc
  .tuple(ws, fc.constantFrom('UDP', 'TCP', 'udp'), host, fc.array(param, { maxLength: 5 }), ws)
  .map(([a, t, h, ps, b]) => `${a}SIP/2.0/${t} ${h}${ps.map((p) => `;${p}`).join('')}${b}`);
const viaField = fc
  .tuple(fc.array(viaValue, { minLength: 1, maxLength: 3 }), fc.constantFrom(',', ', ', ' ,  '))
  .map(([vs, sep]) => vs.join(sep));
const source = fc.constantFrom(
  { ip: '203.0.113.7', port: 40123 },
  { ip: '2001:db8::1', port: 5060 },
  { ip: '192.0.2.1', port: 5060 },
);

function parse(fields: string[]): SipRequest | undefined {
  const text = [
    'OPTIONS sip:tollgate.example SIP/2.0',
    ...fields.map((f, i) => `${i % 2 === 0 ? 'Via' : 'v'}: ${f}`),
    'From: <sip:alice@example.com>;tag=a1',
    'To: <sip:tollgate.example>',
    'Call-ID: c1@example.com',
    'CSeq: 1 OPTIONS',
    'Max-Forwards: 70',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  const r = parseMessage(Buffer.from(text, 'latin1'));
  return r.ok && r.message.kind === 'request' ? r.message : undefined;
}

test('stamping gives exactly the text of the split/trim/join rewrite', (t) => {
  let stamped = 0;
  fc.assert(
    fc.property(fc.array(viaField, { minLength: 1, maxLength: 3 }), source, (fields, src) => {
      const a = parse(fields);
      const b = parse(fields);
      if (a === undefined || b === undefined) return true;
      const got = stampReceived(a, src);
      const want = referenceStamp(b, src);
      if (got !== want) return false;
      if (a.headers.length !== b.headers.length) return false;
      for (let i = 0; i < a.headers.length; i++) {
        const x = a.headers[i]!;
        const y = b.headers[i]!;
        if (x.name !== y.name || x.value !== y.value) return false;
      }
      if (got) stamped++;
      return true;
    }),
    { numRuns: 4000 },
  );
  t.true(stamped > 200, `only ${stamped} cases reached the rewrite`);
});

/** A Via view with its parameters as a plain list, for comparing two views. */
function plainVias(m: SipRequest): unknown {
  const v = m.tryView('via');
  return v.ok ? v.value.map((x) => ({ ...x, params: [...x.params.entries()] })) : v;
}

test('the Via view left by stamping is the one parsing the stamped text gives', (t) => {
  let seeded = 0;
  fc.assert(
    fc.property(fc.array(viaField, { minLength: 1, maxLength: 3 }), source, (fields, src) => {
      const a = parse(fields);
      if (a === undefined || !stampReceived(a, src)) return true;
      const vias = a.headers.filter((h) => h.key === 'via').map((h) => h.value);
      const reparsed = parse(vias);
      if (reparsed === undefined) return false;
      t.deepEqual(plainVias(a), plainVias(reparsed));
      seeded++;
      return true;
    }),
    { numRuns: 4000 },
  );
  t.true(seeded > 100, `only ${seeded} cases were stamped`);
});

test('stamping keeps quoted ";" and "," and odd parameter case as they were', (t) => {
  const m = parse([
    ' SIP/2.0/UDP pc.example.com ; Branch=z9hG4bK1 ;x="a;rport,b"; RPORT ;Received=9.9.9.9 , SIP/2.0/UDP b.example ',
  ])!;
  t.true(stampReceived(m, { ip: '203.0.113.7', port: 40123 }));
  t.is(
    m.header('via'),
    'SIP/2.0/UDP pc.example.com;Branch=z9hG4bK1;x="a;rport,b";received=203.0.113.7;rport=40123, SIP/2.0/UDP b.example',
  );
});
