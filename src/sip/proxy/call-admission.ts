// The last steps of an INVITE's admission (admission.ts runs them after routing and the
// guard), the ones about the call as a whole:
//
//   sessionIntervalAllowed  RFC 4028 §8.1: 422 + Min-SE when the caller asks for a session
//                           interval below `minse` and can understand the 422
//   callAuthorized          CallAccounting.authorize (limits, credit, billing): deny = the
//                           status, reason and rule policy gave (ended() told at once, the
//                           contract wants one per authorize); allow = the call's maximum
//                           duration, kept on the Admission for the call table (calls.ts)
import type { CallRequest } from '../../policy-port.ts';
import { createResponse } from '../message/index.ts';
import type { Admission, AdmissionStep } from './admission.ts';
import { tooSmall } from './session-timer.ts';

export const sessionIntervalAllowed: AdmissionStep = (a, p) => {
  const min = tooSmall(a.req, p.ctx.config);
  if (min === undefined) return undefined;
  const res = createResponse(a.req, 422, 'Session Interval Too Small');
  res.addHeader('Min-SE', String(min));
  return { response: res };
};

/**
 * What policy is asked about the call: who pays is never a header the caller wrote (the
 * digest user, or the trunk / account recognised by address); where it goes is routing's
 * first choice (a trunk's failover keeps the same request).
 */
export function callRequestOf(a: Admission, at: number): CallRequest {
  const first = a.plan[0]?.[0];
  const trunk = first?.trunk;
  return {
    callId: a.base.callId ?? '',
    source: { transport: a.source.transport, ip: a.source.ip, port: a.source.port },
    account: a.user,
    accountKind: a.user === undefined ? undefined : (a.accountKind ?? 'user'),
    callerId: a.fromUser,
    dialled:
      trunk !== undefined
        ? (a.outbound?.number ?? '')
        : a.target.kind === 'local'
          ? a.target.user
          : '',
    destination: trunk === undefined ? 'local' : 'trunk',
    ...(trunk === undefined ? {} : { route: first?.route ?? '', trunk }),
    at,
  };
}

export const callAuthorized: AdmissionStep = (a, p) => {
  const accounting = p.ctx.d.calls;
  if (accounting === undefined) return undefined;
  const now = p.ctx.now();
  const request = callRequestOf(a, now);
  let decision: ReturnType<typeof accounting.authorize>;
  try {
    decision = accounting.authorize(request);
  } catch (err) {
    // Policy that cannot answer refuses (fail closed): a billing bug must not give free calls.
    p.ctx.d.log.error({ err, callId: request.callId }, 'call accounting failed on authorize');
    decision = { allow: false, status: 500, reason: 'Server Internal Error', rule: 'accounting' };
  }
  if (decision.allow) {
    a.authorization = {
      request,
      maxDurationSeconds: decision.maxDurationSeconds,
      rule: decision.rule,
    };
    return undefined;
  }
  p.ctx.d.log.info(
    { ip: a.source.ip, user: a.user, callId: request.callId, rule: decision.rule },
    'call refused by policy',
  );
  try {
    accounting.ended({
      ...request,
      startedAt: now,
      answeredAt: undefined,
      endedAt: now,
      durationSeconds: 0,
      disconnectSide: 'proxy',
      reason: decision.rule,
      status: decision.status >= 400 && decision.status <= 699 ? decision.status : 403,
    });
  } catch (err) {
    p.ctx.d.log.error({ err, callId: request.callId }, 'call accounting failed on end');
  }
  // A refusal is a final failure: anything else policy names becomes 403.
  const status = decision.status >= 400 && decision.status <= 699 ? decision.status : 403;
  return {
    status,
    reason: decision.reason.slice(0, 100),
    report: { detail: decision.rule, user: a.user },
  };
};
