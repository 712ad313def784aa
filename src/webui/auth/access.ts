// Who may call an API route, decided once per request before its body is read. Every route
// says what it needs (`config.access`): 'public' (health), 'admin', or 'user' (a SIP
// account's own data: the enduser portal and customised softphones).
//
// The reference's keys, as tollgate reads them (README "Web UI and API" has the table):
//
//   source     apiv2ipauth 0: any address; 1: only allowedip (when non-empty); 2: as 1, and
//              trusted sources may call without the API key; 3: trusted sources only.
//              "Trusted" = loopback, trustedip, and private (LAN) addresses when trustlanip.
//   remoteadmin where admin access (web session or API) is accepted from: 0 nowhere (console
//              only), 1 loopback, 2 + trustedip, 3 + private (LAN) addresses, 4 anywhere.
//   apidefneedlogin for API clients (not browser sessions, which are logins protected by
//              CSRF tokens): 0 the API key alone; 1 the key or a login (HTTP Basic); 2 a login,
//              and the key too when one is set; 3 as 2, plus a fresh nonce per request.
//   apideftrustadmin how an API request gets admin rights: 0 never; 1 authenticated as above
//              from a trusted source; 2 a source in trustedip (or loopback) alone; 3 the admin
//              password (Basic login) from anywhere remoteadmin allows; 4 the admin password
//              and a source in trustedip (or loopback).
//   serverapikey / apisipauth  user routes: the account's SIP password (Basic or portal
//              session); with apisipauth off, serverapikey plus X-Tollgate-User names the
//              account without its password. When serverapikey is set, API clients (not
//              portal sessions) must also send it.
//
// Every refused credential (wrong key, password or TOTP code) is reported to the guard as a
// failed authentication, so a brute force gets the address banned in the kernel like a SIP
// password guesser.
import type { FastifyRequest } from 'fastify';
import type { Settings } from '../../config/settings.ts';
import { isPrivateIp } from '../../control/guard/trust.ts';
import type { WebContext } from '../context.ts';
import { WebErrors } from '../errors.ts';
import { KeyChecker } from './api-keys.ts';
import { inList, isLoopback, sourceOf } from './ip-lists.ts';
import { NONCE_HEADER, NonceGuard } from './nonces.ts';

export type Access = 'public' | 'admin' | 'user';

export interface Principal {
  kind: 'admin' | 'user';
  name: string;
  /** How it was established. */
  via: 'session' | 'key' | 'basic' | 'trusted-ip' | 'server-key';
}

/** What a login stores in the session cookie (encrypted and signed by secure-session). */
export interface SessionIdentity {
  kind: 'admin' | 'user';
  name: string;
  /** ms since epoch after which the session is refused. */
  exp: number;
}

declare module '@fastify/secure-session' {
  interface SessionData {
    who: SessionIdentity;
    _csrf: string;
  }
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    principal?: Principal;
    source: string;
  }
}

export const ACCESS_KEYS = [
  'httpapikey',
  'apiv2key',
  'serverapikey',
  'apiv2ipauth',
  'allowedip',
  'trustedip',
  'trustlanip',
  'apisipauth',
  'apidefneedlogin',
  'apideftrustadmin',
  'remoteadmin',
] as const;

export const API_KEY_HEADER = 'x-api-key';
export const SERVER_KEY_HEADER = 'x-tollgate-server-key';
export const USER_HEADER = 'x-tollgate-user';
export const SESSION_IDENTITY = 'who';
const MAX_CREDENTIAL = 512;

export class AccessControl {
  readonly #ctx: WebContext;
  readonly #keys = new KeyChecker();
  readonly #nonces: NonceGuard;
  readonly #config: ReturnType<typeof viewOf>;

  constructor(ctx: WebContext, now: () => number = Date.now) {
    this.#ctx = ctx;
    this.#config = viewOf(ctx.settings);
    this.#nonces = new NonceGuard(now);
  }

  get admins(): WebContext['admins'] {
    return this.#ctx.admins;
  }

  get users(): WebContext['users'] {
    return this.#ctx.users;
  }

  /** Loopback, trustedip, and private addresses when trustlanip is on. */
  trusted(ip: string): boolean {
    const c = this.#config;
    return isLoopback(ip) || inList(c.trustedip, ip) || (c.trustlanip && isPrivateIp(ip));
  }

  /** apiv2ipauth + allowedip: may this address use the API at all? Throws if not. */
  checkSource(ip: string): void {
    const c = this.#config;
    switch (c.apiv2ipauth) {
      case 0:
        return;
      case 1:
      case 2:
        if (c.allowedip.length === 0 || inList(c.allowedip, ip)) return;
        if (c.apiv2ipauth === 2 && this.trusted(ip)) return;
        throw new WebErrors.TG_WEB_SOURCE_REFUSED('not in allowedip; apiv2ipauth');
      default:
        if (this.trusted(ip)) return;
        throw new WebErrors.TG_WEB_SOURCE_REFUSED('not a trusted address; apiv2ipauth 3');
    }
  }

  /** remoteadmin: may administration come from this address? Throws if not. */
  checkAdminSource(ip: string): void {
    const level = this.#config.remoteadmin;
    const ok =
      level >= 4 ||
      (level >= 1 && isLoopback(ip)) ||
      (level >= 2 && inList(this.#config.trustedip, ip)) ||
      (level >= 3 && isPrivateIp(ip));
    if (!ok)
      throw new WebErrors.TG_WEB_SOURCE_REFUSED(
        level === 0
          ? 'remoteadmin 0: console only'
          : `administration from here needs remoteadmin above ${level}`,
      );
  }

  /** The onRequest hook of every API route (throws the refusal). */
  authenticate(req: FastifyRequest): void {
    const access = req.routeOptions.config.access ?? 'admin';
    if (access === 'public') return;
    const ip = req.source;
    this.checkSource(ip);
    const session = this.sessionIdentity(req);
    if (session !== undefined) {
      if (access === 'admin' && session.kind !== 'admin')
        throw new WebErrors.TG_WEB_FORBIDDEN('an administrator login is needed');
      if (session.kind === 'admin') this.checkAdminSource(ip);
      req.principal = { kind: session.kind, name: session.name, via: 'session' };
      return;
    }
    req.principal = access === 'admin' ? this.#apiAdmin(req, ip) : this.#apiUser(req, ip);
  }

  /** The login a valid, unexpired session cookie carries. */
  sessionIdentity(req: FastifyRequest): SessionIdentity | undefined {
    const who = req.session?.get(SESSION_IDENTITY) as SessionIdentity | undefined;
    if (who === undefined || typeof who !== 'object') return undefined;
    if (typeof who.exp !== 'number' || who.exp < Date.now()) return undefined;
    if (who.kind === 'admin' && !this.#ctx.admins.exists(who.name)) return undefined;
    if (who.kind === 'user' && !this.#ctx.users.exists(who.name)) return undefined;
    return who;
  }

  /** An admin API call without a session: apidefneedlogin, apideftrustadmin, remoteadmin. */
  #apiAdmin(req: FastifyRequest, ip: string): Principal {
    const c = this.#config;
    this.checkAdminSource(ip);
    const trusted = this.trusted(ip);
    const explicitlyTrusted = isLoopback(ip) || inList(c.trustedip, ip);
    if (c.apideftrustadmin === 0)
      throw new WebErrors.TG_WEB_FORBIDDEN('apideftrustadmin 0: the API has no admin rights');
    if (c.apideftrustadmin === 2) {
      if (!explicitlyTrusted)
        throw new WebErrors.TG_WEB_FORBIDDEN('apideftrustadmin 2: admin only from trustedip');
      return { kind: 'admin', name: 'trusted-ip', via: 'trusted-ip' };
    }
    const key = this.#apiKey(req, ip);
    const basic = this.#basicAdmin(req, ip);
    // What apidefneedlogin asks of the credentials.
    const keySet = c.httpapikey !== '' || c.apiv2key !== '';
    const keyOk = key || (c.apiv2ipauth === 2 && trusted);
    switch (c.apidefneedlogin) {
      case 0:
        if (!keyOk && !basic)
          throw this.#missing(keySet ? 'an API key' : 'an API key (none is set: httpapikey)');
        break;
      case 1:
        if (!keyOk && !basic) throw this.#missing('an API key or a login');
        break;
      default:
        if (!basic) throw this.#missing('a login (HTTP Basic with an administrator)');
        if (keySet && !keyOk) throw this.#missing('the API key as well as the login');
        if (c.apidefneedlogin === 3) this.#checkNonce(req);
    }
    // What apideftrustadmin asks for admin rights.
    if (c.apideftrustadmin === 1 && !trusted)
      throw new WebErrors.TG_WEB_FORBIDDEN('apideftrustadmin 1: admin only from trusted addresses');
    if (c.apideftrustadmin >= 3 && !basic)
      throw new WebErrors.TG_WEB_FORBIDDEN(
        `apideftrustadmin ${c.apideftrustadmin}: admin needs the admin password`,
      );
    if (c.apideftrustadmin === 4 && !explicitlyTrusted)
      throw new WebErrors.TG_WEB_FORBIDDEN('apideftrustadmin 4: admin only from trustedip');
    return { kind: 'admin', name: basic ?? 'api-key', via: basic ? 'basic' : 'key' };
  }

  /** A user API call without a session: the SIP credentials (apisipauth) and serverapikey. */
  #apiUser(req: FastifyRequest, ip: string): Principal {
    const c = this.#config;
    const serverKey = header(req, SERVER_KEY_HEADER);
    let serverKeyOk = false;
    if (serverKey !== undefined) {
      serverKeyOk = this.#keys.matches(serverKey, c.serverapikey);
      if (!serverKeyOk) this.#fail(req, ip, 'wrong serverapikey');
    }
    if (c.serverapikey !== '' && !serverKeyOk) throw this.#missing('the serverapikey');
    if (c.apidefneedlogin === 3) this.#checkNonce(req);
    const basic = basicCredentials(req);
    if (basic !== undefined) {
      if (!this.#ctx.users.verifyPassword(basic.name, basic.password)) {
        this.#fail(req, ip, 'wrong user password');
      }
      return { kind: 'user', name: basic.name, via: 'basic' };
    }
    const named = header(req, USER_HEADER);
    if (!c.apisipauth && serverKeyOk && named !== undefined && this.#ctx.users.exists(named))
      return { kind: 'user', name: named, via: 'server-key' };
    throw this.#missing(
      c.apisipauth
        ? "the account's SIP credentials (apisipauth)"
        : 'SIP credentials, or serverapikey and X-Tollgate-User',
    );
  }

  /** Whether the request carries a valid admin API key; a wrong one is a failure. */
  #apiKey(req: FastifyRequest, ip: string): boolean {
    const candidate = header(req, API_KEY_HEADER) ?? bearer(req);
    if (candidate === undefined) return false;
    const c = this.#config;
    if (this.#keys.matches(candidate, c.httpapikey) || this.#keys.matches(candidate, c.apiv2key))
      return true;
    return this.#fail(req, ip, 'wrong API key');
  }

  /** The admin named by valid HTTP Basic credentials; wrong ones are a failure. */
  #basicAdmin(req: FastifyRequest, ip: string): string | undefined {
    const basic = basicCredentials(req);
    if (basic === undefined) return undefined;
    const outcome = this.#ctx.admins.login({
      name: basic.name,
      password: basic.password,
      totp: header(req, 'x-tollgate-totp'),
    });
    if (outcome.ok) return outcome.admin.name;
    return this.#fail(
      req,
      ip,
      outcome.why === 'totp-required' ? 'TOTP code missing' : 'wrong admin password',
    );
  }

  #checkNonce(req: FastifyRequest): void {
    const verdict = this.#nonces.check(header(req, NONCE_HEADER));
    if (!verdict.ok) throw new WebErrors.TG_WEB_NONCE(verdict.why);
  }

  #missing(what: string): Error {
    return new WebErrors.TG_WEB_UNAUTHENTICATED(what);
  }

  /** Reports a refused credential to the guard and refuses the request. */
  #fail(req: FastifyRequest, ip: string, detail: string): never {
    this.#ctx.reportAuthFailure(ip, req.socket.remotePort ?? 0, detail);
    throw new WebErrors.TG_WEB_BAD_CREDENTIALS();
  }

  /** Reports a failed login (the login route) to the guard. */
  reportFailure(req: FastifyRequest, detail: string): void {
    this.#ctx.reportAuthFailure(req.source, req.socket.remotePort ?? 0, detail);
  }
}

function viewOf(settings: Settings) {
  return settings.view(ACCESS_KEYS);
}

function header(req: FastifyRequest, name: string): string | undefined {
  const value = req.headers[name];
  if (typeof value !== 'string' || value.length > MAX_CREDENTIAL) return undefined;
  return value;
}

function bearer(req: FastifyRequest): string | undefined {
  const auth = header(req, 'authorization');
  if (auth === undefined || !/^Bearer /i.test(auth)) return undefined;
  return auth.slice(7).trim();
}

/** RFC 7617 Basic credentials, if the request carries well-formed ones. */
export function basicCredentials(
  req: FastifyRequest,
): { name: string; password: string } | undefined {
  const auth = header(req, 'authorization');
  if (auth === undefined || !/^Basic /i.test(auth)) return undefined;
  const decoded = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { name: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export { sourceOf };
