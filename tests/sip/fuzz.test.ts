// Property tests for the parser's contract with the internet:
//   1. no input makes parseMessage, a typed view, a check or the serializer throw anything
//      but a coded TollgateError (and tryView/validate* throw nothing at all);
//   2. every rejection carries a known reason;
//   3. parse work grows at most linearly with input size — measured by the scanners' octet
//      counter (workMeter), never by a clock.
import { readdirSync, readFileSync } from 'node:fs';
import test from 'ava';
import fc from 'fast-check';
import {
  type ParseOptions,
  parseMessage,
  REJECT_INFO,
  resolveLimits,
  type SipMessage,
  serialize,
  type ViewName,
  validateRequest,
  validateResponse,
  workMeter,
} from '../../src/sip/message/index.ts';
import { VIEWS } from '../../src/sip/message/views.ts';

const DIR = new URL('../fixtures/sip/rfc4475/', import.meta.url);
const CORPUS = readdirSync(DIR)
  .filter((f) => f.endsWith('.dat'))
  .map((f) => readFileSync(new URL(f, DIR)));
const VIEW_NAMES = Object.keys(VIEWS) as ViewName[];

/** Parses and then touches everything a later layer could touch. Returns the work done. */
function exercise(buf: Buffer, opts?: ParseOptions): number {
  const before = workMeter.ops;
  const r = parseMessage(buf, opts);
  if (!r.ok) {
    if (!(r.reason in REJECT_INFO)) throw new Error(`unknown reason ${r.reason}`);
    if (r.reason === 'internal_error') throw new Error(`parser bug: ${r.detail}`);
    return workMeter.ops - before;
  }
  const m: SipMessage = r.message;
  for (const v of VIEW_NAMES) m.tryView(v);
  if (m.kind === 'request') {
    for (const role of ['proxy', 'uas', 'registrar'] as const) validateRequest(m, { role });
  } else validateResponse(m);
  // A parsed message always serializes, and the result parses back to the same fields.
  const wire = serialize(m);
  // Serializing expands compact names and adds Content-Length: allow for that growth.
  const l = m.limits;
  const limits = resolveLimits({
    ...l,
    maxMessageBytes: l.maxMessageBytes * 2,
    maxHeaderLineBytes: l.maxHeaderLineBytes + 64,
    maxHeaderCount: l.maxHeaderCount + 1,
  });
  const again = parseMessage(wire, { limits });
  if (!again.ok) throw new Error(`reparse failed: ${again.reason} ${again.detail}`);
  const a = m.headers.filter((h) => h.key !== 'content-length').map((h) => `${h.key}:${h.value}`);
  const b = again.message.headers
    .filter((h) => h.key !== 'content-length')
    .map((h) => `${h.key}:${h.value}`);
  if (a.join('\n') !== b.join('\n')) throw new Error('round trip changed the headers');
  if (!again.message.body.equals(m.body)) throw new Error('round trip changed the body');
  return workMeter.ops - before;
}

const transports = fc.constantFrom<ParseOptions>(
  { transport: 'datagram' },
  { transport: 'stream' },
);

test('random bytes never throw', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 3000 }), transports, (bytes, opts) => {
      exercise(Buffer.from(bytes), opts);
    }),
    { numRuns: 3000 },
  );
  t.pass();
});

// Text built from the characters the grammar cares about reaches far deeper than raw bytes.
const SIP_ALPHABET = [
  ...'abcSIPsip0129 \t;,:=@<>"\\/%?&[].*-+~_!\'`()#$',
  '\r\n',
  '\r\n ',
  'SIP/2.0',
  'Via: ',
  'To: ',
  'From: ',
  'Contact: ',
  'CSeq: ',
  'Call-ID: ',
  'Route: ',
  'Content-Length: ',
  'Authorization: Digest ',
  'Date: ',
  'l: ',
  'v: ',
  'm: ',
  'sip:',
  'sips:',
  'tel:',
  'branch=z9hG4bK',
  ';tag=',
  '%00',
  '%4',
  '\r\n\r\n',
  '\x00',
  '\xff',
];
const sipText = fc
  .array(fc.constantFrom(...SIP_ALPHABET), { maxLength: 400 })
  .map((parts) => parts.join(''));

test('SIP-shaped garbage never throws', (t) => {
  const start = fc.constantFrom(
    'INVITE sip:a@b SIP/2.0\r\n',
    'REGISTER sip:example.com SIP/2.0\r\n',
    'SIP/2.0 200 OK\r\n',
    '',
  );
  fc.assert(
    fc.property(start, sipText, fc.boolean(), transports, (s, text, end, opts) => {
      exercise(Buffer.from(s + text + (end ? '\r\n\r\n' : ''), 'latin1'), opts);
    }),
    { numRuns: 4000 },
  );
  t.pass();
});

type Mutation = { op: 0 | 1 | 2 | 3 | 4; at: number; len: number; byte: number };
const mutation = fc.record({
  op: fc.constantFrom<Mutation['op']>(0, 1, 2, 3, 4),
  at: fc.nat(),
  len: fc.integer({ min: 1, max: 40 }),
  byte: fc.constantFrom(
    0x00,
    0x09,
    0x0a,
    0x0d,
    0x20,
    0x22,
    0x25,
    0x2c,
    0x3a,
    0x3b,
    0x3c,
    0x3e,
    0x40,
    0x5c,
    0x80,
    0xff,
  ),
});

function mutate(src: Buffer, ms: Mutation[]): Buffer {
  let b = Buffer.from(src);
  for (const m of ms) {
    const at = b.length === 0 ? 0 : m.at % b.length;
    if (m.op === 0)
      b[at] = m.byte; // overwrite
    else if (m.op === 1)
      b = Buffer.concat([b.subarray(0, at), Buffer.from([m.byte]), b.subarray(at)]);
    else if (m.op === 2)
      b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.len)]); // delete
    else if (m.op === 3)
      b = Buffer.concat([b.subarray(0, at + m.len), b.subarray(at)]); // duplicate
    else b = b.subarray(0, at); // truncate
  }
  return b;
}

test('mutated RFC 4475 messages never throw', (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: CORPUS.length - 1 }),
      fc.array(mutation, { minLength: 1, maxLength: 8 }),
      transports,
      (i, ms, opts) => {
        exercise(mutate(CORPUS[i]!, ms), opts);
      },
    ),
    { numRuns: 5000 },
  );
  t.pass();
});

// ----------------------------------------------------------------- linear work

const ROOMY = resolveLimits({
  maxMessageBytes: 1 << 22,
  maxHeaderCount: 1 << 20,
  maxHeaderLineBytes: 1 << 22,
  maxUriBytes: 1 << 22,
  maxViaCount: 1 << 20,
  maxContentLength: 1 << 22,
});

const HEAD = 'INVITE sip:a@b SIP/2.0\r\nCSeq: 1 INVITE\r\nCall-ID: x\r\n';

/** Messages whose size is proportional to n, each stressing one scanner. */
const SHAPES: Record<string, (n: number) => string> = {
  manyHeaders: (n) => `${HEAD}${'X-H: v\r\n'.repeat(n)}\r\n`,
  manyFolds: (n) => `${HEAD}Subject: a${'\r\n b'.repeat(n)}\r\n\r\n`,
  manyVias: (n) =>
    `${HEAD}Via: ${Array(n).fill('SIP/2.0/UDP h;branch=z9hG4bK1').join(', ')}\r\n\r\n`,
  manyParams: (n) =>
    `${HEAD}To: <sip:a@b>${Array.from({ length: n }, (_, i) => `;p${i}=v`).join('')}\r\n\r\n`,
  manyUriParams: (n) =>
    `${HEAD}To: <sip:a@b${Array.from({ length: n }, (_, i) => `;u${i}`).join('')}>\r\n\r\n`,
  manyEscapes: (n) => `${HEAD}From: <sip:${'%41'.repeat(n)}@b>;tag=1\r\n\r\n`,
  longQuoted: (n) => `${HEAD}From: "${'\\"'.repeat(n)}" <sip:a@b>;tag=1\r\n\r\n`,
  unterminatedQuote: (n) => `${HEAD}Contact: "${'a,'.repeat(n)}\r\n\r\n`,
  manyContacts: (n) => `${HEAD}Contact: ${Array(n).fill('<sip:a@b>;q=0.5').join(',')}\r\n\r\n`,
  manyCommasInAngles: (n) => `${HEAD}Route: <${','.repeat(n)}\r\n\r\n`,
  manyAuthParams: (n) =>
    `${HEAD}Authorization: Digest ${Array.from({ length: n }, (_, i) => `p${i}="v"`).join(', ')}\r\n\r\n`,
  manyOptionTags: (n) => `${HEAD}Require: ${Array(n).fill('tag').join(', ')}\r\n\r\n`,
  longDisplayName: (n) => `${HEAD}To: ${'word '.repeat(n)}<sip:a@b>\r\n\r\n`,
  longBody: (n) => `${HEAD}Content-Length: ${n * 10}\r\n\r\n${'0123456789'.repeat(n)}`,
  leadingCrlf: (n) => `${'\r\n'.repeat(n)}${HEAD}\r\n`,
  noHeaderEnd: (n) => `${HEAD}${'X: y\r\n'.repeat(n)}`,
};

function work(text: string, transport: 'datagram' | 'stream' = 'datagram'): number {
  return exercise(Buffer.from(text, 'latin1'), { limits: ROOMY, transport });
}

for (const [name, shape] of Object.entries(SHAPES)) {
  test(`linear work: ${name}`, (t) => {
    const n = 2000;
    const w1 = work(shape(n));
    const w2 = work(shape(2 * n));
    const w4 = work(shape(4 * n));
    t.true(w1 > 0);
    // Doubling the input at most doubles the work, give or take a constant part.
    t.true(w2 <= 2.2 * w1 + 500, `${name}: ${w1} → ${w2}`);
    t.true(w4 <= 2.2 * w2 + 500, `${name}: ${w2} → ${w4}`);
  });
}

test('linear work: random repeated units (property)', (t) => {
  fc.assert(
    fc.property(
      fc
        .array(fc.constantFrom(...SIP_ALPHABET), { minLength: 1, maxLength: 8 })
        .map((a) => a.join('')),
      fc.constantFrom('To: ', 'Via: ', 'Contact: ', 'X: ', 'Authorization: Digest ', 'Route: '),
      (unit, header) => {
        const msg = (k: number) => `${HEAD}${header}${unit.repeat(k)}\r\n\r\n`;
        const w1 = work(msg(300));
        const w2 = work(msg(600));
        return w2 <= 2.2 * w1 + 2000;
      },
    ),
    { numRuns: 400 },
  );
  t.pass();
});
