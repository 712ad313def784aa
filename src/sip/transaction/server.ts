// Server transactions (RFC 3261 §17.2, with the RFC 6026 Accepted state).
//
// INVITE (§17.2.1, Figure 7 as corrected by RFC 6026 §7.1):
//
//   Proceeding ── 1xx from TU: send ─────────────── (INVITE again: resend last 1xx)
//     │  └─ no TU answer within 200 ms: send 100 Trying
//     ├─ 2xx from TU: send ──► Accepted ── INVITE again: absorb; ACK: to TU;
//     │                          │         more 2xx from TU: send (the TU retransmits them)
//     │                          └─ Timer L ──► Terminated
//     ├─ 3xx-6xx from TU: send ──► Completed ── INVITE again / Timer G: resend final
//     │                              ├─ ACK ──► Confirmed ── (absorb) ── Timer I ──► Terminated
//     │                              └─ Timer H (no ACK): inform TU ──► Terminated
//     └─ 401/407 with a challenge tag from TU: send once ──► Terminated (stateless, §8.2.7;
//        its ACK is dropped by the layer, challenge-tag.ts)
//
// non-INVITE (§17.2.2, Figure 8):
//
//   Trying ── request again: absorb
//     ├─ 1xx from TU: send ──► Proceeding ── request again: resend last 1xx
//     └─ final from TU: send ──► Completed ── request again: resend final;
//                                  more finals from TU: discard; Timer J ──► Terminated
//     └─ 401/407 from TU: send ──► Terminated (a challenge is stateless, §8.2.7)
//
// A transport error when sending ends the transaction and informs the TU (§17.2.4).
//
// Two bounds the RFC leaves to the TU are kept here so that a TU that never answers cannot
// leak transactions: an INVITE without any response from the TU for Timer C is answered
// 408 (as a proxy's Timer C would end it, §16.8), and a non-INVITE left unanswered for
// 64·T1 ends silently (its client gave up at Timer F, §17.1.2.2).
import type { ParseLimits, SipRequest, SipResponse } from '../message/index.ts';
import { createResponse, newTag, parseMessage, serialize } from '../message/index.ts';
import { hasChallengeTag } from './challenge-tag.ts';
import type { ServerQueues, TransactionContext } from './context.ts';
import type { DeadlineEntry, DeadlineQueue } from './deadline-queue.ts';
import { type Endpoint, isReliable } from './endpoint.ts';
import { TransactionErrors } from './errors.ts';
import { TimerSet } from './timer-set.ts';
import { backoff, type TimerValues } from './timers.ts';

export type ServerState =
  | 'trying'
  | 'proceeding'
  | 'completed'
  | 'confirmed'
  | 'accepted'
  | 'terminated';

/**
 * Why a server transaction ended: 'done' (normal), 'timeout' (Timer H: the 3xx-6xx was never
 * acknowledged), 'transport-error', 'abandoned' (the TU never answered, see above).
 */
export type ServerEndReason = 'done' | 'timeout' | 'transport-error' | 'abandoned';

export interface ServerHooks {
  /** RFC 6026 §7.1: an ACK matched to an INVITE in Accepted goes to the TU. */
  ack(ack: SipRequest, source: Endpoint, tx: ServerTransaction): void;
  end(tx: ServerTransaction, reason: ServerEndReason): void;
}

// Timers: an INVITE transaction has several, of several lengths, in a TimerSet (made when the
// first is started: an INVITE challenged at once never needs one). A non-INVITE
// one only ever waits for Timer F, then for Timer J, both of fixed length: it takes a place in
// the layer's shared queues for those (deadline-queue.ts) instead of a Node timer each, and
// carries its place in them itself (the deadline* fields).
export class ServerTransaction implements DeadlineEntry {
  readonly method: string;
  readonly source: Endpoint;
  /** RFC 3261 peers: the top Via branch, sent-by host and port it is found by (keys.ts). */
  readonly branch: string | undefined;
  readonly sentByHost: string | undefined;
  readonly sentByPort: number | undefined;
  /** The next transaction with the same branch (branch-table.ts). */
  branchNext: ServerTransaction | undefined = undefined;
  /** RFC 2543 peers: the table key this transaction is found by. */
  readonly key: string | undefined;
  /** RFC 2543 INVITE: the second key, the one its ACK is found by. */
  readonly ackKey: string | undefined;
  // A Completed non-INVITE waits out Timer J (32 s on UDP) and most of a busy table is in
  // that state, so every field here is paid for tens of thousands of times, in old space:
  // what the layer shares (its context, hooks, timer values, queues) is reached through
  // #ctx, not copied into a field each.
  readonly #ctx: TransactionContext;
  readonly #hooks: ServerHooks;
  /** INVITE only, once a timer is needed (#inviteTimers). */
  #timers: TimerSet | undefined = undefined;
  /** Non-INVITE only: its place in queues.F, then in queues.J (the queue's to write). */
  deadlineDue = 0;
  deadlinePrev: DeadlineEntry | undefined = undefined;
  deadlineNext: DeadlineEntry | undefined = undefined;
  deadlineQueue: DeadlineQueue | undefined = undefined;
  #request: SipRequest | undefined;
  #state: ServerState;
  /**
   * The last response sent; for a Completed non-INVITE, the octets of its final response as
   * sent (see reread): where they lie in their ArrayBuffer, and the limits to re-read them
   * with. Fields, not a wrapper, and not the Buffer either: a Buffer is a heap object of
   * about 100 bytes over octets that its ArrayBuffer (most often Node's pool, shared by many
   * such responses) holds anyway. For an Accepted INVITE, '' unless an RFC 2543 ACK may need
   * its 2xx (acceptsAck): Accepted only absorbs retransmissions (RFC 6026 §7.1), and the 2xx
   * and its body would be kept 32 s (Timer L) for nothing.
   */
  #last: SipResponse | ArrayBuffer | string | undefined;
  #wireOffset = 0;
  #wireLength = 0;
  #wireLimits: ParseLimits | undefined;
  #abandoned = false;
  #retransmitInterval = 0;

  /** Found by `rfc3261` (an RFC 3261 branch) or else by `rfc2543` (keys.ts). */
  constructor(
    request: SipRequest,
    source: Endpoint,
    rfc3261: { branch: string; host: string; port: number | undefined } | undefined,
    rfc2543: { key: string; ackKey: string | undefined } | undefined,
    ctx: TransactionContext,
    hooks: ServerHooks,
  ) {
    this.#request = request;
    // A known method is the parser's constant (chars.ts knownMethod), not a slice of the
    // datagram: kept for as long as the transaction lives (32 s for most) at no cost.
    this.method = request.method;
    this.source = source;
    this.branch = rfc3261?.branch;
    this.sentByHost = rfc3261?.host;
    this.sentByPort = rfc3261?.port;
    this.key = rfc2543?.key;
    this.ackKey = rfc2543?.ackKey;
    this.#ctx = ctx;
    this.#hooks = hooks;
    this.#last = undefined;
    this.#wireLimits = undefined;
    // §17.2.1: an INVITE is Proceeding at once. Its 100 Trying timer and Timer C start in
    // handedToTu(), as a non-INVITE's Timer F does: most INVITEs without credentials are
    // challenged before either would be worth starting.
    this.#state = this.isInvite ? 'proceeding' : 'trying';
  }

  get isInvite(): boolean {
    return this.method === 'INVITE';
  }

  /** The timer values for this transaction's transport (the layer's, shared). */
  get #t(): TimerValues {
    return this.#ctx.timersFor(isReliable(this.source.transport));
  }

  /** The layer's shared queues for Timers F and J (non-INVITE) and L on this transport. */
  get #queues(): ServerQueues {
    return this.#ctx.serverQueues(isReliable(this.source.transport));
  }

  /**
   * The layer calls this once the TU's handler has returned. A non-INVITE still unanswered
   * starts Timer F now: at the same instant as it was opened, since a handler does not wait.
   * One answered at once (a REGISTER, an OPTIONS) never takes a place in Timer F's queue,
   * which would otherwise go from empty to one and back, a clock timer each time. An INVITE
   * the TU has not answered yet starts its 100 Trying timer (§17.2.1: sent if the TU stays
   * silent for 200 ms) and Timer C; one it answered with a 1xx already runs Timer C.
   */
  handedToTu(): void {
    if (this.isInvite) {
      if (this.#state !== 'proceeding' || this.#last !== undefined) return;
      const t = this.#t;
      const timers = this.#inviteTimers();
      timers.start('trying', t.trying, () => this.#sendTrying());
      timers.start('C', t.C, () => this.#abandonInvite());
    } else if (this.#state === 'trying' || this.#state === 'proceeding') {
      this.#queues.F.add(this);
    }
  }

  #inviteTimers(): TimerSet {
    if (this.#timers === undefined) this.#timers = new TimerSet(this.#ctx.clock);
    return this.#timers;
  }

  /**
   * Timer F or Timer J of a non-INVITE transaction, Timer L of an Accepted INVITE (the queue
   * calls this; nothing else should): F while the TU has not answered (abandoned), J once
   * Completed and L once Accepted (done).
   */
  deadlineExpired(): void {
    if (this.#state === 'completed' || this.#state === 'accepted') {
      this.#terminate('done');
      return;
    }
    this.#abandoned = true;
    this.#terminate('abandoned');
  }

  get state(): ServerState {
    return this.#state;
  }

  /**
   * The request, until a final response is sent. A transaction then only waits out
   * retransmissions (Timer J keeps a non-INVITE 32 s on UDP), so it lets go of the parsed
   * request and keeps just its response: live transactions are mostly in that state.
   */
  get request(): SipRequest | undefined {
    return this.#request;
  }

  /** The last response sent (what a retransmitted request gets again). */
  get lastResponse(): SipResponse | undefined {
    const last = this.#last;
    if (typeof last === 'string') return undefined;
    if (!(last instanceof ArrayBuffer)) return last;
    const wire = Buffer.from(last, this.#wireOffset, this.#wireLength);
    return reread(wire, this.#wireLimits!);
  }

  /** Has the TU answered (anything: a 1xx, or a final)? */
  get responded(): boolean {
    return this.#last !== undefined;
  }

  /**
   * Ends a transaction early when the table needs room: a Completed non-INVITE, which only
   * answers retransmissions with its response (§17.2.2; a retransmission after this is a new
   * request, which for REGISTER and OPTIONS gives the same answer), or an Accepted INVITE,
   * which only absorbs retransmissions of the INVITE (RFC 6026 §7.1; the TU's 2xx
   * retransmissions go out without it, statelessly, and an ACK reaches the TU either way).
   * Returns false for anything else (not yet answered, or an INVITE awaiting its ACK).
   */
  reclaim(): boolean {
    if (this.#state !== (this.isInvite ? 'accepted' : 'completed')) return false;
    this.#terminate('done');
    return true;
  }

  /** Live timers, for tests that check nothing is left behind. */
  get pendingTimers(): number {
    return (this.#timers?.size ?? 0) + (this.deadlineQueue === undefined ? 0 : 1);
  }

  /**
   * Sends a response from the TU. Returns false when the transaction no longer takes it
   * (already answered finally, or terminated): §17.2.2 says such responses are discarded.
   */
  respond(res: SipResponse): boolean {
    if (!Number.isInteger(res.status) || res.status < 100 || res.status > 699) {
      throw new TransactionErrors.TG_SIPTX_BAD_RESPONSE(`status ${res.status}`);
    }
    const provisional = res.status < 200;
    switch (this.#state) {
      case 'trying':
      case 'proceeding':
        break;
      case 'accepted':
        // RFC 6026 §7.1: the TU's 2xx retransmissions (and 2xx of other forks) pass through.
        if (res.status >= 200 && res.status < 300) return this.#send(res, false);
        return false;
      default:
        return false;
    }
    if (!this.isInvite) return this.#respondNonInvite(res, provisional);
    this.#timers?.stop('trying');
    if (provisional) {
      this.#state = 'proceeding';
      this.#inviteTimers().start('C', this.#t.C, () => this.#abandonInvite());
      return this.#send(res, true);
    }
    this.#timers?.stop('C');
    this.#request = undefined;
    if (!this.#send(res, true)) return false;
    if (isStatelessChallenge(res)) {
      // Sent once, nothing kept (§8.2.7, as for a non-INVITE below): no Timer G resends it,
      // no Timer H or I waits for its ACK, which the layer drops by its tag (challenge-tag.ts).
      // A retransmitted INVITE (this 407 lost) opens a new transaction and is challenged again.
      this.#terminate('done');
      return true;
    }
    if (res.status < 300) {
      this.#state = 'accepted';
      if (this.ackKey === undefined) this.#last = '';
      this.#queues.L.add(this);
    } else {
      this.#state = 'completed';
      const timers = this.#inviteTimers();
      if (!isReliable(this.source.transport)) {
        this.#retransmitInterval = this.#t.G;
        timers.start('G', this.#retransmitInterval, () => this.#timerG());
      }
      timers.start('H', this.#t.H, () => this.#terminate('timeout'));
    }
    return true;
  }

  /** §17.2.2, Trying or Proceeding: a 1xx goes to Proceeding, a final to Completed. */
  #respondNonInvite(res: SipResponse, provisional: boolean): boolean {
    if (provisional) {
      this.#state = 'proceeding';
      return this.#send(res, true);
    }
    this.deadlineQueue?.remove(this); // Timer F
    this.#request = undefined;
    // Timer J waits out retransmissions of the request; 0 on reliable transports: now.
    // A challenge is answered as a stateless UAS would (RFC 3261 §8.2.7): nothing is kept
    // after it is sent, so a flood of requests without credentials, answered 401/407, leaves
    // no state behind, and a retransmission is challenged again like a first request.
    const j = isChallenge(res.status) ? undefined : this.#queues.J;
    // Kept for Timer J as the octets sent (see reread), serialized once for both.
    const wire = j === undefined ? undefined : serializeOrUndefined(res);
    if (!this.#send(res, true, wire)) return false;
    this.#state = 'completed';
    if (j === undefined || wire === undefined) {
      this.#terminate('done');
      return true;
    }
    // serialize() makes a Buffer over an ArrayBuffer, never a SharedArrayBuffer.
    this.#last = wire.buffer as ArrayBuffer;
    this.#wireOffset = wire.byteOffset;
    this.#wireLength = wire.byteLength;
    this.#wireLimits = res.limits;
    j.add(this);
    return true;
  }

  /**
   * For an RFC 2543 ACK found by its INVITE's ACK key: §17.2.3 also wants its To tag to be
   * the one of the response we sent.
   */
  acceptsAck(ack: SipRequest): boolean {
    // #last is a message here: only a non-INVITE keeps octets, and an INVITE with an RFC
    // 2543 key keeps its 2xx in Accepted.
    const last = this.#last;
    const sent =
      last === undefined || typeof last === 'string' || last instanceof ArrayBuffer
        ? undefined
        : last.tryView('to');
    const got = ack.tryView('to');
    return sent?.ok === true && got.ok && sent.value.tag === got.value.tag;
  }

  /** A request matched to this transaction: a retransmission, or the ACK of an INVITE. */
  receive(req: SipRequest, source: Endpoint): void {
    if (req.method === 'ACK') {
      if (!this.isInvite) return;
      if (this.#state === 'completed') {
        // §17.2.1: Completed → Confirmed; wait out ACK retransmissions for Timer I.
        const timers = this.#timers!;
        timers.stop('G');
        timers.stop('H');
        this.#state = 'confirmed';
        // Confirmed only absorbs ACKs (§17.2.1): the final response, which holds the
        // INVITE's header values and with them its text, is not kept for Timer I.
        this.#last = '';
        // Timer I is 0 on reliable transports: Terminated at once.
        if (this.#t.I === 0) this.#terminate('done');
        else timers.start('I', this.#t.I, () => this.#terminate('done'));
      } else if (this.#state === 'accepted') {
        this.#hooks.ack(req, source, this);
      }
      return;
    }
    // A retransmission of the request.
    switch (this.#state) {
      case 'proceeding':
      case 'completed':
        // §17.2.1 / §17.2.2: resend the latest response (the last 1xx, or the final).
        {
          const last = this.lastResponse;
          if (last !== undefined) this.#send(last, false);
        }
        return;
      default:
        // trying (§17.2.2), confirmed (§17.2.1), accepted (RFC 6026 §7.1): absorbed.
        return;
    }
  }

  #sendTrying(): void {
    if (this.#state === 'proceeding' && this.#last === undefined && this.#request) {
      this.#send(createResponse(this.#request, 100, 'Trying'), true);
    }
  }

  /** Timer G (§17.2.1): resend the final response, doubling the interval up to T2. */
  #timerG(): void {
    const last = this.#last;
    if (this.#state !== 'completed' || last === undefined || typeof last === 'string') return;
    if (last instanceof ArrayBuffer) return;
    if (!this.#send(last, false)) return;
    this.#retransmitInterval = backoff(this.#retransmitInterval, this.#t.T2, true);
    this.#timers!.start('G', this.#retransmitInterval, () => this.#timerG());
  }

  #abandonInvite(): void {
    if (this.#request === undefined) return;
    this.#abandoned = true;
    this.respond(createResponse(this.#request, 408, 'Request Timeout', { toTag: newTag() }));
  }

  /** Passes a response to the transport; a transport error terminates (§17.2.4). */
  #send(res: SipResponse, remember: boolean, wire?: Buffer): boolean {
    if (remember) this.#last = res;
    // A transport error reported after the send (§17.2.4): only a connection can report one
    // (a UDP response is sent without waiting to hear, see SipTransports.dispatch). Made per
    // send rather than kept per transaction: most transactions send once, then wait long
    // with nothing to fail; and over UDP, the busiest path, not made at all.
    const lateFailure = isReliable(this.source.transport)
      ? () => this.#terminate('transport-error')
      : undefined;
    if (this.#ctx.send(res, this.source, lateFailure, wire)) return true;
    this.#terminate('transport-error');
    return false;
  }

  #terminate(reason: ServerEndReason): void {
    if (this.#state === 'terminated') return;
    this.#state = 'terminated';
    this.#request = undefined;
    this.#timers?.stopAll();
    this.deadlineQueue?.remove(this);
    this.#ctx.terminated(this);
    this.#hooks.end(this, this.#abandoned ? 'abandoned' : reason);
  }
}

/** 401 (a UAS or registrar) and 407 (a proxy) ask for credentials (RFC 3261 §22). */
function isChallenge(status: number): boolean {
  return status === 401 || status === 407;
}

/**
 * A 401/407 to an INVITE whose To tag the layer will know its ACK by (challengeTag): only
 * then may the transaction end at once. A challenge with any other tag keeps the INVITE
 * transaction of §17.2.1, so that its ACK is absorbed there and never reaches the TU.
 */
function isStatelessChallenge(res: SipResponse): boolean {
  return isChallenge(res.status) && hasChallengeTag(res);
}

/** A response that cannot be serialized is the transport's to refuse (a transport error). */
function serializeOrUndefined(res: SipResponse): Buffer | undefined {
  try {
    return serialize(res);
  } catch {
    return undefined;
  }
}

/**
 * A Completed non-INVITE transaction keeps its final response 64·T1 on UDP only to resend it
 * (§17.2.2), and those transactions are most of a busy table. Kept as the octets that were
 * sent, it is one Buffer (its bytes outside the JS heap) instead of a message whose fields
 * are slices of the request's text, with views shared with the request: at tens of thousands
 * of registrations a second, what the table holds is what the garbage collector copies and
 * marks. A retransmission, which is rare, reads the octets again.
 */
function reread(wire: Buffer, limits: ParseLimits): SipResponse | undefined {
  const r = parseMessage(wire, { transport: 'datagram', limits });
  return r.ok && r.message.kind === 'response' ? r.message : undefined;
}
