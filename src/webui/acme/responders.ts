// The two listeners an ACME server connects to while it validates that tollgate owns a name.
// Each is open only while an order is pending (manager.ts opens and closes them) and answers
// nothing but the challenge: every other request gets a 404 or a refused handshake.
//
// HTTP-01 (RFC 8555 §8.3): GET /.well-known/acme-challenge/TOKEN → the key authorization.
// TLS-ALPN-01 (RFC 8737 §3): a TLS handshake offering ALPN "acme-tls/1" with the name in
// SNI → a self-signed certificate carrying the acmeIdentifier extension for that name.
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createSecureContext,
  createServer as createTlsServer,
  type Server as TlsServer,
} from 'node:tls';

/** Every read has a deadline: a validator sends one short request right away. */
const DEADLINE_MS = 10_000;
/** Validators are few (Let's Encrypt uses a handful of perspectives); anything more is noise. */
const MAX_CONNECTIONS = 64;
/** Tables stay bounded: an order names at most 100 identifiers (acmedomains). */
const MAX_CHALLENGES = 256;
const TOKEN = /^\/\.well-known\/acme-challenge\/([A-Za-z0-9_-]{1,256})$/;

export class Http01Responder {
  readonly #tokens = new Map<string, string>();
  readonly #server: HttpServer;

  constructor() {
    this.#server = createHttpServer(
      { headersTimeout: DEADLINE_MS, requestTimeout: DEADLINE_MS, maxHeaderSize: 8192 },
      (req, res) => {
        const match = req.method === 'GET' ? TOKEN.exec(req.url ?? '') : null;
        const answer = match === null ? undefined : this.#tokens.get(match[1]!);
        if (answer === undefined) {
          res.writeHead(404, { 'content-type': 'text/plain', connection: 'close' }).end();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/octet-stream', connection: 'close' });
        res.end(answer);
      },
    );
    this.#server.maxConnections = MAX_CONNECTIONS;
    this.#server.keepAliveTimeout = 1000;
    this.#server.setTimeout(DEADLINE_MS, (socket) => socket.destroy());
  }

  add(token: string, keyAuthorization: string): void {
    if (this.#tokens.size >= MAX_CHALLENGES) throw new Error('too many pending challenges');
    this.#tokens.set(token, keyAuthorization);
  }

  remove(token: string): void {
    this.#tokens.delete(token);
  }

  listen(port: number, host?: string): Promise<number> {
    return listen(this.#server, port, host);
  }

  close(): Promise<void> {
    return close(this.#server);
  }
}

export class TlsAlpn01Responder {
  readonly #certs = new Map<string, { key: string; cert: string }>();
  readonly #server: TlsServer;

  constructor() {
    this.#server = createTlsServer({
      ALPNProtocols: ['acme-tls/1'],
      handshakeTimeout: DEADLINE_MS,
      minVersion: 'TLSv1.2',
      SNICallback: (servername, done) => {
        const pair = this.#certs.get(servername.toLowerCase());
        if (pair === undefined) {
          done(new Error('no challenge for this name'), undefined);
          return;
        }
        done(null, createSecureContext({ ...pair, minVersion: 'TLSv1.2' }));
      },
    });
    this.#server.maxConnections = MAX_CONNECTIONS;
    // The handshake is the whole answer (RFC 8737 §3): nothing is read after it.
    this.#server.on('secureConnection', (socket) => socket.end());
    this.#server.on('tlsClientError', () => {});
  }

  add(name: string, key: string, cert: string): void {
    if (this.#certs.size >= MAX_CHALLENGES) throw new Error('too many pending challenges');
    this.#certs.set(name.toLowerCase(), { key, cert });
  }

  remove(name: string): void {
    this.#certs.delete(name.toLowerCase());
  }

  listen(port: number, host?: string): Promise<number> {
    return listen(this.#server, port, host);
  }

  close(): Promise<void> {
    return close(this.#server);
  }
}

function listen(server: HttpServer | TlsServer, port: number, host?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function close(server: HttpServer | TlsServer): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve) => {
    server.close(() => resolve());
    if ('closeAllConnections' in server) server.closeAllConnections();
  });
}
