// The proxy core (RFC 3261 §16): a record-routing, transaction-stateful proxy for the one
// domain tollgate serves. This module only dispatches; each part has its own module:
//
//   INVITE (no To tag)    admission.ts (INVITE_STEPS: identity, targets, limits, guard) →
//                         invite.ts (forked to every binding of a local user, or to the
//                         trunks of a route with failover; 3xx recursion; responses relayed;
//                         timers; CANCEL §9.1/§16.10) — routing/ (plan, table, redirect)
//   topology hiding       topology.ts (forwardclientaddress)
//   OPTIONS, MESSAGE, INFO, NOTIFY, SUBSCRIBE, REFER for a user (no To tag)
//                         admission.ts (REQUEST_STEPS) → requests.ts
//   in-dialog requests    (To tag, ACK of a 2xx) in-dialog.ts: our Route entries removed
//                         (§16.4), routed to the dialog's other end on its own transport
//   ACK of a non-2xx      absorbed hop by hop by the transaction layer (§17.1.1.3)
//   calls                 calls.ts (the dialog table and each call's state, timers and
//                         accounting; tollgate's own teardown), session-timer.ts (RFC 4028),
//                         call-admission.ts (422, CallAccounting.authorize)
//   Record-Route          record-route.ts (a transport per side, doubled when they differ)
//
// Requests other than INVITE go to the best binding of a local user only; calls to other
// domains go to the routes' trunks when the routing keys allow (call-policy.ts).
// Every auth outcome, refusal and call is reported to the guard (SecurityReport).

import { ProxyMedia } from '../media/proxy-media.ts';
import type { SipRequest, SipResponse } from '../message/index.ts';
import { createResponse } from '../message/index.ts';
import { type Endpoint, type ServerTransaction, systemClock } from '../transaction/index.ts';
import {
  type AdmissionPorts,
  type AdmissionStep,
  INVITE_STEPS,
  REQUEST_STEPS,
  runAdmission,
  startAdmission,
} from './admission.ts';
import { CallPolicy } from './call-policy.ts';
import { Calls } from './calls.ts';
import { PROXY_KEYS, type ProxyContext, type ProxyDeps } from './context.ts';
import { popTopVia } from './forward.ts';
import { DialogRouting } from './in-dialog.ts';
import { InviteForwarding } from './invite.ts';
import { FORWARDED_METHODS, RequestForwarding } from './requests.ts';
import type { RoutingPorts } from './routing/plan.ts';

export type { ProxyDeps } from './context.ts';

export interface ProxyStats {
  calls: number;
  pendingInvites: number;
  /** SUBSCRIBE / REFER dialogs routed through us. */
  subscriptions: number;
}

export class SipProxy {
  readonly #ctx: ProxyContext;
  readonly #calls: Calls;
  readonly #invites: InviteForwarding;
  readonly #requests: RequestForwarding;
  readonly #dialogs: DialogRouting;
  readonly #ports: AdmissionPorts;

  constructor(deps: ProxyDeps) {
    const ctx: ProxyContext = {
      d: deps,
      config: deps.settings.view(PROXY_KEYS),
      now: deps.now ?? Date.now,
      clock: deps.clock ?? systemClock,
      media: deps.media && new ProxyMedia(deps.media, (t, ip) => deps.own.advertised(t, ip)),
    };
    this.#ctx = ctx;
    this.#calls = new Calls(ctx);
    const policy = new CallPolicy(ctx.config, deps.own);
    const routing: RoutingPorts = {
      source: deps.routing,
      trunkUsable: (trunk, at) => deps.calls?.trunkUsable(trunk, at) ?? true,
    };
    this.#invites = new InviteForwarding(ctx, this.#calls, routing, policy);
    this.#requests = new RequestForwarding(ctx, this.#calls);
    this.#dialogs = new DialogRouting(ctx, this.#calls);
    const calls = this.#calls;
    const invites = this.#invites;
    // The relay feeds mediatimeout (false: the call is gone, its ports are released), and
    // `tollgatectl calls` shows its ports and drops.
    const relay = deps.media;
    if (relay) {
      relay.onActivity = (id) => calls.mediaActivity(id);
      calls.describeMedia = (id) => relay.session(id);
    }
    this.#ports = {
      ctx,
      policy,
      hasRoom: (now) => calls.table.hasRoom(now),
      pendingFrom: (ip) => invites.pendingFrom(ip),
      routing,
    };
  }

  /** The calls in progress: `tollgatectl calls` / `hangup`, and the media relay's reports. */
  get calls(): Calls {
    return this.#calls;
  }

  get stats(): ProxyStats {
    return {
      calls: this.#calls.table.size,
      pendingInvites: this.#invites.pendingCount,
      subscriptions: this.#calls.subscriptions.size,
    };
  }

  /** Whether a request outside any dialog is the proxy's to handle (else the service's). */
  static takes(req: SipRequest): boolean {
    return req.method === 'INVITE' || req.method === 'CANCEL' || FORWARDED_METHODS.has(req.method);
  }

  /** A request that opened a server transaction (not REGISTER: the registrar's). */
  handleRequest(tx: ServerTransaction, req: SipRequest): void {
    if (req.method === 'CANCEL') return void this.#invites.cancel(tx, req);
    const to = req.tryView('to');
    if (to.ok && to.value.tag !== undefined) return void this.#dialogs.route(req, tx.source, tx);
    if (req.method === 'INVITE') {
      const a = this.#admit(tx, req, INVITE_STEPS);
      if (a !== undefined) this.#invites.forward(tx, a);
      return;
    }
    if (FORWARDED_METHODS.has(req.method)) {
      const a = this.#admit(tx, req, REQUEST_STEPS);
      if (a !== undefined) this.#requests.forward(tx, a);
      return;
    }
    // A BYE (or any other request) outside a dialog refers to nothing we know (§15.1.2).
    tx.respond(createResponse(req, 481));
  }

  /** The Admission of a request every step let through; else it has been answered. */
  #admit(tx: ServerTransaction, req: SipRequest, steps: readonly AdmissionStep[]) {
    const a = startAdmission(req, tx.source, this.#ports.policy);
    const refusal = runAdmission(steps, a, this.#ports);
    if (refusal === undefined) return a;
    tx.respond(refusal);
    return undefined;
  }

  /** An ACK the transaction layer did not absorb: the ACK of a 2xx, routed in the dialog. */
  handleAck(ack: SipRequest, source: Endpoint): void {
    this.#dialogs.route(ack, source, undefined);
  }

  /**
   * A response no client transaction matches. Only a retransmitted 2xx of an INVITE of a
   * call we set up is forwarded (RFC 6026 §7.3), statelessly along the Via; anything else is
   * dropped, so forged responses cannot use us as a reflector.
   */
  handleStrayResponse(res: SipResponse): void {
    if (res.status < 200 || res.status >= 300) return;
    const cseq = res.tryView('cseq');
    const callId = res.tryView('callId');
    const vias = res.tryView('via');
    if (!cseq.ok || cseq.value.method !== 'INVITE' || !callId.ok || !vias.ok) return;
    const call = this.#calls.table.get(callId.value, this.#ctx.now());
    const ours = vias.value[0];
    const next = vias.value[1];
    const { d } = this.#ctx;
    if (!call || !ours || !next || !d.own.isOwnSentBy(ours.host, ours.port)) return;
    const caller = call.caller.endpoint;
    if ((next.received ?? next.host) !== caller.ip) return;
    popTopVia(res);
    this.#ctx.media?.rewrite(res, call, 'callee'); // the same answer: the same relay ports
    d.transactions.sendStateless(res, caller);
  }
}
