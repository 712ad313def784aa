// The registrar (RFC 3261 §10.3): authenticates a REGISTER with Digest, then adds, refreshes
// or removes the bindings of the account's address-of-record and answers with the full list.
// Each outcome is reported to the guard (challenge, failure with username, success) with the
// source ip:port; a successful registration makes the source trusted in the dataplane for
// the life of its bindings, so it takes the fast path past the shared flood budget.
import type { ConfigView, Settings } from '../../config/settings.ts';
import type { Logger } from '../../log.ts';
import type { SecurityReport, SipSource, SourceTrust } from '../../policy-port.ts';
import type { DigestAuthenticator } from '../auth/authenticator.ts';
import {
  type Contact,
  createResponse,
  isSipUri,
  type SipRequest,
  type SipResponse,
} from '../message/index.ts';
import { type Binding, type BindingStore, transportRefusal } from './bindings.ts';
import { FLOW_TIMER_SECONDS, flowParams, instanceOf, outboundFlow } from './outbound.ts';

/** Where a REGISTER came from; over TCP/TLS, the connection too (its flow, RFC 5626). */
type StreamSource = SipSource & { readonly connectionId?: string };

export interface RegistrarDeps {
  bindings: BindingStore;
  auth: DigestAuthenticator;
  settings: Settings;
  /** Registered sources take the kernel's fast path (the dataplane, through the port). */
  trust: SourceTrust;
  log: Logger;
  report: (event: SecurityReport) => void;
  now?: () => number;
}

/** The configuration keys the registrar reads. */
const REGISTRAR_KEYS = [
  'blockotherdomains',
  'stricttransport',
  'minexpires',
  'maxexpires',
  'realm',
  'sipdomains',
] as const;

/** RFC 3261 §10.2.1.1: with no expires anywhere, a registrar picks; one hour is customary. */
const DEFAULT_EXPIRES = 3600;

/** Sources remembered as trusted (see #trust); past this the memory starts over. */
const TRUST_MEMORY = 65_536;

export class Registrar {
  readonly #d: RegistrarDeps;
  readonly #now: () => number;
  /** Domains served (lower case), for the realm and sipdomains values they were made from. */
  #served: { realm: string; sipdomains: readonly string[]; names: Set<string> } | undefined;
  /** The Date header of the second last answered (its text has a one-second resolution). */
  #dateSecond = Number.NaN;
  #dateText = '';
  /**
   * ip → the second (epoch) its dataplane trust was last set to run out. Under load one
   * source registers many times a second; asking the dataplane again for the same end
   * (an nft command or a map update each time) changes nothing.
   */
  readonly #trustedUntil = new Map<string, number>();

  /** The registrar's view of the configuration (realm and sipdomains: their start values). */
  readonly #config: ConfigView<(typeof REGISTRAR_KEYS)[number]>;
  /** The live settings read on every REGISTER, kept here and refreshed when one changes. */
  #blockOtherDomains = false;
  #strictTransport = 0;
  #minExpires = 0;
  #maxExpires = 0;

  constructor(deps: RegistrarDeps) {
    this.#d = deps;
    this.#now = deps.now ?? Date.now;
    this.#config = deps.settings.view(REGISTRAR_KEYS);
    this.#readSettings();
    deps.settings.onChange(() => this.#readSettings());
  }

  #readSettings(): void {
    const config = this.#config;
    this.#blockOtherDomains = config.blockotherdomains;
    this.#strictTransport = config.stricttransport;
    this.#minExpires = config.minexpires;
    this.#maxExpires = config.maxexpires;
  }

  handle(request: SipRequest, source: StreamSource): SipResponse {
    const { auth, log } = this.#d;
    const userAgent = request.header('user-agent')?.slice(0, 200);

    if (!this.#servesDomain(request)) {
      this.#report(source, userAgent, 'wrong', undefined, 'domain not served');
      return createResponse(request, 403, 'Domain Not Served');
    }

    const outcome = auth.verify(request, source.ip);
    if (!outcome.ok) {
      // The account named by the credentials, else the one being registered: a scanner
      // walking through extensions shows up as many users from one source.
      const user = outcome.user ?? toUserOf(request);
      const challenge = outcome.failure === 'missing' || outcome.failure === 'stale';
      this.#report(
        source,
        userAgent,
        challenge ? 'auth-challenge' : 'auth-fail',
        user,
        outcome.failure,
      );
      if (!challenge)
        log.info(
          { ip: source.ip, port: source.port, user, failure: outcome.failure },
          'REGISTER refused',
        );
      const response = createResponse(request, outcome.status);
      return outcome.status === 401
        ? auth.challenge(response, source.ip, outcome.stale ?? false, request)
        : response;
    }

    // §10.3 step 6: the authenticated user may only change its own address-of-record.
    const to = request.tryView('to');
    const toUser =
      to.ok && to.value.uri.scheme !== 'tel' && 'user' in to.value.uri
        ? to.value.uri.user
        : undefined;
    if (toUser !== outcome.user) {
      this.#report(
        source,
        userAgent,
        'auth-fail',
        outcome.user,
        'To is not the authenticated user',
      );
      return createResponse(request, 403, 'Not Your Address-of-Record');
    }
    const level = this.#strictTransport;
    // Below level 2 there is nothing to check: the bindings are not even looked up.
    const refusal =
      level < 2
        ? undefined
        : transportRefusal(level, this.#d.bindings.lookup(outcome.user), source.transport, true);
    if (refusal) {
      this.#report(source, userAgent, 'auth-fail', outcome.user, `stricttransport: ${refusal}`);
      return createResponse(request, 403, refusal);
    }
    this.#report(source, userAgent, 'auth-ok', outcome.user, undefined);
    return this.#update(request, outcome.user, source, userAgent);
  }

  /** One report; `user`, `userAgent` and `detail` only when there is one. */
  #report(
    source: SipSource,
    userAgent: string | undefined,
    kind: SecurityReport['kind'],
    user: string | undefined,
    detail: string | undefined,
  ): void {
    const event: SecurityReport = { kind, ip: source.ip, port: source.port, method: 'REGISTER' };
    if (userAgent) event.userAgent = userAgent;
    if (user) event.user = user;
    if (detail) event.detail = detail;
    this.#d.report(event);
  }

  #servesDomain(request: SipRequest): boolean {
    if (!this.#blockOtherDomains) return true;
    const uri = request.uri;
    if (!isSipUri(uri)) return false;
    if (uri.hostType !== 'domain') return true; // an IP literal: the client dialled this box
    return this.#servedDomains().has(uri.host);
  }

  #servedDomains(): Set<string> {
    const { realm, sipdomains } = this.#config;
    const served = this.#served;
    if (served?.realm === realm && served.sipdomains === sipdomains) return served.names;
    const names = new Set([realm, ...sipdomains].map((d) => d.toLowerCase()));
    this.#served = { realm, sipdomains, names };
    return names;
  }

  #update(
    request: SipRequest,
    aor: string,
    source: StreamSource,
    userAgent: string | undefined,
  ): SipResponse {
    const { bindings } = this.#d;
    const contacts = request.tryView('contact');
    const expiresHeader = request.tryView('expires');
    const headerExpires = expiresHeader.ok ? expiresHeader.value : undefined;
    const callId = request.callId();
    const cseq = request.cseq().seq;
    const now = this.#now();

    if (!contacts.ok && !contacts.missing) return createResponse(request, 400, 'Bad Contact');
    if (contacts.ok && contacts.value.star) {
      // §10.3 step 6: "*" only with Expires: 0 and no other contact.
      if (headerExpires !== 0) return createResponse(request, 400, 'Contact * Needs Expires 0');
      for (const b of bindings.lookup(aor)) {
        if (b.callId === callId && cseq <= b.cseq)
          return createResponse(request, 500, 'Out Of Order');
      }
      bindings.removeAll(aor);
      return this.#ok(request, aor, source);
    }

    const min = this.#minExpires;
    const max = this.#maxExpires;
    const list: readonly Contact[] = contacts.ok && !contacts.value.star ? contacts.value.list : [];
    for (const c of list) {
      const expires = c.expires ?? headerExpires ?? DEFAULT_EXPIRES;
      if (expires > 0 && expires < min) {
        return createResponse(request, 423).addHeader('Min-Expires', String(min));
      }
    }
    // §10.3 step 7: a binding is only changed by a newer CSeq of the same Call-ID.
    let added = 0;
    for (const c of list) {
      const existing = bindings.get(aor, c.uri.raw);
      if (existing && existing.callId === callId && cseq <= existing.cseq) {
        return createResponse(request, 500, 'Out Of Order');
      }
      if (!existing && grantedExpires(c, headerExpires, max) > 0) added++;
    }
    if (added > bindings.room(aor)) return createResponse(request, 403, 'Too Many Contacts');

    let outbound = false;
    for (const c of list) {
      const expires = grantedExpires(c, headerExpires, max);
      const flow = outboundFlow(request, c, source.transport);
      if (flow !== undefined) {
        outbound = true;
        // RFC 5626 §6: the same instance and reg-id from a new Contact is the same flow,
        // come back (the phone reconnected): it replaces the old binding.
        for (const b of bindings.lookup(aor))
          if (b.instance === flow.instance && b.regId === flow.regId && b.contact !== c.uri.raw)
            bindings.remove(aor, b.contact);
      }
      if (expires === 0) {
        bindings.remove(aor, c.uri.raw);
        continue;
      }
      const binding: Binding = {
        aor,
        contact: c.uri.raw,
        expiresAt: now + expires * 1000,
        q: c.q === undefined ? -1 : Math.round(c.q * 1000),
        callId,
        cseq,
        transport: source.transport,
        ip: source.ip,
        port: source.port,
      };
      if (source.connectionId !== undefined) binding.connectionId = source.connectionId;
      const instance = instanceOf(c);
      if (instance !== undefined) binding.instance = instance;
      if (flow !== undefined) binding.regId = flow.regId;
      if (userAgent) binding.userAgent = userAgent;
      bindings.upsert(binding);
    }
    const response = this.#ok(request, aor, source);
    // RFC 5626 §6: the phone learns that its flow is kept, and how often to keep it alive.
    if (outbound)
      response.addHeader('Require', 'outbound').addHeader('Flow-Timer', String(FLOW_TIMER_SECONDS));
    return response;
  }

  /** 200 OK listing every current binding with its remaining time (§10.3 step 8). */
  #ok(request: SipRequest, aor: string, source: SipSource): SipResponse {
    const now = this.#now();
    const response = createResponse(request, 200);
    let longest = 0;
    for (const b of this.#d.bindings.lookup(aor)) {
      const left = Math.max(1, Math.round((b.expiresAt - now) / 1000));
      if (b.ip === source.ip) longest = Math.max(longest, left);
      const q = b.q >= 0 ? `;q=${(b.q / 1000).toString()}` : '';
      response.addHeader('Contact', `<${b.contact}>;expires=${left}${q}${flowParams(b)}`);
    }
    response.addHeader('Date', this.#date(now));
    if (longest > 0) this.#trust(source.ip, longest, now);
    return response;
  }

  #date(now: number): string {
    const second = Math.floor(now / 1000);
    if (second !== this.#dateSecond) {
      this.#dateText = new Date(now).toUTCString();
      this.#dateSecond = second;
    }
    return this.#dateText;
  }

  /** Marks a registered source trusted for `ttl` seconds, unless it already is until then. */
  #trust(ip: string, ttl: number, now: number): void {
    const until = Math.floor(now / 1000) + ttl;
    if (this.#trustedUntil.get(ip) === until) return;
    if (this.#trustedUntil.size >= TRUST_MEMORY) this.#trustedUntil.clear();
    this.#trustedUntil.set(ip, until);
    this.#d.trust.trust(ip, ttl).catch((err: Error) => {
      this.#trustedUntil.delete(ip); // not trusted after all: the next REGISTER asks again
      this.#d.log.warn({ ip, err }, 'could not mark a registered source as trusted');
    });
  }
}

/** The lifetime granted to a contact: its own expires, else the request's, capped at max. */
function grantedExpires(c: Contact, headerExpires: number | undefined, max: number): number {
  return Math.min(c.expires ?? headerExpires ?? DEFAULT_EXPIRES, max);
}

function toUserOf(request: SipRequest): string | undefined {
  const to = request.tryView('to');
  return to.ok && isSipUri(to.value.uri) ? to.value.uri.user?.slice(0, 128) : undefined;
}
