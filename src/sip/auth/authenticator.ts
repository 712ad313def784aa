// Checks the Digest credentials on a request and builds the challenges, per the config:
//   useshadigestauh   which algorithms are offered (0 MD5; 1 SHA-512-256, SHA-256, MD5; 2 the SHA ones)
//   strongdigestauth  0 and 1 accept RFC 2069 answers without qop (old phones); 2 requires
//                     qop=auth; 3 as 2 and the nonce is bound to the source address it was
//                     sent to. With qop, the nonce-count must always grow (no replay).
// Unknown user and wrong password get the same answer (403), so the responses cannot be
// used to enumerate accounts (what sipvicious svwar does).
import type { Settings } from '../../control/settings.ts';
import type { UserService } from '../../control/users.ts';
import type { AuthField } from '../message/auth.ts';
import type { SipRequest, SipResponse } from '../message/index.ts';
import {
  computeResponse,
  type DigestAlgorithm,
  digestsEqual,
  hash,
  parseAlgorithm,
} from './digest.ts';
import type { NonceManager } from './nonce.ts';

export type AuthFailure =
  | 'missing' // no credentials for our realm: challenge (not a failure of the client yet)
  | 'stale' // our nonce, expired: challenge with stale=true
  | 'malformed'
  | 'bad-nonce' // not a nonce we issued (forged, another server, another source)
  | 'algorithm' // an algorithm we did not offer
  | 'uri' // digest uri differs from the Request-URI
  | 'qop' // qop required by strongdigestauth but absent
  | 'unknown-user'
  | 'wrong-password'
  | 'replay'; // nonce-count did not grow

export type AuthOutcome =
  | { ok: true; user: string; algorithm: DigestAlgorithm }
  | { ok: false; failure: AuthFailure; status: 400 | 401 | 403; user?: string; stale?: boolean };

const OFFERED: Record<number, readonly DigestAlgorithm[]> = {
  0: ['MD5'],
  1: ['SHA-512-256', 'SHA-256', 'MD5'],
  2: ['SHA-512-256', 'SHA-256'],
};

export class DigestAuthenticator {
  readonly #users: UserService;
  readonly #nonces: NonceManager;
  readonly #settings: Settings;

  constructor(users: UserService, nonces: NonceManager, settings: Settings) {
    this.#users = users;
    this.#nonces = nonces;
    this.#settings = settings;
  }

  get realm(): string {
    return this.#settings.get<string>('realm');
  }

  offered(): readonly DigestAlgorithm[] {
    return OFFERED[Number(this.#settings.get('useshadigestauh'))] ?? OFFERED[0]!;
  }

  #strictness(): number {
    return Number(this.#settings.get('strongdigestauth'));
  }

  /** Nonce binding: at level 3 a nonce is valid only from the address it was sent to. */
  #nonceScope(sourceIp: string): string {
    return this.#strictness() >= 3 ? `${this.realm}|${sourceIp}` : this.realm;
  }

  /** Adds one WWW-Authenticate (401) or Proxy-Authenticate (407) per offered algorithm. */
  challenge(response: SipResponse, sourceIp: string, stale = false): SipResponse {
    const header = response.status === 407 ? 'Proxy-Authenticate' : 'WWW-Authenticate';
    const nonce = this.#nonces.issue(this.#nonceScope(sourceIp));
    for (const algorithm of this.offered()) {
      response.addHeader(
        header,
        `Digest realm="${this.realm}", nonce="${nonce}", algorithm=${algorithm}, qop="auth"${stale ? ', stale=true' : ''}`,
      );
    }
    return response;
  }

  /** Verifies the request's Authorization (or Proxy-Authorization) for our realm. */
  verify(request: SipRequest, sourceIp: string, proxy = false): AuthOutcome {
    const view = request.tryView(proxy ? 'proxyAuthorization' : 'authorization');
    if (!view.ok) {
      return view.missing
        ? { ok: false, failure: 'missing', status: 401 }
        : { ok: false, failure: 'malformed', status: 400 };
    }
    const field = view.value.find(
      (f) => f.scheme.toLowerCase() === 'digest' && f.params.get('realm') === this.realm,
    );
    if (!field) return { ok: false, failure: 'missing', status: 401 };
    return this.#check(field, request, sourceIp);
  }

  #check(field: AuthField, request: SipRequest, sourceIp: string): AuthOutcome {
    const p = field.params;
    const user = p.get('username');
    const nonce = p.get('nonce');
    const uri = p.get('uri');
    const response = p.get('response');
    if (!user || !nonce || !uri || !response || user.length > 128) {
      return {
        ok: false,
        failure: 'malformed',
        status: 400,
        ...(user ? { user: user.slice(0, 128) } : {}),
      };
    }
    const algorithm = parseAlgorithm(p.get('algorithm'));
    if (algorithm === null || !this.offered().includes(algorithm)) {
      return { ok: false, failure: 'algorithm', status: 401, user };
    }
    const strict = this.#strictness();
    const scope = this.#nonceScope(sourceIp);
    const nonceState = this.#nonces.checkNonce(nonce, scope);
    if (nonceState === 'invalid') return { ok: false, failure: 'bad-nonce', status: 401, user };
    if (nonceState === 'stale')
      return { ok: false, failure: 'stale', status: 401, user, stale: true };
    // The response covers the uri the client hashed, so a differing one cannot be forged;
    // requiring it to equal the Request-URI (RFC 7616 §3.4.6) stops replays into other
    // requests but breaks clients that hash the server address (SIPp does): strict levels only.
    if (strict >= 2 && uri !== request.uriText)
      return { ok: false, failure: 'uri', status: 400, user };

    const qop = p.get('qop');
    if (qop === undefined ? strict >= 2 : qop.toLowerCase() !== 'auth') {
      return { ok: false, failure: 'qop', status: 401, user };
    }

    // Unknown users are checked against a dummy hash so they cost the same time as real ones.
    const stored = this.#users.ha1(user, algorithm);
    const ha1 = stored ?? hash(algorithm, `\0unknown:${this.realm}:${nonce}`);
    const expected =
      qop === undefined
        ? hash(algorithm, `${ha1}:${nonce}:${hash(algorithm, `${request.method}:${uri}`)}`) // RFC 2069
        : computeResponse({
            algorithm,
            ha1,
            method: request.method,
            uri,
            nonce,
            nc: p.get('nc') ?? '',
            cnonce: p.get('cnonce') ?? '',
            qop: 'auth',
          });
    if (!digestsEqual(expected, response) || stored === undefined) {
      return { ok: false, failure: stored ? 'wrong-password' : 'unknown-user', status: 403, user };
    }
    if (qop !== undefined) {
      const counted = this.#nonces.check(nonce, scope, p.get('nc') ?? '');
      if (counted === 'stale')
        return { ok: false, failure: 'stale', status: 401, user, stale: true };
      if (counted !== 'valid') return { ok: false, failure: 'replay', status: 403, user };
    }
    return { ok: true, user, algorithm };
  }
}
