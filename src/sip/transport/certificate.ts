// The certificate for SIPS (TLS on 5061) and the web UI. When the operator configured none,
// a self-signed one is generated at first start into the data directory (key mode 0600) and
// reused afterwards, so clients that pinned it keep working across restarts.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export interface Certificate {
  key: Buffer;
  cert: Buffer;
  keyPath: string;
  certPath: string;
  generated: boolean;
}

/** Reuses DIR/tls/{key,cert}.pem, or creates them with openssl (ECDSA P-256, 10 years). */
export function ensureCertificate(dataDir: string, names: string[] = []): Certificate {
  const dir = join(dataDir, 'tls');
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  let generated = false;
  if (!existsSync(keyPath) || !existsSync(certPath)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const host = hostname();
    const san = [`DNS:${host}`, 'DNS:localhost', 'IP:127.0.0.1', 'IP:::1', ...names].join(',');
    execFileSync(
      'openssl',
      [
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
        '3650',
        '-subj',
        `/CN=${host}/O=tollgate`,
        '-addext',
        `subjectAltName=${san}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    // The directory is 0700 already; the key itself is made owner-only too.
    chmodSync(keyPath, 0o600);
    generated = true;
  }
  return { key: readFileSync(keyPath), cert: readFileSync(certPath), keyPath, certPath, generated };
}
