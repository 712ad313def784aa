// Checks the Digest credentials on a request and builds the challenges, per the config:
//   useshadigestauh   which algorithms are offered (0 MD5; 1 SHA-256, SHA-512-256 and MD5, in an
//                     order each phone can use: algorithm-order.ts; 2 the SHA ones)
//   strongdigestauth  0 and 1 accept RFC 2069 answers without qop (old phones); 2 requires
//                     qop=auth; 3 as 2 and the nonce is bound to the source address it was
//                     sent to. With qop, the nonce-count must always grow (no replay).
//   authtype          (per account, through CredentialSource.digestLevel) overrides
//                     useshadigestauh for that account's challenges and answers.
//   cacheregistrations, authfastusers   whether a nonce may answer more than one request,
//                     and failures remembered (auth-cache.ts).
// Unknown user and wrong password get the same answer (403), so the responses cannot be
// used to enumerate accounts (what sipvicious svwar does).
import type { ConfigView, Settings } from '../../config/settings.ts';
import { type DigestAlgorithm, digestsEqual, hash, parseAlgorithm } from '../../crypto/digest.ts';
import type { CredentialSource } from '../../policy-port.ts';
import type { AuthField } from '../message/auth.ts';
import type { SipRequest, SipResponse } from '../message/index.ts';
import { AlgorithmOrder, allowedAlgorithms } from './algorithm-order.ts';
import { AuthMemory } from './auth-cache.ts';
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
  | 'replay' // nonce-count did not grow
  | 'cached-failure'; // cacheregistrations 2: failed from this address moments ago

export type AuthOutcome =
  | { ok: true; user: string; algorithm: DigestAlgorithm }
  | { ok: false; failure: AuthFailure; status: 400 | 401 | 403; user?: string; stale?: boolean };

// The answers that name no user are the same every time: shared, not built per request.
const MISSING: AuthOutcome = Object.freeze({ ok: false, failure: 'missing', status: 401 });
const MALFORMED: AuthOutcome = Object.freeze({ ok: false, failure: 'malformed', status: 400 });

/** What follows the nonce in a challenge, per algorithm, without and with stale=true. */
const CHALLENGE_TAIL: Record<DigestAlgorithm, readonly [string, string]> = {
  MD5: ['", algorithm=MD5, qop="auth"', '", algorithm=MD5, qop="auth", stale=true'],
  'SHA-256': ['", algorithm=SHA-256, qop="auth"', '", algorithm=SHA-256, qop="auth", stale=true'],
  'SHA-512-256': [
    '", algorithm=SHA-512-256, qop="auth"',
    '", algorithm=SHA-512-256, qop="auth", stale=true',
  ],
};

/** The keys digest authentication reads (realm applies at restart, the others live). */
const AUTH_KEYS = [
  'useshadigestauh',
  'strongdigestauth',
  'realm',
  'cacheregistrations',
  'authfastusers',
] as const;

/** The nonce-count of a nonce's first use (RFC 7616 §3.4: "00000001"). */
const FIRST_NC = '00000001';

export class DigestAuthenticator {
  readonly #users: CredentialSource;
  readonly #nonces: NonceManager;
  readonly #config: ConfigView<(typeof AUTH_KEYS)[number]>;
  /** `Digest realm="…", nonce="` for the realm last seen (the realm is the only variable). */
  #challengeHead = '';
  #challengeRealm: string | undefined;
  /** HA2 = H(method:uri) of the last request per algorithm: a phone hashes the same uri each time. */
  readonly #lastHa2 = new Map<DigestAlgorithm, { method: string; uri: string; ha2: string }>();

  /**
   * useshadigestauh and strongdigestauth, read on every request: kept here and refreshed
   * when a live key changes (the realm is not live, and is read each time like before).
   */
  #shaLevel = 0;
  #offered: readonly DigestAlgorithm[] = allowedAlgorithms(0);
  #strictLevel = 0;
  #cacheLevel = 1;
  #fastUsers = true;
  /** Per account and address: whether its phone needs MD5 alone (see algorithm-order.ts). */
  readonly #order: AlgorithmOrder;
  /** Failures (cacheregistrations 2) and request rates (authfastusers) per account and address. */
  readonly #memory: AuthMemory;

  constructor(
    users: CredentialSource,
    nonces: NonceManager,
    settings: Settings,
    now: () => number = Date.now,
  ) {
    this.#users = users;
    this.#nonces = nonces;
    this.#config = settings.view(AUTH_KEYS);
    this.#order = new AlgorithmOrder(now);
    this.#memory = new AuthMemory(now);
    this.#readSettings();
    settings.onChange(() => this.#readSettings());
  }

  #readSettings(): void {
    this.#shaLevel = this.#config.useshadigestauh;
    this.#offered = allowedAlgorithms(this.#shaLevel);
    this.#strictLevel = this.#config.strongdigestauth;
    const cacheLevel = this.#config.cacheregistrations;
    if (cacheLevel !== this.#cacheLevel) this.#memory.clear();
    this.#cacheLevel = cacheLevel;
    this.#fastUsers = this.#config.authfastusers;
  }

  get realm(): string {
    return this.#config.realm;
  }

  /** The algorithms useshadigestauh allows (an answer in any other is refused). */
  offered(): readonly DigestAlgorithm[] {
    return this.#offered;
  }

  /**
   * The useshadigestauh level that applies to `user`: its authtype when set, else the global
   * one. An unknown user gets the global one, like every account without an override.
   */
  #levelOf(user: string | undefined): number {
    if (user === undefined) return this.#shaLevel;
    return this.#users.digestLevel?.(user) ?? this.#shaLevel;
  }

  /**
   * The algorithms a challenge to `request` offers, in order: who asks (the account a
   * REGISTER is for, else the caller in From; its authtype may override useshadigestauh)
   * and with which client decide the order.
   */
  orderFor(request: SipRequest | undefined, sourceIp: string): readonly DigestAlgorithm[] {
    if (request === undefined) return this.#offered;
    const user = accountOf(request);
    const level = this.#levelOf(user);
    if (level !== 1) return allowedAlgorithms(level);
    const userAgent = request.header('user-agent');
    return this.#order.choose(level, user, sourceIp, userAgent);
  }

  #strictness(): number {
    return this.#strictLevel;
  }

  /** Nonce binding: at level 3 a nonce is valid only from the address it was sent to. */
  #nonceScope(realm: string, strictness: number, sourceIp: string): string {
    return strictness >= 3 ? `${realm}|${sourceIp}` : realm;
  }

  /**
   * Adds one WWW-Authenticate (401) or Proxy-Authenticate (407) per offered algorithm, in
   * the order `request`'s phone can use (without it: the default order).
   */
  challenge(
    response: SipResponse,
    sourceIp: string,
    stale = false,
    request?: SipRequest,
  ): SipResponse {
    const header = response.status === 407 ? 'Proxy-Authenticate' : 'WWW-Authenticate';
    const realm = this.realm;
    const nonce = this.#nonces.issue(this.#nonceScope(realm, this.#strictness(), sourceIp));
    if (realm !== this.#challengeRealm) {
      this.#challengeHead = `Digest realm="${realm}", nonce="`;
      this.#challengeRealm = realm;
    }
    const head = this.#challengeHead + nonce;
    const tail = stale ? 1 : 0;
    for (const algorithm of this.orderFor(request, sourceIp)) {
      response.addHeader(header, head + CHALLENGE_TAIL[algorithm][tail]);
    }
    return response;
  }

  /** Verifies the request's Authorization (or Proxy-Authorization) for our realm. */
  verify(request: SipRequest, sourceIp: string, proxy = false): AuthOutcome {
    const view = request.tryView(proxy ? 'proxyAuthorization' : 'authorization');
    if (!view.ok) return view.missing ? MISSING : MALFORMED;
    const realm = this.realm;
    for (const field of view.value) {
      if (field.params.get('realm') === realm && field.scheme.toLowerCase() === 'digest') {
        const outcome = this.#check(field, request, sourceIp, realm);
        if (outcome.ok) {
          this.#order.answered(outcome.user, sourceIp, outcome.algorithm);
          this.#users.authenticatedWith?.(outcome.user, outcome.algorithm);
        }
        return outcome;
      }
    }
    return MISSING;
  }

  #check(field: AuthField, request: SipRequest, sourceIp: string, realm: string): AuthOutcome {
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
    if (algorithm === null || !allowedAlgorithms(this.#levelOf(user)).includes(algorithm)) {
      return { ok: false, failure: 'algorithm', status: 401, user };
    }
    const strict = this.#strictness();
    const scope = this.#nonceScope(realm, strict, sourceIp);
    const nonceState = this.#nonces.checkNonce(nonce, scope);
    if (nonceState === 'invalid') return this.#notOurNonce(p, request, user, algorithm);
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

    const stored = this.#users.ha1(user, algorithm);
    const cacheLevel = this.#cacheLevel;
    if (cacheLevel === 2 && this.#memory.failedRecently(user, sourceIp, stored)) {
      return { ok: false, failure: 'cached-failure', status: 403, user };
    }
    if (!this.#answers(p, request, algorithm, stored) || stored === undefined) {
      if (cacheLevel === 2) this.#memory.failed(user, sourceIp, stored);
      return { ok: false, failure: stored ? 'wrong-password' : 'unknown-user', status: 403, user };
    }
    let reused: boolean;
    if (qop !== undefined) {
      // The nonce's MAC and age were checked above: only its count is left.
      const nc = p.get('nc') ?? '';
      const counted = this.#nonces.count(nonce, nc);
      if (counted === 'stale')
        return { ok: false, failure: 'stale', status: 401, user, stale: true };
      if (counted !== 'valid') return { ok: false, failure: 'replay', status: 403, user };
      reused = nc !== FIRST_NC;
    } else {
      // RFC 2069 has no count: the nonce's first use is recorded as count 1, so a later
      // answer on the same nonce is known as a reuse.
      reused = this.#nonces.count(nonce, FIRST_NC) !== 'valid';
    }
    const fast = this.#fastUsers && this.#memory.fast(user);
    if (reused && (cacheLevel === 0 || fast)) {
      // Right password, but this nonce may not serve another request: a fresh challenge.
      return { ok: false, failure: 'stale', status: 401, user, stale: true };
    }
    return { ok: true, user, algorithm };
  }

  /**
   * Whether the credentials' response is the digest for their nonce, uri and (stored) HA1;
   * #check has made sure those parameters are there. Unknown users (`stored` undefined) are
   * checked against a dummy hash, so they cost the same time.
   */
  #answers(
    p: AuthField['params'],
    request: SipRequest,
    algorithm: DigestAlgorithm,
    stored: string | undefined,
  ): boolean {
    const nonce = p.get('nonce')!;
    const ha1 = stored ?? hash(algorithm, `\0unknown:${this.realm}:${nonce}`);
    const ha2 = this.#ha2(algorithm, request.method, p.get('uri')!);
    const qop = p.get('qop');
    const expected =
      qop === undefined
        ? hash(algorithm, `${ha1}:${nonce}:${ha2}`) // RFC 2069
        : hash(
            algorithm,
            `${ha1}:${nonce}:${p.get('nc') ?? ''}:${p.get('cnonce') ?? ''}:auth:${ha2}`,
          );
    return digestsEqual(expected, p.get('response')!);
  }

  /**
   * A nonce we cannot vouch for: issued before a restart that changed its format, bound to
   * another source address (strongdigestauth 3, a phone whose NAT binding moved), or made up.
   * A response that is right for it shows the client knows the password: it gets a fresh
   * nonce with stale=true (RFC 7616 §3.3) and is not counted as a failure, so an upgrade or a
   * NAT rebinding cannot push a site's phones towards an auth-failure ban. A wrong one is a
   * failure, as before. The request is never accepted on such a nonce.
   */
  #notOurNonce(
    p: AuthField['params'],
    request: SipRequest,
    user: string,
    algorithm: DigestAlgorithm,
  ): AuthOutcome {
    const stored = this.#users.ha1(user, algorithm);
    // Computed for unknown users too (against the dummy hash): the same time either way.
    const right = this.#answers(p, request, algorithm, stored);
    if (right && stored !== undefined) {
      return { ok: false, failure: 'stale', status: 401, user, stale: true };
    }
    return { ok: false, failure: 'bad-nonce', status: 401, user };
  }

  /** HA2 = H(method ":" digest-uri), remembered for the last method and uri per algorithm. */
  #ha2(algorithm: DigestAlgorithm, method: string, uri: string): string {
    const last = this.#lastHa2.get(algorithm);
    if (last !== undefined && last.method === method && last.uri === uri) return last.ha2;
    const ha2 = hash(algorithm, `${method}:${uri}`);
    this.#lastHa2.set(algorithm, { method, uri, ha2 });
    return ha2;
  }
}

/** The account a request would authenticate as: a REGISTER's To (its AOR), else From. */
function accountOf(request: SipRequest): string | undefined {
  const view = request.tryView(request.method === 'REGISTER' ? 'to' : 'from');
  if (!view.ok) return undefined;
  const uri = view.value.uri;
  const user = 'user' in uri ? uri.user : undefined;
  return user === undefined || user === '' || user.length > 128 ? undefined : user;
}
