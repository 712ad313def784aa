// Admission of a request that starts something (an INVITE, or a MESSAGE, OPTIONS, SUBSCRIBE…
// for a registered user): an ordered list of small named steps. Each looks at the request
// and what the steps before it learnt (who the caller is, which binding the callee has) and
// either lets it go on (undefined) or says how it is answered. A limit is one more step in
// the list: INVITE_STEPS ends with the ones that only concern calls.
//
//   notLooped            482 when our own Via is already on it (§16.3 step 4)
//   domainServed         403 when it is for another domain and fwdtootherdomains=0
//   callerIdentity       digest (407 + Proxy-Authenticate, §22.3), or by source address: a
//                        trunk (its inbound addresses), an account with needauth 1/3/6
//   transportAllowed     stricttransport 2/3 for a registered caller
//   callerIdAllowed      allowcalleridchange; blockotherdomains for the unauthenticated
//   routedHere           404 for another domain: requests other than INVITE go to local
//                        users only
//   calleeKnown          the callee's best reachable binding; 430 (flow gone), 404/480
//   inviteTargets        where an INVITE goes (routing/plan.ts): every reachable binding of
//                        a local user (forked), or the trunks of the longest matching route,
//                        in failover order; 404 / 480 / 430 when nowhere            (INVITE)
//   callTableRoom        503 when the call table is full                        (INVITE)
//   pendingSessionLimit  blocktoomuchpendingsession / maxpendingsessionsperip   (INVITE)
//   guardVerdict         the guard's verdict on call-start (maxcallperip, …)    (INVITE)
//   sessionIntervalAllowed, callAuthorized   RFC 4028 422; CallAccounting      (INVITE)
//                        (call-admission.ts)
//
// A refusal that names a user or a policy is reported to the guard as 'unauthorized'.
import type { SecurityReport } from '../../policy-port.ts';
import {
  createResponse,
  isSipUri,
  type NameAddr,
  type SipRequest,
  type SipResponse,
} from '../message/index.ts';
import { type Binding, transportRefusal } from '../registrar/bindings.ts';
import { challengeTag, type Endpoint } from '../transaction/index.ts';
import { callAuthorized, sessionIntervalAllowed } from './call-admission.ts';
import type { CallPolicy, CallTarget } from './call-policy.ts';
import type { ProxyContext } from './context.ts';
import type { CallAuthorization } from './dialogs.ts';
import { hasOwnVia, isAnonymous } from './forward.ts';
import { type OutboundPlan, outboundPlan, type RoutingPorts } from './routing/plan.ts';
import {
  bindingTarget,
  MAX_BRANCHES,
  reachableBindings,
  type TargetPlan,
} from './routing/targets.ts';

type ReportBase = Pick<SecurityReport, 'ip' | 'port' | 'method' | 'callId' | 'userAgent'>;

/** A request being admitted, and what the steps have learnt of it so far. */
export interface Admission {
  readonly req: SipRequest;
  readonly source: Endpoint;
  /** The fields every report about it carries. */
  readonly base: ReportBase;
  readonly from: NameAddr;
  /** The From user (what the caller claims to be), bounded. */
  readonly fromUser: string | undefined;
  readonly anonymous: boolean;
  /** Whom it is for; an account recognised by address may rewrite it (tech prefix). */
  target: CallTarget;
  /**
   * The account the caller proved to be: the digest user, or the account or trunk
   * recognised by source address. Never a header the caller wrote (the From user is only
   * the caller ID).
   */
  user: string | undefined;
  /** What `user` is: an account ('user') or a trunk. */
  accountKind: 'user' | 'trunk' | undefined;
  /** `user` was recognised by source address, not by digest. */
  byAddress: boolean;
  /** The callee's binding the request goes to (calleeKnown). */
  binding: Binding | undefined;
  /** What CallAccounting answered (callAuthorized, call-admission.ts). */
  authorization?: CallAuthorization;
  /** Where an INVITE goes (inviteTargets): stages of targets, each stage forked. */
  plan: TargetPlan;
  /** The number routed out through trunks, or null when it stays local (outbound()). */
  outbound: OutboundPlan | null | undefined;
}

/** How a refused request is answered. */
export type Refusal =
  | {
      readonly status: number;
      readonly reason?: string;
      /** Reported to the guard as 'unauthorized' with this detail (and user, if known). */
      readonly report?: { readonly detail: string; readonly user?: string | undefined };
    }
  | { readonly response: SipResponse };

/** What the steps may ask of the proxy besides its context. */
export interface AdmissionPorts {
  readonly ctx: ProxyContext;
  readonly policy: CallPolicy;
  /** Room for one more call in the call table. */
  hasRoom(now: number): boolean;
  /** Calls in setup from this address. */
  pendingFrom(ip: string): number;
  /** Trunks and routes (absent: nothing is routed out). */
  readonly routing: RoutingPorts;
}

export type AdmissionStep = (a: Admission, p: AdmissionPorts) => Refusal | undefined;

export const notLooped: AdmissionStep = (a, p) =>
  hasOwnVia(a.req, p.ctx.d.own) ? { status: 482 } : undefined;

export const domainServed: AdmissionStep = (a, p) =>
  a.target.kind === 'other' && p.policy.forwardOthers() === 0
    ? {
        status: 403,
        reason: 'Calls To Other Domains Not Allowed',
        report: { detail: 'fwdtootherdomains=0' },
      }
    : undefined;

/**
 * Digest on the request (RFC 3261 §22.3): 407 + Proxy-Authenticate. Without credentials,
 * the caller may be a trunk (its inbound addresses, and tech prefix), or an account that
 * authenticates by address (needauth 1), address and tech prefix (3), or address and port
 * (6). A caller the policy lets in without either goes on as nobody: no account, so nothing
 * is billed to it and it is never routed out (a number routed to a trunk is challenged).
 */
export const callerIdentity: AdmissionStep = (a, p) => {
  const { d } = p.ctx;
  const { req, source, base } = a;
  const outcome = d.auth.verify(req, source.ip, true);
  if (outcome.ok) {
    a.user = outcome.user;
    a.accountKind = 'user';
    d.report({ ...base, kind: 'auth-ok', user: outcome.user });
    return undefined;
  }
  if (outcome.failure === 'missing' && a.target.kind === 'local' && byAddress(a, p))
    return undefined;
  if (outcome.failure === 'missing' && byRegistration(a, p)) return undefined;
  if (outcome.failure !== 'missing' && outcome.failure !== 'stale') {
    const named = outcome.user ?? a.fromUser;
    d.report({
      ...base,
      kind: 'auth-fail',
      detail: outcome.failure,
      ...(named ? { user: named } : {}),
    });
    if (outcome.status !== 401) return { status: outcome.status };
    // With the request: the caller's authtype and client decide the algorithms offered.
    return { response: d.auth.challenge(challengeResponse(req), source.ip, false, req) };
  }
  // A call routed out through a trunk costs money: only an account may place it.
  const paid = req.method === 'INVITE' && outbound(a, p) !== undefined;
  if (!paid && !p.policy.needsAuth(a.target, a.from.uri, a.anonymous)) return undefined;
  d.report({
    ...base,
    kind: 'auth-challenge',
    detail: outcome.failure,
    ...(a.fromUser ? { user: a.fromUser } : {}),
  });
  return {
    response: d.auth.challenge(challengeResponse(req), source.ip, outcome.stale ?? false, req),
  };
};

/**
 * A 407 whose To tag the transaction layer knows (challengeTag): the INVITE transaction ends
 * when it is sent (no retransmission by Timer G, no state kept for its ACK, §8.2.7), and its
 * ACK is dropped before it reaches the proxy, like kamailio's auth_challenge through sl.
 */
function challengeResponse(req: SipRequest): SipResponse {
  return createResponse(req, 407, undefined, { toTag: challengeTag() });
}

/** A trunk or an IP-authenticated account recognised by the source address; true if so. */
function byAddress(a: Admission, p: AdmissionPorts): boolean {
  const { d } = p.ctx;
  const { source, base } = a;
  const dialled = a.target.kind === 'local' ? a.target.user : '';
  const trunk = p.routing.source?.trunkFrom(source.ip, dialled);
  const account = trunk
    ? { name: trunk.trunk, dialled: trunk.dialled, kind: 'trunk' as const }
    : d.ipAuthenticate?.(source.ip, dialled, source.port);
  if (!account) return false;
  a.user = account.name;
  a.accountKind = trunk ? 'trunk' : 'user';
  a.byAddress = true;
  a.target = { kind: 'local', user: account.dialled };
  a.outbound = undefined;
  d.report({
    ...base,
    kind: 'auth-ok',
    user: account.name,
    detail: trunk ? 'trunk by address' : 'by address',
  });
  return true;
}

/**
 * The registration keys of the reference, all off by default (it recommends 0: over UDP a
 * source address is easily spoofed):
 *   reuseepauth            a request whose From user has a binding registered from this very
 *                          transport, address and port is taken for that user, unchallenged
 *   reusedifferentportreg  the same when only the address matches (another port)
 *   reuseep                a request whose From names no account is taken for the account
 *                          registered from this transport, address and port
 */
function byRegistration(a: Admission, p: AdmissionPorts): boolean {
  const { config, d } = p.ctx;
  const { reuseep, reuseepauth, reusedifferentportreg } = config;
  if (!reuseep && !reuseepauth && !reusedifferentportreg) return false;
  const src = a.source;
  let account: string | undefined;
  const named = a.fromUser;
  if ((reuseepauth || reusedifferentportreg) && named !== undefined) {
    const here = d.bindings
      .lookup(named)
      .some(
        (b) =>
          b.transport === src.transport &&
          b.ip === src.ip &&
          (b.port === src.port || reusedifferentportreg),
      );
    if (here) account = named;
  }
  if (account === undefined && reuseep && (named === undefined || !d.userExists?.(named)))
    account = d.bindings.atSource?.(src.transport, src.ip, src.port);
  if (account === undefined) return false;
  a.user = account;
  a.accountKind = 'user';
  a.byAddress = true;
  a.outbound = undefined;
  d.report({ ...a.base, kind: 'auth-ok', user: account, detail: 'registered source' });
  return true;
}

/** The trunks a call would go out through (memoised), or undefined when it stays local. */
export function outbound(a: Admission, p: AdmissionPorts): OutboundPlan | undefined {
  if (a.outbound === undefined)
    a.outbound = outboundPlan(a.target, p.routing, a.req.limits.maxUriBytes, p.ctx) ?? null;
  return a.outbound ?? undefined;
}

export const transportAllowed: AdmissionStep = (a, p) => {
  if (a.user === undefined || a.byAddress) return undefined;
  const refusal = transportRefusal(
    p.ctx.config.stricttransport,
    p.ctx.d.bindings.lookup(a.user),
    a.source.transport,
  );
  return refusal
    ? {
        status: 403,
        reason: refusal,
        report: { detail: `stricttransport: ${refusal}`, user: a.user },
      }
    : undefined;
};

export const callerIdAllowed: AdmissionStep = (a, p) => {
  if (a.user !== undefined && !a.byAddress) {
    if (!a.anonymous && a.fromUser !== a.user && !p.policy.anyCallerId())
      return {
        status: 403,
        reason: 'Caller ID Not Allowed',
        report: { detail: 'From is not the authenticated user', user: a.user },
      };
  } else if (a.target.kind === 'other' && p.policy.blockOthers()) {
    return { status: 403, reason: 'Domain Not Served', report: { detail: 'blockotherdomains=1' } };
  }
  return undefined;
};

export const routedHere: AdmissionStep = (a, p) => {
  if (a.target.kind !== 'other') return undefined;
  p.ctx.d.log.info(
    { ip: a.source.ip, user: a.user, host: a.target.host },
    'request for another domain',
  );
  return { status: 404, reason: 'Other Domains Not Routed' };
};

/**
 * The callee's best binding that can be reached. An RFC 5626 flow whose connection has
 * closed cannot (the phone is behind a NAT and will register a new flow): skipped, and
 * 430 Flow Failed when no other binding is left (§5.3). Only an authenticated caller learns
 * whether the account exists (no enumeration).
 */
export const calleeKnown: AdmissionStep = (a, p) => {
  if (a.target.kind !== 'local') return undefined;
  const callee = a.target.user;
  const { d } = p.ctx;
  const { usable, flowFailed } = reachableBindings(d.bindings.lookup(callee), d.flowOpen);
  a.binding = usable[0];
  if (a.binding !== undefined) return undefined;
  return nowhere(a, p, callee, flowFailed);
};

function nowhere(a: Admission, p: AdmissionPorts, callee: string, flowFailed: boolean): Refusal {
  if (flowFailed) return { status: 430, reason: 'Flow Failed' };
  if (a.user === undefined)
    return {
      status: 404,
      reason: 'Not Found',
      report: { detail: 'callee unknown or not registered', user: callee },
    };
  return { status: (p.ctx.d.userExists?.(callee) ?? true) ? 480 : 404 };
}

/**
 * Where an INVITE goes. A local user (an account, or anyone with bindings): all its
 * reachable bindings, forked in parallel (RFC 3261 §16.6), or only the best one when an
 * unauthenticated caller may not fork (allownoauthfork 4). A number that is no local user,
 * or a user at another domain the routing keys let through: the trunks of its routes, one
 * stage each (failover). Nowhere: 404 (unknown), 480 (not registered), 430 (flow gone).
 */
export const inviteTargets: AdmissionStep = (a, p) => {
  const { d } = p.ctx;
  const route = outbound(a, p);
  if (route !== undefined) {
    const now = p.ctx.now();
    const usable = route.stages.filter((s) => p.routing.trunkUsable(s[0]!.trunk!, now));
    if (usable.length === 0)
      return {
        status: 503,
        reason: 'No Usable Route',
        report: { detail: 'every trunk of the route is unusable (trunkUsable)', user: a.user },
      };
    a.plan = usable;
    return undefined;
  }
  if (a.target.kind !== 'local') return routedHere(a, p);
  const callee = a.target.user;
  const { usable, flowFailed } = reachableBindings(d.bindings.lookup(callee), d.flowOpen);
  const forks =
    a.user === undefined && p.ctx.config.allownoauthfork >= 4 ? usable.slice(0, 1) : usable;
  const targets = forks.flatMap((b) => {
    const t = bindingTarget(b, a.req.limits.maxUriBytes);
    return t ? [t] : [];
  });
  a.binding = usable[0];
  if (targets.length > 0) {
    a.plan = [targets.slice(0, MAX_BRANCHES)];
    return undefined;
  }
  if (usable.length > 0) return { status: 480, reason: 'Bad Contact Registered' };
  return nowhere(a, p, callee, flowFailed);
};

export const callTableRoom: AdmissionStep = (_a, p) =>
  p.hasRoom(p.ctx.now()) ? undefined : { status: 503, reason: 'Too Many Calls' };

export const pendingSessionLimit: AdmissionStep = (a, p) => {
  const { config } = p.ctx;
  if (!config.blocktoomuchpendingsession) return undefined;
  if (p.pendingFrom(a.source.ip) < config.maxpendingsessionsperip) return undefined;
  return {
    status: 503,
    reason: 'Too Many Pending Calls',
    report: { detail: 'blocktoomuchpendingsession', user: a.user ?? a.fromUser },
  };
};

/** call-start to the guard: its verdict (maxcallperip, maxcallsperuser, …) is obeyed. */
export const guardVerdict: AdmissionStep = (a, p) => {
  const caller = callerName(a);
  const { d } = p.ctx;
  const verdict = d.report({ ...a.base, kind: 'call-start', ...(caller ? { user: caller } : {}) });
  if (verdict === undefined || verdict.action === 'pass') return undefined;
  d.log.info(
    { ip: a.source.ip, port: a.source.port, user: caller, rule: verdict.rule },
    'call refused',
  );
  return {
    status: 403,
    reason: verdict.rule ? `Call Limit Reached (${verdict.rule})` : 'Forbidden',
  };
};

/** Out-of-dialog requests other than INVITE: same authentication and routing rules. */
export const REQUEST_STEPS: readonly AdmissionStep[] = [
  notLooped,
  domainServed,
  callerIdentity,
  transportAllowed,
  callerIdAllowed,
  routedHere,
  calleeKnown,
];

/** An INVITE: the request steps with its own routing, then the limits on calls. */
export const INVITE_STEPS: readonly AdmissionStep[] = [
  notLooped,
  domainServed,
  callerIdentity,
  transportAllowed,
  callerIdAllowed,
  inviteTargets,
  callTableRoom,
  pendingSessionLimit,
  guardVerdict,
  sessionIntervalAllowed,
  callAuthorized,
];

/**
 * The account a call is counted against: the one the caller proved to be, else nobody ('').
 * Never the From user: a caller writes its From header as it likes.
 */
export function callerName(a: Admission): string {
  return a.user ?? '';
}

/** A new Admission for a request from `source`, before any step has run. */
export function startAdmission(req: SipRequest, source: Endpoint, policy: CallPolicy): Admission {
  const userAgent = req.header('user-agent')?.slice(0, 200);
  const from = req.from();
  return {
    req,
    source,
    base: {
      ip: source.ip,
      port: source.port,
      method: req.method,
      callId: req.callId(),
      ...(userAgent ? { userAgent } : {}),
    },
    from,
    fromUser: isSipUri(from.uri) ? from.uri.user?.slice(0, 128) : undefined,
    anonymous: isAnonymous(from),
    target: policy.target(req.uri),
    user: undefined,
    accountKind: undefined,
    byAddress: false,
    binding: undefined,
    plan: [],
    outbound: undefined,
  };
}

/**
 * Runs `steps` in order; the first refusal is reported (when it says so) and becomes the
 * request's answer, returned for the caller to send. Undefined: every step let it through.
 */
export function runAdmission(
  steps: readonly AdmissionStep[],
  a: Admission,
  p: AdmissionPorts,
): SipResponse | undefined {
  for (const step of steps) {
    const refusal = step(a, p);
    if (refusal === undefined) continue;
    if ('response' in refusal) return refusal.response;
    if (refusal.report) {
      const user = refusal.report.user ?? a.fromUser;
      p.ctx.d.report({
        ...a.base,
        kind: 'unauthorized',
        detail: refusal.report.detail,
        ...(user ? { user } : {}),
      });
    }
    return createResponse(a.req, refusal.status, refusal.reason);
  }
  return undefined;
}
