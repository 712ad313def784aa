// The proxy's side of the media relay: one call per SIP message that may carry SDP. The
// proxy says which side of which call the message comes from; this module finds the SDP,
// has the relay rewrite it, and puts the result in the message (serialize() writes the new
// Content-Length). Offer or answer does not matter (relay.ts): an SDP body from a side always
// says where that side receives, and what the other side gets names the relay.
//
//   INVITE (offer)              from the caller    invite.ts, before forwarding
//   18x / 2xx of the INVITE     from the callee    invite.ts (and a retransmitted 2xx, proxy.ts)
//   ACK (late-offer answer)     from the caller    in-dialog.ts
//   re-INVITE, UPDATE, PRACK    from either side   in-dialog.ts, and their responses
//
// A body the relay cannot read is refused (488, the reason says what was wrong) when it is in
// a request; a response (or an ACK) cannot be refused, so its body is removed (the other side then
// sees an offer unanswered, and ends the call, RFC 3264 §5) rather than passed on with
// addresses the relay does not control.
import type { SipRequest, SipResponse } from '../message/index.ts';
import type { TransportName } from '../transaction/index.ts';
import type { PartyKind } from './early-media.ts';
import type { MediaRelay, SdpContext, Side } from './relay.ts';
import type { SdpAddress } from './sdp.ts';

/** What the proxy records of a call that the relay needs (a CallRecord fits). */
export interface MediaCall {
  readonly callId: string;
  readonly caller: {
    readonly endpoint: { ip: string; transport: TransportName };
    readonly aor?: string | undefined;
  };
  readonly callee: {
    readonly endpoint: { ip: string; transport: TransportName };
    readonly aor?: string | undefined;
  };
  readonly kind?: 'call' | 'subscription';
  /** routing's name for where the call went (a trunk when set and not a local user). */
  readonly route?: string;
}

/** Where a side reaches us: (transport, its IP) → our advertised host (OwnAddresses). */
export type Advertise = (transport: TransportName, peerIp: string) => { host: string };

export interface Refusal {
  status: number;
  reason: string;
}

/** A multipart body naming SDP: the relay cannot rewrite inside it, so it is not let through. */
function multipartWithSdp(msg: SipRequest | SipResponse, type: string): boolean {
  return type.startsWith('multipart/') && /application\/sdp/i.test(msg.body.toString('latin1'));
}

export class ProxyMedia {
  readonly relay: MediaRelay;
  readonly #advertise: Advertise;
  /**
   * The last SDP body rewritten and what it became. An INVITE's offer is asked for at
   * admission (refusal) and again on every branch it is forwarded on (rewrite), each time
   * the same Buffer: the relay's answer for it cannot differ while the call's media lives
   * (same ports, same address), so it is parsed and rewritten once, not once per asking.
   */
  #memo: { body: Buffer; callId: string; side: Side; out: Buffer } | undefined;

  constructor(relay: MediaRelay, advertise: Advertise) {
    this.relay = relay;
    this.#advertise = advertise;
  }

  #address(endpoint: { ip: string; transport: TransportName }): SdpAddress {
    const host = this.#advertise(endpoint.transport, endpoint.ip).host;
    const ip = host.startsWith('[') ? host.slice(1, -1) : host;
    return { family: ip.includes(':') ? 'IP6' : 'IP4', ip };
  }

  #context(call: MediaCall): SdpContext {
    const kind = (p: MediaCall['caller']): PartyKind => (p.aor === undefined ? 'trunk' : 'user');
    return {
      owner: call.caller.endpoint.ip,
      relay: {
        caller: this.#address(call.caller.endpoint),
        callee: this.#address(call.callee.endpoint),
      },
      kinds: { caller: kind(call.caller), callee: kind(call.callee) },
    };
  }

  /**
   * What the relay makes of the body of `msg` (from `side` of `call`): the body to send on,
   * why the message must be refused, or undefined when it carries no SDP. The relay's side
   * is idempotent: the same body gives the same ports (a forked INVITE asks once per branch).
   */
  #outcome(
    msg: SipRequest | SipResponse,
    call: MediaCall,
    side: Side,
  ): { body: Buffer } | Refusal | undefined {
    if (call.kind === 'subscription' || msg.body.length === 0) return undefined;
    const ct = msg.tryView('contentType');
    const type = ct.ok ? ct.value?.type : undefined;
    if (type === 'application/sdp') {
      const memo = this.#memo;
      if (
        memo !== undefined &&
        memo.body === msg.body &&
        memo.callId === call.callId &&
        memo.side === side &&
        this.relay.has(call.callId)
      )
        return { body: memo.out };
      const r = this.relay.sdp(call.callId, side, msg.body, this.#context(call));
      if (!r.ok) return { status: r.status, reason: r.reason };
      this.#memo = { body: msg.body, callId: call.callId, side, out: r.body };
      return { body: r.body };
    }
    if (type !== undefined && multipartWithSdp(msg, type))
      return { status: 488, reason: 'SDP In Multipart Body Not Relayed' };
    return undefined;
  }

  /** Why a request with this body must be refused (its ports are taken meanwhile), if so. */
  refusal(msg: SipRequest, call: MediaCall, side: Side): Refusal | undefined {
    const r = this.#outcome(msg, call, side);
    return r !== undefined && 'status' in r ? r : undefined;
  }

  /**
   * Rewrites the SDP of `msg`, which comes from `side` of `call`, in place. Returns why it
   * must be refused (requests only; a response's unusable body is removed instead).
   */
  rewrite(msg: SipRequest | SipResponse, call: MediaCall, side: Side): Refusal | undefined {
    const r = this.#outcome(msg, call, side);
    if (r === undefined) return undefined;
    if ('body' in r) {
      msg.body = r.body;
      return undefined;
    }
    const refusal = r;
    if (msg.kind === 'response' || msg.method === 'ACK') {
      msg.body = Buffer.alloc(0);
      msg.removeHeader('content-type');
      return undefined;
    }
    return refusal;
  }

  answered(call: MediaCall): void {
    this.relay.answered(call.callId);
  }

  end(call: MediaCall): void {
    if (this.#memo?.callId === call.callId) this.#memo = undefined;
    this.relay.end(call.callId);
  }
}
