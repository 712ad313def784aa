import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import test from 'ava';
import {
  computeHa1,
  computeResponse,
  digestsEqual,
  parseAlgorithm,
} from '../../src/crypto/digest.ts';
import { NonceManager } from '../../src/sip/auth/nonce.ts';

// RFC 2617 §3.5 (MD5, qop=auth).
test('MD5 matches the RFC 2617 example', (t) => {
  const ha1 = computeHa1('MD5', 'Mufasa', 'testrealm@host.com', 'Circle Of Life');
  const response = computeResponse({
    algorithm: 'MD5',
    ha1,
    method: 'GET',
    uri: '/dir/index.html',
    nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
    nc: '00000001',
    cnonce: '0a4f113b',
    qop: 'auth',
  });
  t.is(response, '6629fae49393a05397450978507c4ef1');
});

// RFC 7616 §3.9.1, the example RFC 8760 points to for SHA-256 (and its MD5 twin).
const rfc7616 = {
  method: 'GET',
  uri: '/dir/index.html',
  nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
  nc: '00000001',
  cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
  qop: 'auth' as const,
};

test('SHA-256 and MD5 match the RFC 7616 example', (t) => {
  const realm = 'http-auth@example.org';
  const sha = computeResponse({
    ...rfc7616,
    algorithm: 'SHA-256',
    ha1: computeHa1('SHA-256', 'Mufasa', realm, 'Circle of Life'),
  });
  t.is(sha, '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
  const md5 = computeResponse({
    ...rfc7616,
    algorithm: 'MD5',
    ha1: computeHa1('MD5', 'Mufasa', realm, 'Circle of Life'),
  });
  t.is(md5, '8ca523f5e9506fed4657c9700eebdbec');
});

test('SHA-512-256 agrees with an independent implementation (openssl)', (t) => {
  const openssl = (text: string) =>
    execFileSync('openssl', ['dgst', '-sha512-256', '-r'], { input: text })
      .toString()
      .split(' ')[0]!;
  const ha1 = computeHa1('SHA-512-256', 'alice', 'tollgate', 'correct horse battery');
  t.is(ha1, openssl('alice:tollgate:correct horse battery'));
  const ha2 = openssl('REGISTER:sip:tollgate');
  const expected = openssl(`${ha1}:abc:00000001:xyz:auth:${ha2}`);
  t.is(
    computeResponse({
      algorithm: 'SHA-512-256',
      ha1,
      method: 'REGISTER',
      uri: 'sip:tollgate',
      nonce: 'abc',
      nc: '00000001',
      cnonce: 'xyz',
      qop: 'auth',
    }),
    expected,
  );
  t.is(ha1.length, 64);
});

test('algorithm tokens: absent means MD5, unknown is refused', (t) => {
  t.is(parseAlgorithm(undefined), 'MD5');
  t.is(parseAlgorithm('sha-256'), 'SHA-256');
  t.is(parseAlgorithm('SHA-512-256'), 'SHA-512-256');
  t.is(parseAlgorithm('MD5-sess'), null);
  t.is(parseAlgorithm('SHA-1'), null);
});

test('digest comparison is exact and case-insensitive on hex', (t) => {
  t.true(digestsEqual('ABCDEF', 'abcdef'));
  t.false(digestsEqual('abcdef', 'abcde0'));
  t.false(digestsEqual('abc', 'abcdef'));
});

function clock(start = 1_700_000_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

test('nonces verify only for this server and realm, and expire into stale', (t) => {
  const c = clock();
  const key = randomBytes(32);
  const nonces = new NonceManager({ key, lifetimeSeconds: 300, now: c.now });
  const nonce = nonces.issue('tollgate');
  t.is(nonces.checkNonce(nonce, 'tollgate'), 'valid');
  t.is(nonces.checkNonce(nonce, 'other-realm'), 'invalid');
  t.is(
    new NonceManager({ key: randomBytes(32), now: c.now }).checkNonce(nonce, 'tollgate'),
    'invalid',
  );
  const tampered = `${nonce.slice(0, -2)}${nonce.endsWith('A') ? 'B' : 'A'}A`;
  t.is(nonces.checkNonce(tampered, 'tollgate'), 'invalid');
  t.is(nonces.checkNonce('not a nonce', 'tollgate'), 'invalid');
  t.is(nonces.checkNonce('x'.repeat(5000), 'tollgate'), 'invalid');
  c.advance(301_000);
  t.is(nonces.checkNonce(nonce, 'tollgate'), 'stale');
});

// An independent computation of the nonce format described in nonce.ts.
test('nonce format: issuedAt | random | SHA-512/256(key | body | realm)[0..21], base64url', (t) => {
  const c = clock();
  const key = randomBytes(32);
  const nonces = new NonceManager({ key, now: c.now });
  const raw = Buffer.alloc(15);
  raw.writeUIntBE(Math.floor(c.now() / 1000), 0, 6);
  randomBytes(9).copy(raw, 6);
  const body = raw.toString('base64url');
  const mac = (b: string, realm: string) =>
    createHash('sha512-256')
      .update(`${key.toString('base64url')}${b}${realm}`)
      .digest('base64url')
      .slice(0, 22);
  t.is(nonces.checkNonce(body + mac(body, 'tollgate'), 'tollgate'), 'valid');
  t.is(nonces.checkNonce(body + mac(body, 'tollgatf'), 'tollgate'), 'invalid');
  const issued = nonces.issue('tollgate');
  t.is(issued.length, 42);
  t.is(Buffer.from(issued.slice(0, 20), 'base64url').readUIntBE(0, 6), Math.floor(c.now() / 1000));
  t.is(issued.slice(20), mac(issued.slice(0, 20), 'tollgate'));
  t.not(nonces.issue('tollgate').slice(8, 20), issued.slice(8, 20), 'a fresh random part');
  c.advance(1000);
  const next = Buffer.from(nonces.issue('tollgate').slice(0, 20), 'base64url');
  t.is(next.readUIntBE(0, 6), Math.floor(c.now() / 1000));
});

test('a nonce has one spelling: variants in unused bits, padding or case are refused', (t) => {
  const nonces = new NonceManager({ key: randomBytes(32) });
  for (let i = 0; i < 50; i++) {
    const nonce = nonces.issue('r');
    const last = nonce.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    // Same 2 MAC bits, different (unused) low 4 bits: decodes to the same bytes.
    const twin = alphabet[alphabet.indexOf(last) | 1]!;
    if (twin !== last) t.is(nonces.checkNonce(nonce.slice(0, -1) + twin, 'r'), 'invalid');
    t.is(nonces.checkNonce(`${nonce}=`, 'r'), 'invalid');
    t.is(nonces.checkNonce(`${nonce.slice(0, -1)}é`, 'r'), 'invalid');
    t.is(nonces.checkNonce(`${nonce.slice(0, 5)}\u0141${nonce.slice(6)}`, 'r'), 'invalid');
    t.is(nonces.checkNonce(`${nonce.slice(0, 10)} ${nonce.slice(10)}`, 'r'), 'invalid');
    t.is(
      nonces.checkNonce(nonce.replaceAll('-', '+').replaceAll('_', '/'), 'r'),
      /[-_]/.test(nonce) ? 'invalid' : 'valid',
    );
    t.is(nonces.checkNonce(nonce, 'r'), 'valid');
  }
});

test('the replay tracker forgets nonces used once before one counted again', (t) => {
  const nonces = new NonceManager({ key: randomBytes(32), maxTracked: 10 });
  const kept = nonces.issue('r');
  t.is(nonces.check(kept, 'r', '00000001'), 'valid');
  const issued: string[] = [];
  for (let round = 0; round < 50; round++) {
    const fresh = nonces.issue('r');
    issued.push(fresh);
    t.is(nonces.check(fresh, 'r', '00000001'), 'valid');
    // Counting `kept` again makes it the newest: it outlives the others.
    t.is(nonces.check(kept, 'r', (round + 2).toString(16).padStart(8, '0')), 'valid');
    t.true(nonces.tracked <= 10);
  }
  t.is(nonces.check(kept, 'r', '00000001'), 'replay'); // still tracked
  t.is(nonces.check(issued.at(-1)!, 'r', '00000001'), 'replay'); // recent: still tracked
  t.is(nonces.check(issued[0]!, 'r', '00000002'), 'stale'); // long forgotten
});

test('count() tracks the nonce-count of a nonce checkNonce found valid', (t) => {
  const nonces = new NonceManager({ key: randomBytes(32) });
  const nonce = nonces.issue('r');
  t.is(nonces.checkNonce(nonce, 'r'), 'valid');
  t.is(nonces.count(nonce, '00000002'), 'stale'); // first use must be nc=1
  t.is(nonces.count(nonce, '00000001'), 'valid');
  t.is(nonces.count(nonce, '00000001'), 'replay');
  t.is(nonces.count(nonce, '0000001'), 'invalid');
  for (const bad of [
    '0000000g',
    '0000000G',
    '000000\x102',
    '0000000/',
    '0000000:',
    '0000000@',
    '+0000002',
    ' 0000002',
    '000000021',
  ])
    t.is(nonces.count(nonce, bad), 'invalid', JSON.stringify(bad));
  t.is(nonces.count(nonce, '0000000A'), 'valid', 'hex digits in either case');
  t.is(nonces.count(nonce, '0000000b'), 'valid');
  t.is(nonces.count(nonce, '0000000B'), 'replay');
  t.is(nonces.count(nonce, 'FFFFFFFF'), 'valid');
});

test('nonce-count must grow: a replayed nc is rejected', (t) => {
  const c = clock();
  const nonces = new NonceManager({ key: randomBytes(32), now: c.now });
  const nonce = nonces.issue('r');
  t.is(nonces.check(nonce, 'r', '00000001'), 'valid');
  t.is(nonces.check(nonce, 'r', '00000001'), 'replay');
  t.is(nonces.check(nonce, 'r', '00000002'), 'valid');
  t.is(nonces.check(nonce, 'r', '00000002'), 'replay');
  t.is(nonces.check(nonce, 'r', 'zz'), 'invalid');
});

test('the replay tracker is bounded; a forgotten nonce is answered with stale', (t) => {
  const nonces = new NonceManager({ key: randomBytes(32), maxTracked: 100 });
  const first = nonces.issue('r');
  t.is(nonces.check(first, 'r', '00000001'), 'valid');
  for (let i = 0; i < 1000; i++) nonces.check(nonces.issue('r'), 'r', '00000001');
  t.is(nonces.tracked, 100);
  t.is(nonces.check(first, 'r', '00000002'), 'stale');
});
