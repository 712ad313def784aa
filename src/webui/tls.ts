// The certificate the web server presents, and who is told when it changes: tollgate's own
// (crypto/certificate.ts) at first start, then the one ACME issues (acme.ts), which SIP over
// TLS presents too (the daemon passes each new one to the SIP transports).
export interface TlsCredentials {
  key: Buffer;
  cert: Buffer;
}

export interface TlsSource {
  current(): TlsCredentials;
  onChange(listener: (cred: TlsCredentials) => void): () => void;
}

/** A TlsSource whose credentials are replaced by `set` (ACME, a reissued own certificate). */
export class CertificateHolder implements TlsSource {
  #cred: TlsCredentials;
  readonly #listeners = new Set<(cred: TlsCredentials) => void>();

  constructor(initial: TlsCredentials) {
    this.#cred = initial;
  }

  current(): TlsCredentials {
    return this.#cred;
  }

  set(cred: TlsCredentials): void {
    this.#cred = cred;
    for (const listener of this.#listeners) listener(cred);
  }

  onChange(listener: (cred: TlsCredentials) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
