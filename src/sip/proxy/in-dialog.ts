// Requests inside a dialog we record-routed (§16.4, §16.12): ACK of a 2xx, re-INVITE, BYE,
// UPDATE, INFO, REFER, NOTIFY, … Our Route entries are removed (both of a double
// Record-Route), and the request goes to the other end of the dialog, to the place and over
// the transport that end used (its registered flow, or the connection its INVITE came on):
// the Request-URI (the remote Contact) of a phone behind NAT names an address only its flow
// reaches, and forwarding to whatever a request names would make us an open relay. Only the
// dialog's two ends may use it.
import { createResponse, type SipRequest } from '../message/index.ts';
import type { Endpoint, ServerTransaction } from '../transaction/index.ts';
import type { Destination } from '../transport/types.ts';
import type { Calls } from './calls.ts';
import { ownBranch, type ProxyContext } from './context.ts';
import type { CallParty } from './dialogs.ts';
import {
  copyRequest,
  decrementMaxForwards,
  popOwnRoutes,
  popTopVia,
  pushVia,
  statelessBranch,
  stripOwnCredentials,
} from './forward.ts';
import { hideContact, hideInDialogRequest, restoreResponsePath } from './topology.ts';

export class DialogRouting {
  readonly #ctx: ProxyContext;
  readonly #calls: Calls;

  constructor(ctx: ProxyContext, calls: Calls) {
    this.#ctx = ctx;
    this.#calls = calls;
  }

  /** An in-dialog request (`tx` undefined for the ACK of a 2xx, which has no transaction). */
  route(req: SipRequest, source: Endpoint, tx: ServerTransaction | undefined): void {
    const { d } = this.#ctx;
    const now = this.#ctx.now();
    const refuse = (status: number) => tx?.respond(createResponse(req, status));
    // An ACK reaches us unchecked (no transaction, no validateRequest): read defensively, and
    // never forward one that has no hop left.
    const callId = req.tryView('callId');
    if (!callId.ok) return;
    const hops = req.tryView('maxForwards');
    if (!hops.ok || hops.value === 0) return void refuse(483);
    const call = this.#calls.find(callId.value, now);
    if (call === undefined) return void refuse(481);
    const fromTag = req.tryView('from');
    const tag = fromTag.ok ? fromTag.value.tag : undefined;
    let sender: CallParty;
    let receiver: CallParty;
    if (tag !== undefined && tag === call.caller.tag) {
      sender = call.caller;
      receiver = call.callee;
    } else if (tag !== undefined && tag === call.callee.tag) {
      sender = call.callee;
      receiver = call.caller;
    } else if (
      tag !== undefined &&
      call.kind === 'subscription' &&
      call.callee.tag === undefined &&
      source.ip === call.callee.endpoint.ip
    ) {
      // A NOTIFY ahead of the SUBSCRIBE's 2xx names the notifier's tag (RFC 6665 §4.1.2.4).
      call.callee.tag = tag;
      sender = call.callee;
      receiver = call.caller;
    } else return void refuse(481);
    // Only the dialog's own ends may use it: a Call-ID and tags seen on the wire are not
    // enough to tear down someone's call or to relay through us.
    if (source.ip !== sender.endpoint.ip) return void refuse(481);
    // An ACK reaches us with no transaction and is never answered: it must name the dialog
    // whole (§12: Call-ID and both tags), the other end's tag included, not only the Call-ID
    // and the sender's tag. The ACK of a 407 to this call's first INVITE carries the same
    // Call-ID and From tag as the call the authenticated INVITE set up; the layer drops it
    // by its tag (challenge-tag.ts), and this drops any other ACK that is not the dialog's.
    if (req.method === 'ACK' && (receiver.tag === undefined || toTagOf(req) !== receiver.tag))
      return;
    const cseq = req.tryView('cseq');
    if (cseq.ok && req.method !== 'ACK') sender.cseq = Math.max(sender.cseq, cseq.value.seq);

    const out = copyRequest(req);
    popOwnRoutes(out, d.own);
    decrementMaxForwards(out);
    stripOwnCredentials(out, d.auth.realm);
    // SDP in the request (re-INVITE, UPDATE, the ACK of a late offer) and in its answers.
    const media = call.kind === 'subscription' ? undefined : this.#ctx.media;
    const from = sender === call.caller ? 'caller' : 'callee';
    const refused = media?.rewrite(out, call, from);
    if (refused !== undefined)
      return void tx?.respond(createResponse(req, refused.status, refused.reason));
    const dest = this.#reach(receiver);
    const at = d.own.advertised(dest.transport, dest.ip);
    // Topology hiding (topology.ts): the request's target was the Contact we gave.
    const hide = call.kind !== 'subscription' && !this.#ctx.config.forwardclientaddress;
    if (hide) hideInDialogRequest(out, receiver.contact, d.own, dest);
    this.#calls.touch(call, now);
    if (req.method === 'ACK') {
      pushVia(out, dest.transport, at, statelessBranch(req.topVia()?.branch, 'ack'));
      d.transactions.sendStateless(out, dest);
      return;
    }
    if (tx === undefined) return;
    pushVia(out, dest.transport, at, ownBranch());
    const isBye = req.method === 'BYE';
    // RFC 4028: a 2xx to a re-INVITE or UPDATE refreshes the session (calls.ts restarts the
    // session timer with the interval the 2xx names).
    const refresh = req.method === 'INVITE' || req.method === 'UPDATE';
    const side = sender === call.caller ? 'caller' : 'callee';
    try {
      d.transactions.sendRequest(out, dest, {
        onResponse: (res) => {
          if (res.status === 100) return;
          if (!popTopVia(res) && !hide) return;
          if (hide) {
            restoreResponsePath(res, req, undefined);
            if (res.status < 300) hideContact(res, d.own, source.transport, source.ip);
          }
          if (res.status < 300) media?.rewrite(res, call, from === 'caller' ? 'callee' : 'caller');
          if (isBye && res.status >= 200)
            this.#calls.finish(call, {
              side,
              reason: 'BYE',
              status: call.answeredAt === undefined ? 487 : 200,
            });
          else if (refresh && res.status >= 200 && res.status < 300)
            this.#calls.refreshed(call, out, res);
          tx.respond(res);
        },
        finalToTuOnly: true,
      });
    } catch (err) {
      d.log.warn({ ip: dest.ip, port: dest.port, err }, `${req.method} not forwarded`);
      tx.respond(createResponse(req, 503));
    }
  }

  /**
   * Where a dialog end is reached now: the flow it used, or, once that TCP/TLS connection has
   * closed, the flow the same phone (same address) has registered since: a phone behind NAT
   * that lost its connection opens and registers a new one (RFC 5626 §4.4), and nothing can
   * reach it any other way.
   */
  #reach(party: CallParty): Destination {
    const { d } = this.#ctx;
    const at: Destination = party.endpoint;
    if (at.connectionId === undefined || party.aor === undefined) return at;
    if (d.flowOpen?.(at.connectionId) !== false) return at;
    for (const b of d.bindings.lookup(party.aor)) {
      if (b.ip !== at.ip || b.transport === 'udp' || b.connectionId === undefined) continue;
      if (!d.flowOpen(b.connectionId)) continue;
      party.endpoint = {
        transport: b.transport,
        ip: b.ip,
        port: b.port,
        connectionId: b.connectionId,
      } as Destination;
      return party.endpoint;
    }
    return at;
  }
}

function toTagOf(req: SipRequest): string | undefined {
  const to = req.tryView('to');
  return to.ok ? to.value.tag : undefined;
}
