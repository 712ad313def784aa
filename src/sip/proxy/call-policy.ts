// Who may place which call without credentials, from the routing keys of the config
// (src/config/keys/routing.ts):
//
//   allownoauthcalls      0  every call is authenticated
//                         1  (default) an unauthenticated source may call local users — but
//                            a caller whose From claims one of our domains must prove it
//                         2  unauthenticated calls are accepted
//   fwdtootherdomains     0  no call is routed to another domain (403, whoever asks)
//                         1  (default) only authenticated users may call other domains
//                         2  anyone may
//   blockotherdomains     1  (default) an unauthenticated request for a domain we do not
//                            serve is refused 403 even when fwdtootherdomains=2 (no open relay)
//   allowanonymouscaller  0  (default) an anonymous From (RFC 3323) must authenticate: it is
//                            challenged (407) like a local user, since authenticated users may
//                            always withhold their identity; without credentials it gets no
//                            further. 1: anonymous callers are treated as any other
//   allowcalleridchange   0, 1 (default): an authenticated caller's From user must be its
//                            account (the display name is free); 2: any From
//
// Calls to other domains that pass these rules go to the trunks of the outbound route that
// matches their user part (routing/plan.ts), and are refused 404 when none does: tollgate
// does no DNS resolution (RFC 3263) for other domains.
import type { SipUri, Uri } from '../message/index.ts';
import { isSipUri } from '../message/index.ts';
import type { OwnAddresses } from './addresses.ts';
import type { ProxyConfig } from './context.ts';

export type CallTarget =
  | { readonly kind: 'local'; readonly user: string }
  | { readonly kind: 'other'; readonly host: string; readonly user?: string | undefined };

export class CallPolicy {
  readonly #config: ProxyConfig;
  readonly #own: OwnAddresses;

  constructor(config: ProxyConfig, own: OwnAddresses) {
    this.#config = config;
    this.#own = own;
  }

  /** §16.5: a Request-URI in our domain (or one of our addresses) names a local user. */
  target(uri: Uri): CallTarget {
    if (!isSipUri(uri))
      return 'digits' in uri
        ? { kind: 'other', host: 'tel', user: uri.digits }
        : { kind: 'other', host: uri.scheme };
    return this.serves(uri)
      ? { kind: 'local', user: uri.user ?? '' }
      : { kind: 'other', host: uri.host, user: uri.user };
  }

  /** A SIP URI whose host is a domain we serve, or one of our addresses at our port. */
  serves(uri: SipUri): boolean {
    if (uri.hostType !== 'domain') return this.#own.isUs(uri);
    const host = uri.host;
    if (host === this.#config.realm.toLowerCase()) return true;
    return this.#config.sipdomains.some((d) => d.toLowerCase() === host);
  }

  /** Must a caller without valid credentials be challenged for this call? */
  needsAuth(target: CallTarget, from: Uri, anonymous: boolean): boolean {
    const noAuth = this.#config.allownoauthcalls;
    if (noAuth === 0) return true;
    if (anonymous && !this.allowAnonymous()) return true;
    if (target.kind === 'other') return this.forwardOthers() !== 2;
    if (noAuth === 2) return false;
    // 1: local users may be called from anywhere, but not in the name of one of ours.
    return isSipUri(from) && this.serves(from);
  }

  /** fwdtootherdomains: 0 never, 1 authenticated users, 2 anyone. */
  forwardOthers(): number {
    return this.#config.fwdtootherdomains;
  }

  blockOthers(): boolean {
    return this.#config.blockotherdomains;
  }

  allowAnonymous(): boolean {
    return this.#config.allowanonymouscaller;
  }

  /** allowcalleridchange 2: an authenticated caller may put any user in From. */
  anyCallerId(): boolean {
    return this.#config.allowcalleridchange >= 2;
  }
}
