// The SIPS certificate phones verify: issued by tollgate's own CA for every address and name
// a phone may use, issued again when they change, or the operator's own (tlscertfile).
import { execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import test from 'ava';
import { certificateNames, ensureCertificate, namesOf } from '../../src/crypto/certificate.ts';
import { startDaemon, testConfig } from '../helpers/daemon.ts';
import { tempDir } from '../helpers/tmp.ts';

const IFACES = {
  lo: [
    { address: '127.0.0.1', family: 'IPv4' },
    { address: '::1', family: 'IPv6' },
  ],
  eth0: [
    { address: '192.0.2.10', family: 'IPv4' },
    { address: '2001:db8::10', family: 'IPv6' },
    { address: 'fe80::1', family: 'IPv6' },
  ],
  eth1: [{ address: '198.51.100.7', family: 'IPv4' }],
} as unknown as Parameters<typeof certificateNames>[2];

test('the server certificate is issued by a local CA, private, names the SIP address, and is reused', (t) => {
  const dir = tempDir(t);
  const names = certificateNames('10.20.30.40', ['sip.example.com']);
  const first = ensureCertificate(dir, names);
  t.true(first.generated);
  t.is(statSync(first.keyPath).mode & 0o777, 0o600);
  t.is(statSync(join(dir, 'tls', 'ca-key.pem')).mode & 0o777, 0o600);
  const server = new X509Certificate(first.cert);
  const ca = new X509Certificate(first.ca);
  t.true(server.checkIssued(ca) && server.verify(ca.publicKey), 'issued by the CA');
  t.true(ca.ca, 'the CA is a CA');
  t.false(server.ca, 'the server certificate is not');
  t.true(server.checkPrivateKey(createPrivateKey(first.key)));
  for (const ip of ['10.20.30.40', '127.0.0.1']) t.is(server.checkIP(ip), ip);
  t.is(server.checkHost('sip.example.com'), 'sip.example.com');
  t.is(server.checkIP('10.20.30.41'), undefined);
  // mbed TLS 2.x (Linphone 5.1) matches an address only against dNSName entries.
  t.true(server.subjectAltName?.includes('DNS:10.20.30.40'));
  // What a phone's TLS library does: the chain verifies against ca.pem alone.
  const verified = execFileSync('openssl', ['verify', '-CAfile', first.caPath, first.certPath]);
  t.regex(String(verified), /: OK/);
  const second = ensureCertificate(dir, names);
  t.false(second.generated);
  t.deepEqual(second.cert, first.cert);
});

test('on a wildcard address every interface address is named (IPv6 only for ::, never link-local)', (t) => {
  const v4 = certificateNames('0.0.0.0', ['tollgate', 'sip.example.com'], IFACES);
  t.deepEqual(v4.ips, ['127.0.0.1', '192.0.2.10', '198.51.100.7', '::1']);
  t.true(v4.dns.includes('sip.example.com') && v4.dns.includes('localhost'));
  const dual = certificateNames('::', [], IFACES);
  t.deepEqual(dual.ips, ['127.0.0.1', '192.0.2.10', '198.51.100.7', '2001:db8::10', '::1']);
  // A realm that is an address is named as an address; nonsense is left out.
  const odd = certificateNames('10.0.0.1', ['10.0.0.9', 'bad name!'], IFACES);
  t.true(odd.ips.includes('10.0.0.9'));
  t.false(odd.dns.some((n) => n.includes(' ')));
});

test('when the names change the certificate is issued again, same CA and key; the old one is not reused', (t) => {
  const dir = tempDir(t);
  const before = ensureCertificate(dir, certificateNames('0.0.0.0', [], IFACES));
  const grown = {
    ...IFACES,
    eth2: [{ address: '203.0.113.5', family: 'IPv4' }],
  } as unknown as Parameters<typeof certificateNames>[2];
  const after = ensureCertificate(dir, certificateNames('0.0.0.0', [], grown));
  t.true(after.generated);
  t.deepEqual(after.key, before.key, 'same key: a phone that pinned it keeps working');
  t.deepEqual(after.ca, before.ca, 'same CA: phones that trust it need nothing new');
  const cert = new X509Certificate(after.cert);
  t.is(cert.checkIP('203.0.113.5'), '203.0.113.5');
  t.deepEqual(namesOf(cert).ips, ['127.0.0.1', '192.0.2.10', '198.51.100.7', '203.0.113.5', '::1']);
  t.is(new X509Certificate(before.cert).checkIP('203.0.113.5'), undefined);
});

test('a certificate from before the CA (self-signed, no SIP address) is replaced, keeping its key', (t) => {
  const dir = tempDir(t);
  const tls = join(dir, 'tls');
  execFileSync('mkdir', ['-p', tls]);
  const keyPath = join(tls, 'key.pem');
  const certPath = join(tls, 'cert.pem');
  execFileSync('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    keyPath,
    '-out',
    certPath,
    '-days',
    '30',
    '-subj',
    '/CN=vm/O=tollgate',
    '-addext',
    'subjectAltName=DNS:vm,IP:127.0.0.1',
  ]);
  const oldKey = readFileSync(keyPath);
  const now = ensureCertificate(dir, certificateNames('10.90.0.2'));
  t.true(now.generated);
  t.deepEqual(now.key, oldKey);
  t.is(new X509Certificate(now.cert).checkIP('10.90.0.2'), '10.90.0.2');
});

test('the daemon serves a certificate that verifies against ca.pem for its SIP address', async (t) => {
  const dataDir = tempDir(t);
  const configFile = await testConfig(dataDir);
  const daemon = await startDaemon(t, { dataDir, configFile });
  const port = Number(/sipsport = (\d+)/.exec(readFileSync(configFile, 'utf8'))![1]);
  const ca = readFileSync(join(dataDir, 'tls', 'ca.pem'));
  const sock = tlsConnect({ host: '127.0.0.1', port, ca });
  t.teardown(() => sock.destroy());
  await new Promise<void>((resolve, reject) => {
    sock.once('secureConnect', resolve);
    sock.once('error', reject);
  });
  t.true(sock.authorized, 'verified with only the CA trusted');
  // pino writes asynchronously: the start-up line may still be on its way.
  const deadline = Date.now() + 30_000;
  while (!/SIPS certificate issued by the local CA/.test(daemon.log()) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 25));
  t.regex(daemon.log(), /SIPS certificate issued by the local CA/);
});

test('tlscertfile and tlskeyfile: the daemon serves the operator certificate instead', async (t) => {
  const dataDir = tempDir(t);
  const own = ensureCertificate(tempDir(t), certificateNames('127.0.0.1', ['pbx.example.net']));
  const certFile = join(dataDir, 'operator-cert.pem');
  const keyFile = join(dataDir, 'operator-key.pem');
  writeFileSync(certFile, own.cert);
  writeFileSync(keyFile, own.key, { mode: 0o600 });
  const configFile = await testConfig(dataDir, { tlscertfile: certFile, tlskeyfile: keyFile });
  await startDaemon(t, { dataDir, configFile });
  const port = Number(/sipsport = (\d+)/.exec(readFileSync(configFile, 'utf8'))![1]);
  const sock = tlsConnect({ host: '127.0.0.1', port, ca: own.ca, servername: 'pbx.example.net' });
  t.teardown(() => sock.destroy());
  await new Promise<void>((resolve, reject) => {
    sock.once('secureConnect', resolve);
    sock.once('error', reject);
  });
  t.true(sock.authorized);
  const served = sock.getPeerX509Certificate();
  t.is(served?.fingerprint256, new X509Certificate(own.cert).fingerprint256);
  t.throws(() => statSync(join(dataDir, 'tls', 'ca.pem')), undefined, 'no local CA made');
});

test('tlscertfile without tlskeyfile stops the daemon with an error naming the missing key', async (t) => {
  const dataDir = tempDir(t);
  const configFile = await testConfig(dataDir, { tlscertfile: '/nonexistent.pem' });
  const error = await t.throwsAsync(startDaemon(t, { dataDir, configFile }));
  t.regex(error?.message ?? '', /tlskeyfile/);
});
