// Admission of a request that starts something (an INVITE, or a MESSAGE, OPTIONS, SUBSCRIBE…
// for a registered user): an ordered list of small named steps. Each looks at the request
// and what the steps before it learnt (who the caller is, which binding the callee has) and
// either lets it go on (undefined) or says how it is answered. A limit is one more step in
// the list: INVITE_STEPS ends with the ones that only concern calls.
//
//   notLooped            482 when our own Via is already on it (§16.3 step 4)
//   domainServed         403 when it is for another domain and fwdtootherdomains=0
//   callerIdentity       digest (407 + Proxy-Authenticate, §22.3) or by source address
//   transportAllowed     stricttransport 2/3 for a registered caller
//   callerIdAllowed      allowcalleridchange; blockotherdomains for the unauthenticated
//   routedHere           404 for another domain: tollgate routes to its own users only
//   calleeKnown          the callee's best reachable binding; 430 (flow gone), 404/480
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
import type { Endpoint } from '../transaction/index.ts';
import { callAuthorized, sessionIntervalAllowed } from './call-admission.ts';
import type { CallPolicy, CallTarget } from './call-policy.ts';
import type { ProxyContext } from './context.ts';
import type { CallAuthorization } from './dialogs.ts';
import { hasOwnVia, isAnonymous } from './forward.ts';

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
  /** The account the caller proved to be (digest, or by address). */
  user: string | undefined;
  /** `user` was recognised by source address, not by digest. */
  byAddress: boolean;
  /** The callee's binding the request goes to (calleeKnown). */
  binding: Binding | undefined;
  /** What CallAccounting answered (callAuthorized, call-admission.ts). */
  authorization?: CallAuthorization;
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
 * Digest on the request (RFC 3261 §22.3): 407 + Proxy-Authenticate; without credentials, an
 * account may be recognised by its address (needauth 1) and tech prefix (needauth 3); and a
 * caller the policy lets in without either goes on as nobody.
 */
export const callerIdentity: AdmissionStep = (a, p) => {
  const { d } = p.ctx;
  const { req, source, base } = a;
  const outcome = d.auth.verify(req, source.ip, true);
  if (outcome.ok) {
    a.user = outcome.user;
    d.report({ ...base, kind: 'auth-ok', user: outcome.user });
    return undefined;
  }
  const target = a.target;
  const byAddress =
    outcome.failure === 'missing' && target.kind === 'local'
      ? d.ipAuthenticate?.(source.ip, target.user)
      : undefined;
  if (byAddress) {
    a.user = byAddress.name;
    a.byAddress = true;
    a.target = { kind: 'local', user: byAddress.dialled };
    d.report({ ...base, kind: 'auth-ok', user: byAddress.name, detail: 'by address' });
    return undefined;
  }
  if (outcome.failure !== 'missing' && outcome.failure !== 'stale') {
    const named = outcome.user ?? a.fromUser;
    d.report({
      ...base,
      kind: 'auth-fail',
      detail: outcome.failure,
      ...(named ? { user: named } : {}),
    });
    if (outcome.status !== 401) return { status: outcome.status };
    return { response: d.auth.challenge(createResponse(req, 407), source.ip) };
  }
  if (!p.policy.needsAuth(target, a.from.uri, a.anonymous)) return undefined;
  d.report({
    ...base,
    kind: 'auth-challenge',
    detail: outcome.failure,
    ...(a.fromUser ? { user: a.fromUser } : {}),
  });
  return {
    response: d.auth.challenge(createResponse(req, 407), source.ip, outcome.stale ?? false),
  };
};

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
  let flowFailed = false;
  for (const b of d.bindings.lookup(callee)) {
    if (
      b.regId !== undefined &&
      b.connectionId !== undefined &&
      d.flowOpen?.(b.connectionId) === false
    ) {
      flowFailed = true;
      continue;
    }
    a.binding = b;
    return undefined;
  }
  if (flowFailed) return { status: 430, reason: 'Flow Failed' };
  if (a.user === undefined)
    return {
      status: 404,
      reason: 'Not Found',
      report: { detail: 'callee unknown or not registered', user: callee },
    };
  return { status: (p.ctx.d.userExists?.(callee) ?? true) ? 480 : 404 };
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

/** An INVITE: the request steps, then the limits on calls. */
export const INVITE_STEPS: readonly AdmissionStep[] = [
  ...REQUEST_STEPS,
  callTableRoom,
  pendingSessionLimit,
  guardVerdict,
  sessionIntervalAllowed,
  callAuthorized,
];

/** The account a call is counted against: the authenticated user, else the From user. */
export function callerName(a: Admission): string {
  return a.user ?? a.fromUser ?? '';
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
    byAddress: false,
    binding: undefined,
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
