// The certificate for SIPS (TLS on 5061) and the web UI (HTTPS), when the operator configured
// none and no ACME certificate was issued yet. It lives in the base layer: SIP and the web
// server both present it.
//
// tollgate keeps a small certificate authority of its own in the data directory and issues
// the server certificate from it:
//
//   DATA/tls/ca.pem, ca-key.pem   the CA (ECDSA P-256, 10 years, may sign server certs only).
//                                 Phones are given ca.pem once (README: "TLS for phones").
//   DATA/tls/key.pem, cert.pem    the server's key and certificate (cert.pem holds the
//                                 server certificate followed by the CA, the chain served).
//
// The server certificate names every address and host name a phone may use to reach
// tollgate (RFC 5922 §7.1: a SIP client checks the subjectAltName against the host it
// connected to): the SIP address, or every interface address when it listens on a wildcard,
// the loopback addresses, the host name, the realm and the SIP domains. When that list
// changes (an address added, sipaddress changed) the server certificate is issued again
// from the same CA and with the same key, so phones that trust the CA, or that pinned the
// key, keep working. Keys are created mode 0600 in a 0700 directory.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { canonicalIp } from '../ip.ts';

export interface Certificate {
  key: Buffer;
  /** The server certificate followed by the CA that issued it. */
  cert: Buffer;
  /** The CA certificate phones are given to trust. */
  ca: Buffer;
  keyPath: string;
  certPath: string;
  caPath: string;
  /** Whether the server certificate was (re)issued by this call. */
  generated: boolean;
  /** What its subjectAltName lists. */
  names: CertificateNames;
}

export interface CertificateNames {
  readonly ips: readonly string[];
  readonly dns: readonly string[];
}

/** A server certificate is issued again this long before it expires. */
const RENEW_BEFORE_MS = 30 * 86_400_000;
const SERVER_DAYS = 825; // the longest validity clients that check it still accept
const CA_DAYS = 3650;
const MAX_NAMES = 256;

/**
 * What the server certificate should name, from the SIP listen address and the names
 * phones may use. A wildcard (0.0.0.0, ::) means every address of the machine's interfaces
 * (IPv6 link-local ones excepted: they need a zone, which a certificate cannot carry).
 */
export function certificateNames(
  sipAddress: string,
  hostNames: readonly string[] = [],
  interfaces: ReturnType<typeof networkInterfaces> = networkInterfaces(),
): CertificateNames {
  const ips = new Set<string>(['127.0.0.1', '::1']);
  const wildcardV4 = sipAddress === '0.0.0.0';
  const wildcardV6 = sipAddress === '::';
  if (wildcardV4 || wildcardV6) {
    for (const list of Object.values(interfaces)) {
      for (const a of list ?? []) {
        if (a.family === 'IPv6' && (wildcardV4 || a.address.toLowerCase().startsWith('fe80')))
          continue;
        const ip = canonicalIp(a.address);
        if (ip !== null) ips.add(ip);
      }
    }
  } else {
    const ip = canonicalIp(sipAddress);
    if (ip !== null) ips.add(ip);
  }
  const dns = new Set<string>(['localhost']);
  for (const name of [hostname(), ...hostNames]) {
    const lower = name.trim().toLowerCase();
    if (lower === '' || canonicalIp(lower) !== null) {
      const ip = canonicalIp(lower);
      if (ip !== null) ips.add(ip);
      continue;
    }
    if (/^[a-z0-9*]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(lower))
      dns.add(lower);
  }
  return {
    ips: [...ips].sort().slice(0, MAX_NAMES),
    dns: [...dns].sort().slice(0, MAX_NAMES),
  };
}

/**
 * Makes sure DATA/tls holds a CA and a server certificate naming `names`, creating or
 * reissuing what is missing, outdated or expiring; returns the files' contents.
 */
export function ensureCertificate(
  dataDir: string,
  names: CertificateNames = certificateNames('127.0.0.1'),
): Certificate {
  const dir = join(dataDir, 'tls');
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  const caPath = join(dir, 'ca.pem');
  const caKeyPath = join(dir, 'ca-key.pem');
  mkdirSync(dir, { recursive: true, mode: 0o700 });

  if (!existsSync(caPath) || !existsSync(caKeyPath)) {
    newKey(caKeyPath);
    openssl([
      'req',
      '-x509',
      '-new',
      '-key',
      caKeyPath,
      '-out',
      caPath,
      '-days',
      String(CA_DAYS),
      '-subj',
      `/CN=tollgate CA ${hostname()}/O=tollgate`,
      '-addext',
      'basicConstraints=critical,CA:TRUE,pathlen:0',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
  }
  const ca = readFileSync(caPath);
  if (!existsSync(keyPath)) newKey(keyPath);

  let generated = false;
  if (!serverCertificateFits(certPath, ca, names)) {
    issue(dir, keyPath, certPath, caPath, caKeyPath, names);
    generated = true;
  }
  return {
    key: readFileSync(keyPath),
    cert: readFileSync(certPath),
    ca,
    keyPath,
    certPath,
    caPath,
    generated,
    names,
  };
}

/** Whether cert.pem exists, was issued by our CA, names exactly `names` and is not expiring. */
function serverCertificateFits(certPath: string, ca: Buffer, names: CertificateNames): boolean {
  if (!existsSync(certPath)) return false;
  try {
    const server = new X509Certificate(readFileSync(certPath));
    const authority = new X509Certificate(ca);
    if (!server.checkIssued(authority) || !server.verify(authority.publicKey)) return false;
    if (Date.parse(server.validTo) - Date.now() < RENEW_BEFORE_MS) return false;
    return sameEntries(sanOf(server), sanEntries(names));
  } catch {
    return false; // unreadable: issue a new one
  }
}

/** The IP addresses and DNS names a certificate's subjectAltName lists. */
export function namesOf(cert: X509Certificate): CertificateNames {
  const ips: string[] = [];
  const dns: string[] = [];
  for (const part of (cert.subjectAltName ?? '').split(', ')) {
    if (part.startsWith('IP Address:')) {
      const ip = canonicalIp(part.slice('IP Address:'.length));
      if (ip !== null) ips.push(ip);
    } else if (part.startsWith('DNS:')) {
      const name = part.slice(4).toLowerCase();
      if (canonicalIp(name) === null) dns.push(name); // an address spelled as a name: see sanEntries
    }
  }
  return { ips: ips.sort(), dns: dns.sort() };
}

/**
 * The subjectAltName entries for `names`. Each IPv4 and IPv6 address is listed as an
 * iPAddress and also as a dNSName spelled as the address: mbed TLS 2.x (Linphone 5.1 and
 * other phones built on it) matches only dNSName entries, so a certificate naming the
 * address as iPAddress alone fails its check ("CN-mismatch"). OpenSSL, Node and browsers
 * never match an address against a dNSName, so the extra entries give them nothing.
 */
export function sanEntries(names: CertificateNames): string[] {
  return [
    ...names.dns.map((n) => `DNS:${n}`),
    ...names.ips.map((ip) => `IP:${ip}`),
    ...names.ips.map((ip) => `DNS:${ip}`),
  ];
}

/** A certificate's subjectAltName entries, spelled as sanEntries spells them. */
function sanOf(cert: X509Certificate): string[] {
  const out: string[] = [];
  for (const part of (cert.subjectAltName ?? '').split(', ')) {
    if (part.startsWith('IP Address:')) {
      const ip = canonicalIp(part.slice('IP Address:'.length));
      if (ip !== null) out.push(`IP:${ip}`);
    } else if (part.startsWith('DNS:')) {
      const name = part.slice(4).toLowerCase();
      out.push(`DNS:${canonicalIp(name) ?? name}`);
    }
  }
  return out;
}

function sameEntries(a: readonly string[], b: readonly string[]): boolean {
  return [...a].sort().join(',') === [...b].sort().join(',');
}

/** Issues the server certificate for `names` from the CA, with the existing server key. */
function issue(
  dir: string,
  keyPath: string,
  certPath: string,
  caPath: string,
  caKeyPath: string,
  names: CertificateNames,
): void {
  const san = sanEntries(names);
  const csrPath = join(dir, 'server.csr');
  const extPath = join(dir, 'server.ext');
  const newPath = join(dir, 'cert.pem.new');
  const cn = names.dns.find((n) => n !== 'localhost') ?? 'tollgate';
  try {
    openssl(['req', '-new', '-key', keyPath, '-out', csrPath, '-subj', `/CN=${cn}/O=tollgate`]);
    writeFileSync(
      extPath,
      [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature',
        'extendedKeyUsage=serverAuth,clientAuth',
        `subjectAltName=${san.join(',')}`,
        '',
      ].join('\n'),
    );
    openssl([
      'x509',
      '-req',
      '-in',
      csrPath,
      '-CA',
      caPath,
      '-CAkey',
      caKeyPath,
      '-CAcreateserial',
      '-CAserial',
      join(dir, 'ca.srl'),
      '-out',
      newPath,
      '-days',
      String(SERVER_DAYS),
      '-sha256',
      '-extfile',
      extPath,
    ]);
    // The chain served: the server certificate, then the CA.
    writeFileSync(newPath, Buffer.concat([readFileSync(newPath), readFileSync(caPath)]));
    renameSync(newPath, certPath); // atomic: a reader never sees half a file
  } finally {
    rmSync(csrPath, { force: true });
    rmSync(extPath, { force: true });
    rmSync(newPath, { force: true });
  }
}

function newKey(path: string): void {
  // Created empty and owner-only first: openssl then writes into it, keeping the mode, so
  // the key is never readable by others, not even for a moment.
  writeFileSync(path, '', { mode: 0o600 });
  chmodSync(path, 0o600);
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path]);
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
}
