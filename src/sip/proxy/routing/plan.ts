// Outbound routing: which trunks a call goes out through (routing/table.ts orders them), as
// a plan of one stage per trunk so each is tried only when the one before failed (5xx, 408,
// no answer within the trunk's timeout: invite.ts). A trunk for which policy says it may not
// be used now (CallAccounting.trunkUsable: over its daily minutes, …) is skipped.
//
// What goes out: a number (digits, +, *, #) that is no local user — neither an account nor
// anyone with a registration — dialled at our domain; or the user part of a Request-URI for
// another domain, once the routing keys (fwdtootherdomains, blockotherdomains) let it
// through. Other domains are never looked up in DNS: only the routes decide.
import { isSipUri, parseUri } from '../../message/index.ts';
import type { CallTarget } from '../call-policy.ts';
import type { ProxyContext } from '../context.ts';
import type { RoutingSource } from './table.ts';
import type { Target, TargetPlan } from './targets.ts';

/** What admission asks of routing. */
export interface RoutingPorts {
  readonly source: RoutingSource | undefined;
  trunkUsable(trunk: string, at: number): boolean;
}

/** A call routed out: the number as dialled, and the trunks in order (one per stage). */
export interface OutboundPlan {
  readonly number: string;
  readonly stages: TargetPlan;
}

/** The most trunks one call tries (failover depth). */
export const MAX_TRUNKS_PER_CALL = 8;

export function outboundPlan(
  target: CallTarget,
  routing: RoutingPorts,
  maxUriBytes: number,
  ctx: Pick<ProxyContext, 'd'>,
): OutboundPlan | undefined {
  const source = routing.source;
  if (source === undefined) return undefined;
  const number = target.user;
  if (number === undefined || number === '') return undefined;
  if (target.kind === 'local') {
    // A local user is rung, never routed out, whatever its name looks like.
    if (ctx.d.bindings.lookup(number).length > 0) return undefined;
    if (ctx.d.userExists?.(number) ?? false) return undefined;
  }
  const stages: TargetPlan = [];
  for (const choice of source.routesFor(number)) {
    const t = choice.trunk;
    const host = t.host.includes(':') ? `[${t.host}]` : t.host;
    const param = t.transport === 'udp' ? '' : `;transport=${t.transport}`;
    const uriText = `sip:${choice.number}@${host}:${t.port}${param}`;
    const parsed = parseUri(uriText, maxUriBytes);
    if (!parsed.ok || !isSipUri(parsed.uri)) continue;
    const target: Target = {
      uriText,
      uri: parsed.uri,
      dest: { transport: t.transport, ip: t.host, port: t.port },
      trunk: t.name,
      route: choice.route,
      answerMs: t.timeoutSeconds * 1000,
    };
    stages.push([target]);
    if (stages.length >= MAX_TRUNKS_PER_CALL) break;
  }
  return stages.length > 0 ? { number, stages } : undefined;
}
