// Server transactions (RFC 3261 §17.2, with the RFC 6026 Accepted state).
//
// INVITE (§17.2.1, Figure 7 as corrected by RFC 6026 §7.1):
//
//   Proceeding ── 1xx from TU: send ─────────────── (INVITE again: resend last 1xx)
//     │  └─ no TU answer within 200 ms: send 100 Trying
//     ├─ 2xx from TU: send ──► Accepted ── INVITE again: absorb; ACK: to TU;
//     │                          │         more 2xx from TU: send (the TU retransmits them)
//     │                          └─ Timer L ──► Terminated
//     └─ 3xx-6xx from TU: send ──► Completed ── INVITE again / Timer G: resend final
//                                    ├─ ACK ──► Confirmed ── (absorb) ── Timer I ──► Terminated
//                                    └─ Timer H (no ACK): inform TU ──► Terminated
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
import type { NonInviteQueues, TransactionContext } from './context.ts';
import { type DeadlineOwner, DeadlineSlot } from './deadline-queue.ts';
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

// Timers: an INVITE transaction has several, of several lengths, in a TimerSet. A non-INVITE
// one only ever waits for Timer F, then for Timer J, both of fixed length: it takes a place in
// the layer's shared queues for those (deadline-queue.ts) instead of a Node timer each.
export class ServerTransaction implements DeadlineOwner {
  readonly method: string;
  readonly source: Endpoint;
  readonly isInvite: boolean;
  /** The table key this transaction is found by. */
  readonly key: string;
  /** RFC 2543 INVITE: the second key, the one its ACK is found by. */
  readonly ackKey: string | undefined;
  readonly #ctx: TransactionContext;
  readonly #hooks: ServerHooks;
  readonly #t: TimerValues;
  /** INVITE only. */
  readonly #timers: TimerSet | undefined;
  /** Non-INVITE only: its place in queues.F, then in queues.J. */
  readonly #deadline: DeadlineSlot | undefined;
  readonly #queues: NonInviteQueues | undefined;
  #request: SipRequest | undefined;
  #state: ServerState;
  #last: SipResponse | undefined;
  /** A Completed non-INVITE's final response as sent: the octets and the limits to re-read it. */
  #lastWire: { data: Buffer; limits: ParseLimits } | undefined;
  #abandoned = false;
  #retransmitInterval = 0;

  constructor(
    request: SipRequest,
    source: Endpoint,
    key: string,
    ackKey: string | undefined,
    ctx: TransactionContext,
    hooks: ServerHooks,
  ) {
    this.#request = request;
    this.method = request.method;
    this.source = source;
    this.key = key;
    this.ackKey = ackKey;
    this.isInvite = request.method === 'INVITE';
    this.#ctx = ctx;
    this.#hooks = hooks;
    const reliable = isReliable(source.transport);
    this.#t = ctx.timersFor(reliable);
    if (this.isInvite) {
      this.#timers = new TimerSet(ctx.clock);
      this.#deadline = undefined;
      this.#queues = undefined;
      // §17.2.1: Proceeding at once; a 100 Trying if the TU stays silent for 200 ms.
      this.#state = 'proceeding';
      this.#timers.start('trying', this.#t.trying, () => this.#sendTrying());
      this.#timers.start('C', this.#t.C, () => this.#abandonInvite());
    } else {
      this.#timers = undefined;
      this.#deadline = new DeadlineSlot(this);
      this.#queues = ctx.nonInviteQueues(reliable);
      this.#state = 'trying';
      // Timer F starts in handedToTu(): most are answered before it would be worth a timer.
    }
  }

  /**
   * The layer calls this once the TU's handler has returned. A non-INVITE still unanswered
   * starts Timer F now: at the same instant as it was opened, since a handler does not wait.
   * One answered at once (a REGISTER, an OPTIONS) never takes a place in Timer F's queue,
   * which would otherwise go from empty to one and back, a clock timer each time.
   */
  handedToTu(): void {
    if (
      this.#deadline !== undefined &&
      (this.#state === 'trying' || this.#state === 'proceeding')
    ) {
      this.#queues!.F.add(this.#deadline);
    }
  }

  /**
   * Timer F or Timer J of a non-INVITE transaction (the queue calls this; nothing else should):
   * F while the TU has not answered (abandoned), J once Completed (done).
   */
  deadlineExpired(): void {
    if (this.#state === 'completed') {
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
    return this.#last ?? (this.#lastWire === undefined ? undefined : reread(this.#lastWire));
  }

  /**
   * Ends a non-INVITE transaction early once it is Completed, when the table needs room.
   * All it still does is answer retransmissions with its response (§17.2.2); a retransmission
   * that arrives after this is handled as a new request, which for REGISTER and OPTIONS gives
   * the same answer. Returns false for anything else (INVITE, or not yet answered).
   */
  reclaim(): boolean {
    if (this.isInvite || this.#state !== 'completed') return false;
    this.#terminate('done');
    return true;
  }

  /** Live timers, for tests that check nothing is left behind. */
  get pendingTimers(): number {
    return (this.#timers?.size ?? 0) + (this.#deadline?.queue === undefined ? 0 : 1);
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
    if (this.#timers === undefined) return this.#respondNonInvite(res, provisional);
    this.#timers.stop('trying');
    if (provisional) {
      this.#state = 'proceeding';
      this.#timers.start('C', this.#t.C, () => this.#abandonInvite());
      return this.#send(res, true);
    }
    this.#timers.stop('C');
    this.#request = undefined;
    if (!this.#send(res, true)) return false;
    if (res.status < 300) {
      this.#state = 'accepted';
      this.#timers.start('L', this.#t.L, () => this.#terminate('done'));
    } else {
      this.#state = 'completed';
      if (!isReliable(this.source.transport)) {
        this.#retransmitInterval = this.#t.G;
        this.#timers.start('G', this.#retransmitInterval, () => this.#timerG());
      }
      this.#timers.start('H', this.#t.H, () => this.#terminate('timeout'));
    }
    return true;
  }

  /** §17.2.2, Trying or Proceeding: a 1xx goes to Proceeding, a final to Completed. */
  #respondNonInvite(res: SipResponse, provisional: boolean): boolean {
    if (provisional) {
      this.#state = 'proceeding';
      return this.#send(res, true);
    }
    this.#deadline!.cancel(); // Timer F
    this.#request = undefined;
    // Timer J waits out retransmissions of the request; 0 on reliable transports: now.
    // A challenge is answered as a stateless UAS would (RFC 3261 §8.2.7): nothing is kept
    // after it is sent, so a flood of requests without credentials, answered 401/407, leaves
    // no state behind, and a retransmission is challenged again like a first request.
    const j = isChallenge(res.status) ? undefined : this.#queues!.J;
    // Kept for Timer J as the octets sent (see reread), serialized once for both.
    const wire = j === undefined ? undefined : serializeOrUndefined(res);
    if (!this.#send(res, true, wire)) return false;
    this.#state = 'completed';
    if (j === undefined || wire === undefined) {
      this.#terminate('done');
      return true;
    }
    this.#last = undefined;
    this.#lastWire = { data: wire, limits: res.limits };
    j.add(this.#deadline!);
    return true;
  }

  /**
   * For an RFC 2543 ACK found by its INVITE's ACK key: §17.2.3 also wants its To tag to be
   * the one of the response we sent.
   */
  acceptsAck(ack: SipRequest): boolean {
    const sent = this.#last?.tryView('to');
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
    if (this.#state !== 'completed' || this.#last === undefined) return;
    if (!this.#send(this.#last, false)) return;
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
    // A transport error reported after the send (§17.2.4). Made per send rather than kept
    // per transaction: most transactions send once, then wait long with nothing to fail.
    const lateFailure = () => this.#terminate('transport-error');
    if (this.#ctx.send(res, this.source, lateFailure, wire)) return true;
    this.#terminate('transport-error');
    return false;
  }

  #terminate(reason: ServerEndReason): void {
    if (this.#state === 'terminated') return;
    this.#state = 'terminated';
    this.#request = undefined;
    this.#timers?.stopAll();
    this.#deadline?.cancel();
    this.#ctx.terminated(this);
    this.#hooks.end(this, this.#abandoned ? 'abandoned' : reason);
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
/** 401 (a UAS or registrar) and 407 (a proxy) ask for credentials (RFC 3261 §22). */
function isChallenge(status: number): boolean {
  return status === 401 || status === 407;
}

/** A response that cannot be serialized is the transport's to refuse (a transport error). */
function serializeOrUndefined(res: SipResponse): Buffer | undefined {
  try {
    return serialize(res);
  } catch {
    return undefined;
  }
}

function reread(wire: { data: Buffer; limits: ParseLimits }): SipResponse | undefined {
  const r = parseMessage(wire.data, { transport: 'datagram', limits: wire.limits });
  return r.ok && r.message.kind === 'response' ? r.message : undefined;
}
