// Recursion on a 3xx (RFC 3261 §16.7 step 4, §8.1.3.4): the Contacts of a redirect become new
// branches of the same call — if the configuration lets them. A redirect is a phone (or a
// trunk) telling tollgate where to send a call someone else pays for, so:
//
//   securemove       0  any Contact is followed (a local user, or a number routed out)
//                    1  (default) only to local users: never to a trunk or another domain
//                       (a redirect must not make a caller pay for a route it did not dial,
//                       nor turn a phone into a way to reach paid routes)
//                    2  never: the 3xx goes back to the caller, which may call the new
//                       target itself (and is authorised and billed for it then)
//   allownoauthfork  for a caller with no account (allownoauthcalls let it in), further:
//                    4 never fork nor follow (the first device only, admission's step),
//                    3 the callee's own devices only (no redirect), 2 (default) redirects to
//                    local users, 1 also out when the redirect came from a local user's phone
//                    (that user forwards, and pays), 0 anywhere
//
// Bounded: at most MAX_REDIRECTS redirects per call, MAX_CONTACTS Contacts of each, and the
// call's MAX_BRANCHES in all; a target already tried is not tried again (a redirect loop).
import type { SipResponse } from '../../message/index.ts';
import type { CallPolicy } from '../call-policy.ts';
import type { ProxyContext } from '../context.ts';
import { outboundPlan, type RoutingPorts } from './plan.ts';
import { bindingTarget, MAX_BRANCHES, reachableBindings, type Target } from './targets.ts';

export const MAX_REDIRECTS = 3;
export const MAX_CONTACTS = 4;

export interface RedirectContext {
  readonly ctx: ProxyContext;
  readonly routing: RoutingPorts;
  readonly policy: CallPolicy;
  /** The caller has an account (digest, or by address). */
  readonly authenticated: boolean;
  /** The 3xx came from a local user's binding (not a trunk). */
  readonly fromLocalUser: boolean;
  readonly redirects: number;
  readonly tried: readonly Target[];
}

/** May a redirect go to local users / out (trunks), under securemove and allownoauthfork? */
export function redirectScope(
  securemove: number,
  allownoauthfork: number,
  authenticated: boolean,
  fromLocalUser: boolean,
): { local: boolean; out: boolean } {
  if (securemove >= 2) return { local: false, out: false };
  let local = true;
  let out = securemove === 0;
  if (!authenticated) {
    if (allownoauthfork >= 3) local = false;
    if (allownoauthfork >= 2 || (allownoauthfork === 1 && !fromLocalUser)) out = false;
  }
  return { local, out: out && local };
}

/** The new targets a 3xx asks for and the configuration allows (none: relay the 3xx). */
export function redirectTargets(res: SipResponse, r: RedirectContext): Target[] {
  const { ctx } = r;
  const { config, d } = ctx;
  if (r.redirects >= MAX_REDIRECTS) return [];
  const scope = redirectScope(
    config.securemove,
    config.allownoauthfork,
    r.authenticated,
    r.fromLocalUser,
  );
  if (!scope.local && !scope.out) return [];
  const contacts = res.tryView('contact');
  if (!contacts.ok || contacts.value.star) return [];
  const room = Math.min(MAX_BRANCHES - r.tried.length, MAX_CONTACTS * 4);
  const out: Target[] = [];
  const seen = (t: Target) =>
    [...r.tried, ...out].some(
      (x) => x.uriText === t.uriText && x.dest.ip === t.dest.ip && x.dest.port === t.dest.port,
    );
  // §8.1.3.4: in q order, highest first.
  const list = [...contacts.value.list]
    .map((c) => ({ uri: c.uri, q: c.q ?? 1 }))
    .sort((a, b) => b.q - a.q)
    .slice(0, MAX_CONTACTS);
  for (const { uri } of list) {
    const target = r.policy.target(uri);
    const candidates: Target[] = [];
    if (target.kind === 'local') {
      const bindings = d.bindings.lookup(target.user);
      if (bindings.length > 0) {
        if (!scope.local) continue;
        const { usable } = reachableBindings(bindings, d.flowOpen);
        for (const b of usable) {
          const t = bindingTarget(b, res.limits.maxUriBytes);
          if (t) candidates.push(t);
        }
      }
    }
    if (candidates.length === 0 && scope.out) {
      const plan = outboundPlan(target, r.routing, res.limits.maxUriBytes, ctx);
      const now = ctx.now();
      const first = plan?.stages.find((s) => r.routing.trunkUsable(s[0]!.trunk!, now));
      if (first) candidates.push(...first);
    }
    for (const t of candidates) if (!seen(t) && out.length < room) out.push(t);
  }
  return out;
}
