// The guard's parts on their own: redaction, trust helpers, User-Agent lists, config
// derivations, the stress-test profile, and bounded memory under a million sources.
import test from 'ava';
import {
  AUTO_AUTH_MAX,
  AUTO_AUTH_MIN,
  derivedAuthRequestLimit,
  missingSessionKeys,
  SESSION_DEFAULTS,
  stressTestProfile,
} from '../../../src/control/guard/config.ts';
import { detach } from '../../../src/control/guard/detach.ts';
import {
  MAX_SAMPLE_CHARS,
  redactSample,
  truncateSample,
} from '../../../src/control/guard/redact.ts';
import { ipv4ToInt, isPrivateIp, TrustPolicy } from '../../../src/control/guard/trust.ts';
import { compileUaList } from '../../../src/control/guard/useragents.ts';
import { registeredErrorCodes } from '../../../src/errors.ts';
import { ATTACKER, setup } from './setup.ts';

test('redaction masks digest secrets, Basic credentials, passwords and URI passwords', (t) => {
  const text = [
    'INVITE sip:bob:s3cret@example.com SIP/2.0',
    'Proxy-Authorization: Digest username="bob", nonce="n0nce", response="deadbeef", cnonce="c", opaque="o", nc=00000002',
    'Authorization: Basic Ym9iOnMzY3JldA==',
    'X-Api-Key: k3y',
    '',
    'pwd=letmein&secret: "shh" token=abc',
  ].join('\r\n');
  const out = redactSample(text)!;
  for (const secret of [
    's3cret',
    'n0nce',
    'deadbeef',
    'Ym9iOnMzY3JldA',
    'k3y',
    'letmein',
    'shh',
    'abc',
  ])
    t.false(out.includes(secret), secret);
  t.true(out.includes('username="bob"'));
  t.true(out.includes('nc=00000002'));
  t.true(out.includes('sip:bob:[redacted]@example.com'));
  t.is(redactSample(undefined), undefined);
});

test('samples are truncated to a bounded copy', (t) => {
  t.is(truncateSample('short'), 'short');
  t.is(truncateSample('x'.repeat(10_000))!.length, MAX_SAMPLE_CHARS);
  t.is(redactSample('y'.repeat(10_000))!.length, MAX_SAMPLE_CHARS);
});

test('ipv4ToInt parses dotted quads and refuses anything else', (t) => {
  t.is(ipv4ToInt('10.0.0.1'), 0x0a000001);
  t.is(ipv4ToInt('255.255.255.255'), 0xffffffff);
  for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1..2.3', '1.2.3.a', '::1', '1.2.3.4 '])
    t.is(ipv4ToInt(bad), -1, bad);
});

test('isPrivateIp knows RFC 1918, link-local, ULA and link-local IPv6', (t) => {
  for (const ip of [
    '10.9.9.9',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.0.1',
    '169.254.1.1',
    'fd12:3456::1',
    'fc00::1',
    'fe80::1',
    'febf::1',
  ])
    t.true(isPrivateIp(ip), ip);
  for (const ip of [
    '172.32.0.1',
    '11.0.0.1',
    '192.169.0.1',
    '8.8.8.8',
    '2001:db8::1',
    'fc::1',
    'fec0::1',
    'ff02::1',
  ])
    t.false(isPrivateIp(ip), ip);
});

test('UA lists match substrings case-insensitively and say which item matched', (t) => {
  const m = compileUaList(['friendly-scanner', 'a.b (c)', ' ']);
  t.true(m.matches('FRIENDLY-SCANNER 1.0'));
  t.true(m.matches('x A.B (C) y'), 'regex metacharacters are literal');
  t.false(m.matches('aXb (c)'));
  t.is(m.which('my Friendly-Scanner'), 'friendly-scanner');
  t.is(m.which('linphone'), undefined);
  t.true(compileUaList([]).empty);
  t.false(compileUaList(['', '  ']).matches(''));
});

test('a UA list answers each header right when headers repeat and alternate (its memo)', (t) => {
  const m = compileUaList(['friendly-scanner']);
  const headers = [
    'Linphone/5',
    'friendly-scanner',
    'friendly-scanner',
    'Linphone/5',
    'Linphone/5',
  ];
  for (const ua of [...headers, ...headers.reverse()])
    t.is(m.matches(ua), ua.startsWith('friendly'), ua);
  // Equal text in a different string object (as every message's header is).
  const cut = 'User-Agent: friendly-scanner\r\n'.slice(12, 28);
  t.true(m.matches(cut));
  t.false(m.matches('Linphone/5'.slice(0)));
});

test('the derived maxsubsipauthrequest falls linearly with load and is clamped', (t) => {
  t.is(derivedAuthRequestLimit(0), AUTO_AUTH_MAX);
  t.is(derivedAuthRequestLimit(1), AUTO_AUTH_MIN);
  t.is(derivedAuthRequestLimit(0.5), 300);
  t.is(derivedAuthRequestLimit(7), AUTO_AUTH_MIN);
  t.is(derivedAuthRequestLimit(-1), AUTO_AUTH_MAX);
  t.is(derivedAuthRequestLimit(Number.NaN), AUTO_AUTH_MAX);
});

test('the session keys the schema still lacks are reported', (t) => {
  const missing = missingSessionKeys();
  for (const key of missing) t.true(key in SESSION_DEFAULTS);
  t.true(missing.length <= Object.keys(SESSION_DEFAULTS).length);
});

test("the stress-test profile is the reference's four keys, valid through Settings, and turns protection off", (t) => {
  const profile = stressTestProfile();
  t.deepEqual(Object.keys(profile).sort(), [
    'autoban',
    'blockscanning_treshold',
    'blocktoomuchpendingsession',
    'enablefirewall',
  ]);
  const g = setup(t, { maxsubsmsgcount: 10 });
  for (const [key, value] of Object.entries(profile)) g.settings.set(key, value);
  t.is(g.settings.valueOf('enablefirewall'), 0);
  t.is(g.settings.valueOf('autoban'), 0);
  t.is(g.settings.valueOf('blockscanning_treshold'), 0);
  t.is(g.settings.valueOf('blocktoomuchpendingsession'), false);
  g.send(1000, { kind: 'message', ip: ATTACKER, port: 5060, userAgent: 'friendly-scanner' });
  t.is(g.bans.length, 0);
});

test("the guard's error codes are registered under area guard", (t) => {
  const codes = [...registeredErrorCodes()].filter(([, area]) => area === 'guard').map(([c]) => c);
  t.true(codes.length >= 3);
  for (const code of codes) t.regex(code, /^TG_GUARD_/);
});

test('a million distinct sources: memory stays under the cap and a heavy hitter is banned once', (t) => {
  const capacity = 65_536;
  const g = setup(t, {}, { capacity });
  const heavy = '203.0.113.66';
  let maxKeys = 0;
  for (let i = 0; i < 1_000_000; i++) {
    const ip = `${11 + ((i >>> 16) & 15)}.${(i >>> 8) & 255}.${i & 255}.${(i * 13) & 255}`;
    g.guard.observe({ kind: 'message', ip, port: 5060 });
    if (i % 20 === 0) g.guard.observe({ kind: 'message', ip: heavy, port: 5060 });
    if (i % 1000 === 0) g.clock.advance(1); // 1M events in ~1 s of fake time
    if ((i & 0xffff) === 0) maxKeys = Math.max(maxKeys, g.guard.stats().keys);
  }
  const stats = g.guard.stats();
  maxKeys = Math.max(maxKeys, stats.keys);
  t.true(maxKeys <= stats.capacity, `${maxKeys} keys ≤ capacity ${stats.capacity}`);
  t.true(g.guard.stats().keys <= capacity + 10 * 8, 'only the message table filled up');
  t.is(g.bans.length, 1);
  t.is(g.bans[0]!.ip, heavy);
  t.is(g.bans[0]!.evidence.count, 39_000);
  t.log(
    `keys ${stats.keys}, evictions ${stats.evictions}, heap ${(process.memoryUsage().heapUsed / 1e6).toFixed(0)} MB`,
  );
});

test('detach: an equal string, also for the short ones V8 copies anyway', (t) => {
  const head = 'Call-ID: 1234567890abcdef@198.51.100.7\r\nCSeq: 1 REGISTER\r\n';
  const callId = head.slice(9, head.indexOf('\r'));
  t.is(detach(callId), callId);
  t.is(detach('short'), 'short');
  t.is(detach(''), '');
  t.is(detach(`${callId}\n${'ü'.repeat(20)}`), `${callId}\n${'ü'.repeat(20)}`);
});

test('trust: the static part and the clock part together are reason(), for every level', (t) => {
  const ips = ['127.0.0.1', '::1', '192.0.2.1', '10.1.2.3', '198.51.100.7', '203.0.113.9'];
  ips.push('fd00::1', '2001:db8::5', '198.51.100.77');
  for (const allowtrustedip of [0, 1, 2, 3, 4])
    for (const trustlanip of [false, true]) {
      const policy = new TrustPolicy(
        {
          allowtrustedip,
          trustedip: ['203.0.113.0/24', '2001:db8::/32'],
          trustlanip,
          trustsubnet: false,
          trustauthip: true,
          treatusersasknownip: false,
          ownAddresses: ['192.0.2.1'],
        },
        60_000,
      );
      policy.authenticated('198.51.100.7', 'REGISTER', 0);
      policy.authenticated('10.1.2.3', 'REGISTER', 0);
      for (const now of [1000, 60_000])
        for (const ip of ips)
          t.is(
            policy.reasonGiven(policy.staticTrust(ip), ip, now),
            policy.reason(ip, now),
            `${ip} level ${allowtrustedip} lan ${trustlanip} at ${now}`,
          );
      t.is(
        policy.staticTrust('198.51.100.7'),
        allowtrustedip >= 2 ? (allowtrustedip === 2 ? 'never' : 'dynamic') : 'never',
      );
    }
});
