import { createPrivateKey, X509Certificate } from 'node:crypto';
import { statSync } from 'node:fs';
import test from 'ava';
import { ensureCertificate } from '../../src/sip/transport/certificate.ts';
import { tempDir } from '../helpers/tmp.ts';

test('a self-signed certificate is generated once, private, and reused', (t) => {
  const dir = tempDir(t);
  const first = ensureCertificate(dir);
  t.true(first.generated);
  t.is(statSync(first.keyPath).mode & 0o777, 0o600);
  const x509 = new X509Certificate(first.cert);
  t.true(x509.checkIP('127.0.0.1') !== undefined);
  t.true(x509.verify(x509.publicKey), 'self-signed');
  t.true(x509.checkPrivateKey(createPrivateKey(first.key)));
  const second = ensureCertificate(dir);
  t.false(second.generated);
  t.deepEqual(second.cert, first.cert);
});
