// Where an admitted INVITE is tried (RFC 3261 §16.5 "determining request targets"): a plan of
// stages. The targets of one stage are forked in parallel (§16.7: all bindings of a local
// user ring at once); a stage is tried only when every branch of the one before failed with
// a status that allows failover (5xx, 408, a transaction timeout: trunk.ts). A local user is
// one stage; outbound routes give one stage per trunk, best first.
import type { Uri } from '../../message/index.ts';
import { parseUri } from '../../message/index.ts';
import type { Binding } from '../../registrar/bindings.ts';
import type { Destination } from '../../transport/types.ts';

/** One place the INVITE goes: a binding of a local user, or a trunk. */
export interface Target {
  /** The Request-URI it is sent with. */
  readonly uriText: string;
  readonly uri: Uri;
  readonly dest: Destination;
  /** The local account whose binding it is (a phone), for in-dialog flow recovery. */
  readonly aor?: string;
  /** The trunk (a SIP server) and the route prefix that chose it. */
  readonly trunk?: string;
  readonly route?: string;
  /**
   * A trunk that has not answered at all (not even 100 Trying) within this many ms is taken
   * for dead and the next one tried, rather than waiting for Timer B's 32 s.
   */
  readonly answerMs?: number;
}

/** Stages tried one after another; each stage's targets are forked in parallel. */
export type TargetPlan = Target[][];

/** At most this many branches per call, 3xx recursion included (a bound on fan-out). */
export const MAX_BRANCHES = 16;

/** The destination a binding is reached at: the flow its REGISTER came over (RFC 5626 §5.3). */
export function bindingDestination(b: Binding): Destination {
  return {
    transport: b.transport,
    ip: b.ip,
    port: b.port,
    ...(b.connectionId === undefined ? {} : { connectionId: b.connectionId }),
  };
}

/** A binding as a target (undefined when its registered Contact does not parse). */
export function bindingTarget(b: Binding, maxUriBytes: number): Target | undefined {
  const parsed = parseUri(b.contact, maxUriBytes);
  if (!parsed.ok) return undefined;
  return { uriText: b.contact, uri: parsed.uri, dest: bindingDestination(b), aor: b.aor };
}

/**
 * The bindings of a local user that can be reached. An RFC 5626 flow whose connection has
 * closed cannot (the phone behind NAT will register a new flow): `flowFailed` says so when
 * that left nothing.
 */
export function reachableBindings(
  bindings: readonly Binding[],
  flowOpen: ((connectionId: string) => boolean) | undefined,
): { usable: Binding[]; flowFailed: boolean } {
  const usable: Binding[] = [];
  let flowFailed = false;
  for (const b of bindings) {
    if (
      b.regId !== undefined &&
      b.connectionId !== undefined &&
      flowOpen?.(b.connectionId) === false
    ) {
      flowFailed = true;
      continue;
    }
    usable.push(b);
  }
  return { usable, flowFailed: flowFailed && usable.length === 0 };
}
