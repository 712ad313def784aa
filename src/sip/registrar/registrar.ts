// The registrar (RFC 3261 §10.3): authenticates a REGISTER with Digest, then adds, refreshes
// or removes the bindings of the account's address-of-record and answers with the full list.
// Each outcome is reported to the guard (challenge, failure with username, success) with the
// source ip:port; a successful registration makes the source trusted in the dataplane for
// the life of its bindings, so it takes the fast path past the shared flood budget.
import type { Settings } from '../../control/settings.ts';
import type { Dataplane } from '../../dataplane/types.ts';
import type { Logger } from '../../log.ts';
import type { DigestAuthenticator } from '../auth/authenticator.ts';
import { createResponse, isSipUri, type SipRequest, type SipResponse } from '../message/index.ts';
import { type BindingStore, transportRefusal } from './bindings.ts';

export interface SipSource {
  transport: 'udp' | 'tcp' | 'tls';
  ip: string;
  port: number;
}

export interface SecurityReport {
  /**
   * 'unauthorized': refused by policy (anonymous caller, domain not served, unknown callee);
   * 'call-start' / 'call-end': a call set up through the proxy, and its end.
   */
  kind:
    | 'auth-challenge'
    | 'auth-fail'
    | 'auth-ok'
    | 'wrong'
    | 'unauthorized'
    | 'call-start'
    | 'call-end';
  ip: string;
  port: number;
  user?: string;
  userAgent?: string;
  method: string;
  detail?: string;
  callId?: string;
  /** call-end: seconds from the answer to the end (0 for a call never answered). */
  durationSeconds?: number;
}

/**
 * The guard's answer to a report: 'pass', or a refusal with the rule (config key) behind it.
 * The proxy refuses a call whose call-start is not passed; other reporters may ignore it.
 */
export interface SecurityVerdict {
  readonly action: 'pass' | 'drop' | 'ban' | 'close-session';
  readonly rule?: string;
}

export interface RegistrarDeps {
  bindings: BindingStore;
  auth: DigestAuthenticator;
  settings: Settings;
  dataplane: Dataplane;
  log: Logger;
  report: (event: SecurityReport) => void;
  now?: () => number;
}

/** RFC 3261 §10.2.1.1: with no expires anywhere, a registrar picks; one hour is customary. */
const DEFAULT_EXPIRES = 3600;

export class Registrar {
  readonly #d: RegistrarDeps;
  readonly #now: () => number;

  constructor(deps: RegistrarDeps) {
    this.#d = deps;
    this.#now = deps.now ?? Date.now;
  }

  handle(request: SipRequest, source: SipSource): SipResponse {
    const { auth, log } = this.#d;
    const userAgent = request.header('user-agent')?.slice(0, 200);
    const base = {
      ip: source.ip,
      port: source.port,
      method: 'REGISTER',
      ...(userAgent ? { userAgent } : {}),
    };

    if (!this.#servesDomain(request)) {
      this.#d.report({ ...base, kind: 'wrong', detail: 'domain not served' });
      return createResponse(request, 403, 'Domain Not Served');
    }

    const outcome = auth.verify(request, source.ip);
    if (!outcome.ok) {
      // The account named by the credentials, else the one being registered: a scanner
      // walking through extensions shows up as many users from one source.
      const user = outcome.user ?? toUserOf(request);
      const challenge = outcome.failure === 'missing' || outcome.failure === 'stale';
      this.#d.report({
        ...base,
        kind: challenge ? 'auth-challenge' : 'auth-fail',
        detail: outcome.failure,
        ...(user ? { user } : {}),
      });
      if (!challenge)
        log.info(
          { ip: source.ip, port: source.port, user, failure: outcome.failure },
          'REGISTER refused',
        );
      const response = createResponse(request, outcome.status);
      return outcome.status === 401
        ? auth.challenge(response, source.ip, outcome.stale ?? false)
        : response;
    }

    // §10.3 step 6: the authenticated user may only change its own address-of-record.
    const to = request.tryView('to');
    const toUser =
      to.ok && to.value.uri.scheme !== 'tel' && 'user' in to.value.uri
        ? to.value.uri.user
        : undefined;
    if (toUser !== outcome.user) {
      this.#d.report({
        ...base,
        kind: 'auth-fail',
        user: outcome.user,
        detail: 'To is not the authenticated user',
      });
      return createResponse(request, 403, 'Not Your Address-of-Record');
    }
    const refusal = transportRefusal(
      Number(this.#d.settings.get('stricttransport')),
      this.#d.bindings.lookup(outcome.user),
      source.transport,
      true,
    );
    if (refusal) {
      this.#d.report({
        ...base,
        kind: 'auth-fail',
        user: outcome.user,
        detail: `stricttransport: ${refusal}`,
      });
      return createResponse(request, 403, refusal);
    }
    this.#d.report({ ...base, kind: 'auth-ok', user: outcome.user });
    return this.#update(request, outcome.user, source, userAgent);
  }

  #servesDomain(request: SipRequest): boolean {
    if (!this.#d.settings.get('blockotherdomains')) return true;
    const uri = request.uri;
    if (!isSipUri(uri)) return false;
    if (uri.hostType !== 'domain') return true; // an IP literal: the client dialled this box
    const served = [
      this.#d.settings.get<string>('realm'),
      ...this.#d.settings.get<string[]>('sipdomains'),
    ];
    return served.some((d) => d.toLowerCase() === uri.host);
  }

  #update(
    request: SipRequest,
    aor: string,
    source: SipSource,
    userAgent: string | undefined,
  ): SipResponse {
    const { bindings, settings } = this.#d;
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

    const min = settings.get<number>('minexpires');
    const max = settings.get<number>('maxexpires');
    const list = contacts.ok && !contacts.value.star ? contacts.value.list : [];
    const changes: Array<{ contact: string; expires: number; q: number }> = [];
    for (const c of list) {
      const expires = c.expires ?? headerExpires ?? DEFAULT_EXPIRES;
      if (expires > 0 && expires < min) {
        return createResponse(request, 423).addHeader('Min-Expires', String(min));
      }
      changes.push({
        contact: c.uri.raw,
        expires: Math.min(expires, max),
        q: c.q === undefined ? -1 : Math.round(c.q * 1000),
      });
    }
    // §10.3 step 7: a binding is only changed by a newer CSeq of the same Call-ID.
    for (const change of changes) {
      const existing = bindings.get(aor, change.contact);
      if (existing && existing.callId === callId && cseq <= existing.cseq) {
        return createResponse(request, 500, 'Out Of Order');
      }
    }
    const added = changes.filter((c) => c.expires > 0 && !bindings.get(aor, c.contact)).length;
    if (added > bindings.room(aor)) return createResponse(request, 403, 'Too Many Contacts');

    for (const change of changes) {
      if (change.expires === 0) {
        bindings.remove(aor, change.contact);
        continue;
      }
      bindings.upsert({
        aor,
        contact: change.contact,
        expiresAt: now + change.expires * 1000,
        q: change.q,
        callId,
        cseq,
        transport: source.transport,
        ip: source.ip,
        port: source.port,
        ...(userAgent ? { userAgent } : {}),
      });
    }
    return this.#ok(request, aor, source);
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
      response.addHeader('Contact', `<${b.contact}>;expires=${left}${q}`);
    }
    response.addHeader('Date', new Date(now).toUTCString());
    if (longest > 0) {
      this.#d.dataplane
        .trust(source.ip, longest)
        .catch((err: Error) =>
          this.#d.log.warn({ ip: source.ip, err }, 'could not mark a registered source as trusted'),
        );
    }
    return response;
  }
}

function toUserOf(request: SipRequest): string | undefined {
  const to = request.tryView('to');
  return to.ok && isSipUri(to.value.uri) ? to.value.uri.user?.slice(0, 128) : undefined;
}
