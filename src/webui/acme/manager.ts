// A certificate from an ACME certificate authority (RFC 8555, e.g. Let's Encrypt) for the
// names in acmedomains, replacing tollgate's own (crypto/certificate.ts) in the holder the
// web server and the SIP TLS listener both follow (tls.ts; the daemon passes each new one to
// the SIP transports), so both switch without a restart.
//
//   DATA/acme/account.pem   the ACME account key        (0600, kept: the account stays the same)
//   DATA/acme/key.pem       the certificate's key       (0600, new with every order)
//   DATA/acme/cert.pem      the certificate and chain   (0600)
//
// A stored certificate naming exactly acmedomains is used at start; one is ordered when none
// fits or the stored one expires within acmerenewdays. After an issue the next check is at
// expiry − acmerenewdays, but never sooner than 12 hours (a renew window longer than the
// certificate's life cannot loop). A failed order keeps the certificate in use, logs why,
// and is tried again after 1 minute, doubling up to 6 hours.
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import acme from 'acme-client';
import type { ConfigView } from '../../config/settings.ts';
import type { Logger } from '../../log.ts';
import { DIR_MODE, FILE_MODE } from '../../store/permissions.ts';
import type { CertificateHolder } from '../tls.ts';
import { Http01Responder, TlsAlpn01Responder } from './responders.ts';

export const ACME_KEYS = [
  'acmedirectory',
  'acmedomains',
  'acmeemail',
  'acmechallenge',
  'acmerenewdays',
  'acmehttpport',
  'acmetlsport',
] as const;
export type AcmeConfig = ConfigView<(typeof ACME_KEYS)[number]>;

const DAY_MS = 86_400_000;
const MIN_REISSUE_MS = 12 * 3_600_000;
const FIRST_RETRY_MS = 60_000;
const MAX_RETRY_MS = 6 * 3_600_000;
/** setTimeout's limit; a later check is reached in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface AcmeOptions {
  config: AcmeConfig;
  dataDir: string;
  holder: CertificateHolder;
  log: Logger;
  /** Extra CA certificates to trust for the ACME server's HTTPS (a private CA, a test one). */
  trust?: Buffer;
  /** Address the challenge listeners bind (default: every address). */
  challengeAddress?: string;
}

export interface AcmeCertificateInfo {
  serial: string;
  notAfter: string;
  names: readonly string[];
}

// acme-client talks through one shared axios instance. Its own retries of a failed request
// (5, growing to 25 s apart) would hold an order for over a minute; the manager retries whole
// orders with its own backoff, so one quick retry is enough here.
const acmeSettings = (
  acme.axios.defaults as unknown as {
    acmeSettings: { retryMaxAttempts: number; retryDefaultDelay: number };
  }
).acmeSettings;
acmeSettings.retryMaxAttempts = 1;
acmeSettings.retryDefaultDelay = 1;

/** CAs trusted for ACME servers besides the system's: the union of every manager's `trust`. */
const extraTrust = new Set<string>();
function trustExtra(pem: Buffer): void {
  extraTrust.add(pem.toString());
  acme.axios.defaults.httpsAgent = new Agent({
    ca: [...rootCertificates, ...extraTrust],
    keepAlive: false,
  });
}

export function acmeEnabled(config: AcmeConfig): boolean {
  return config.acmedirectory !== '' && config.acmedomains.length > 0;
}

export class AcmeManager {
  readonly #o: AcmeOptions;
  readonly #dir: string;
  #timer: NodeJS.Timeout | undefined;
  #retryMs = FIRST_RETRY_MS;
  #closed = false;
  #running: Promise<void> | undefined;
  #current: AcmeCertificateInfo | undefined;
  #responder: Http01Responder | TlsAlpn01Responder | undefined;
  readonly #listeners = new Set<(event: AcmeEvent) => void>();

  constructor(options: AcmeOptions) {
    this.#o = options;
    this.#dir = join(options.dataDir, 'acme');
    if (options.trust !== undefined) trustExtra(options.trust);
  }

  /** Uses a stored certificate that fits, and checks (orders if needed) right away. */
  start(): void {
    mkdirSync(this.#dir, { recursive: true, mode: DIR_MODE });
    const stored = this.#stored();
    if (stored !== undefined) {
      this.#o.holder.set({ key: stored.key, cert: stored.cert });
      this.#current = stored.info;
      this.#o.log.info({ acme: stored.info }, 'ACME certificate loaded');
    }
    this.#schedule(0);
  }

  /** The certificate from ACME in use, if any (for status and audit). */
  current(): AcmeCertificateInfo | undefined {
    return this.#current;
  }

  onEvent(listener: (event: AcmeEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#responder?.close();
    await this.#running?.catch(() => {});
  }

  #schedule(ms: number): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(
      () => {
        this.#running = this.#check().finally(() => {
          this.#running = undefined;
        });
      },
      Math.min(ms, MAX_TIMER_MS),
    );
    this.#timer.unref();
  }

  async #check(): Promise<void> {
    const due = this.#dueAt();
    if (due > Date.now()) {
      this.#schedule(due - Date.now());
      return;
    }
    try {
      const info = await this.#issue();
      if (this.#closed) return;
      this.#retryMs = FIRST_RETRY_MS;
      this.#schedule(Math.max(this.#dueAt() - Date.now(), MIN_REISSUE_MS));
      this.#emit({ kind: 'issued', info });
    } catch (err) {
      if (this.#closed) return;
      const reason = err instanceof Error ? err.message : String(err);
      this.#o.log.warn(
        { directory: this.#o.config.acmedirectory, retryInSeconds: this.#retryMs / 1000 },
        `ACME: no certificate issued (${reason}); the current certificate stays in use`,
      );
      this.#schedule(this.#retryMs);
      this.#emit({ kind: 'failed', reason });
      this.#retryMs = Math.min(this.#retryMs * 2, MAX_RETRY_MS);
    }
  }

  /** When the certificate in use must be replaced: now if there is none. */
  #dueAt(): number {
    if (this.#current === undefined) return 0;
    return Date.parse(this.#current.notAfter) - this.#o.config.acmerenewdays * DAY_MS;
  }

  async #issue(): Promise<AcmeCertificateInfo> {
    const c = this.#o.config;
    const domains = [...c.acmedomains];
    const client = new acme.Client({
      directoryUrl: c.acmedirectory,
      accountKey: await this.#accountKey(),
    });
    const key = await acme.crypto.createPrivateEcdsaKey();
    const [, csr] = await acme.crypto.createCsr({ commonName: domains[0], altNames: domains }, key);
    const http = c.acmechallenge === 'http-01';
    const responder = http ? new Http01Responder() : new TlsAlpn01Responder();
    this.#responder = responder;
    await responder.listen(http ? c.acmehttpport : c.acmetlsport, this.#o.challengeAddress);
    let chain: string;
    try {
      chain = await client.auto({
        csr,
        email: c.acmeemail === '' ? undefined : c.acmeemail,
        termsOfServiceAgreed: true,
        challengePriority: [c.acmechallenge],
        // The CA validates; our own pre-check would connect to port 80/443 of the name,
        // which is not where a test or a port-forwarded setup listens.
        skipChallengeVerification: true,
        challengeCreateFn: async (authz, challenge, keyAuthorization) => {
          if (responder instanceof Http01Responder) {
            responder.add(challenge.token, keyAuthorization);
          } else {
            const [alpnKey, alpnCert] = await acme.crypto.createAlpnCertificate(
              authz,
              keyAuthorization,
            );
            responder.add(authz.identifier.value, alpnKey.toString(), alpnCert.toString());
          }
        },
        challengeRemoveFn: async (authz, challenge) => {
          if (responder instanceof Http01Responder) responder.remove(challenge.token);
          else responder.remove(authz.identifier.value);
        },
      });
    } finally {
      await responder.close();
      this.#responder = undefined;
    }
    if (this.#closed) throw new Error('closed');
    const info = describe(Buffer.from(chain));
    this.#write('key.pem', key);
    this.#write('cert.pem', Buffer.from(chain));
    this.#current = info;
    this.#o.holder.set({ key, cert: Buffer.from(chain) });
    this.#o.log.info(
      { acme: info },
      `ACME certificate issued for ${info.names.join(', ')} (serial ${info.serial}, expires ${info.notAfter}); HTTPS and SIP over TLS present it`,
    );
    return info;
  }

  async #accountKey(): Promise<Buffer> {
    const path = join(this.#dir, 'account.pem');
    if (existsSync(path)) return readFileSync(path);
    const key = await acme.crypto.createPrivateEcdsaKey();
    this.#write('account.pem', key);
    return key;
  }

  /** The stored certificate, if it parses and names exactly acmedomains. */
  #stored(): { key: Buffer; cert: Buffer; info: AcmeCertificateInfo } | undefined {
    try {
      const key = readFileSync(join(this.#dir, 'key.pem'));
      const cert = readFileSync(join(this.#dir, 'cert.pem'));
      const info = describe(cert);
      const want = [...this.#o.config.acmedomains].map((d) => d.toLowerCase()).sort();
      if ([...info.names].sort().join(',') !== want.join(',')) return undefined;
      if (Date.parse(info.notAfter) <= Date.now()) return undefined;
      return { key, cert, info };
    } catch {
      return undefined; // none yet, or unreadable: order one
    }
  }

  /** Owner-only from the first byte, replaced atomically. */
  #write(name: string, data: Buffer): void {
    const path = join(this.#dir, name);
    const tmp = `${path}.new`;
    writeFileSync(tmp, data, { mode: FILE_MODE });
    renameSync(tmp, path);
  }

  #emit(event: AcmeEvent): void {
    for (const listener of this.#listeners) listener(event);
  }
}

export type AcmeEvent =
  | { kind: 'issued'; info: AcmeCertificateInfo }
  | { kind: 'failed'; reason: string };

function describe(chain: Buffer): AcmeCertificateInfo {
  const leaf = new X509Certificate(chain);
  const names = (leaf.subjectAltName ?? '')
    .split(', ')
    .filter((p) => p.startsWith('DNS:'))
    .map((p) => p.slice(4).toLowerCase());
  return { serial: leaf.serialNumber, notAfter: new Date(leaf.validTo).toISOString(), names };
}
