// What every part of the proxy shares: its dependencies, its typed view of the configuration,
// the clocks, who "we" are, and the calls in progress. Built once by SipProxy (proxy.ts).
import type { ConfigView, Settings } from '../../config/settings.ts';
import type { Logger } from '../../log.ts';
import type {
  CallAccounting,
  IpAccount,
  SecurityReport,
  SecurityVerdict,
} from '../../policy-port.ts';
import type { DigestAuthenticator } from '../auth/authenticator.ts';
import type { ProxyMedia } from '../media/proxy-media.ts';
import type { MediaRelay } from '../media/relay.ts';
import { BRANCH_MAGIC_COOKIE, type SipRequest, type SipResponse } from '../message/index.ts';
import type { BindingStore } from '../registrar/bindings.ts';
import { type Clock, newBranch, type TransactionLayer } from '../transaction/index.ts';
import type { OwnAddresses } from './addresses.ts';
import { OWN_BRANCH_PREFIX } from './forward.ts';
import type { RoutingSource } from './routing/table.ts';

export interface ProxyDeps {
  transactions: Pick<TransactionLayer, 'sendRequest' | 'sendStateless' | 'findInviteFor'>;
  bindings: Pick<BindingStore, 'lookup'> & Partial<Pick<BindingStore, 'atSource'>>;
  auth: DigestAuthenticator;
  settings: Settings;
  log: Logger;
  /** To the guard; its verdict on a call-start decides whether the call goes ahead. */
  report: (event: SecurityReport) => SecurityVerdict | undefined;
  own: OwnAddresses;
  /** Whether an account exists (404 vs 480 for an authenticated caller). Unknown: 480. */
  userExists?: (name: string) => boolean;
  /** The account a caller without credentials is, by address and tech prefix (UserService). */
  ipAuthenticate?: (ip: string, dialled: string, port?: number) => IpAccount | undefined;
  /** Trunks and outbound routes (routing/table.ts); without it nothing is routed out. */
  routing?: RoutingSource;
  /**
   * Whether a TCP/TLS connection is still open (SipTransports.isOpen): a callee's RFC 5626
   * flow is used only while it is; without it the proxy assumes it is.
   */
  flowOpen?: (connectionId: string) => boolean;
  /** Limits and billing of calls (CallAccounting); absent = every call allowed, no maximum. */
  calls?: CallAccounting;
  /** Wall-clock ms, for call durations. */
  now?: () => number;
  dialogs?: { capacity?: number; idleMs?: number };
  /** Timers for callinittimeout / ringtimeout (tests pass the harness's fake clock). */
  clock?: Clock;
  /** The media relay: SDP passing through is rewritten to it (src/sip/media). */
  media?: MediaRelay;
}

/** The configuration keys the proxy reads (call-policy.ts explains the routing ones). */
export const PROXY_KEYS = [
  'realm',
  'sipdomains',
  'allownoauthcalls',
  'fwdtootherdomains',
  'blockotherdomains',
  'allowanonymouscaller',
  'allowcalleridchange',
  'stricttransport',
  'blocktoomuchpendingsession',
  'maxpendingsessionsperip',
  'absolutetimeout',
  'callinittimeout',
  'ringtimeout',
  'mediatimeout',
  'sessionexpires',
  'minse',
  'allownoauthfork',
  'securemove',
  'forwardclientaddress',
  'reuseep',
  'reuseepauth',
  'reusedifferentportreg',
] as const;

export type ProxyConfig = ConfigView<(typeof PROXY_KEYS)[number]>;

/** What the parts of the proxy (admission, invite, in-dialog, requests) share. */
export interface ProxyContext {
  readonly d: ProxyDeps;
  readonly config: ProxyConfig;
  readonly now: () => number;
  readonly clock: Clock;
  /** The media relay's hooks; undefined when the proxy runs without one (SDP untouched). */
  readonly media: ProxyMedia | undefined;
}

/** A fresh branch of ours (cookie + "tg" + random), so loop detection can recognise it. */
export function ownBranch(): string {
  return OWN_BRANCH_PREFIX + newBranch().slice(BRANCH_MAGIC_COOKIE.length);
}

/** The URI of a message's first Contact (a remote target), or undefined. */
export function contactOf(m: SipRequest | SipResponse): string | undefined {
  const c = m.tryView('contact');
  return c.ok && !c.value.star ? c.value.list[0]?.uri.raw : undefined;
}
