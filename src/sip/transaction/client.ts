// Client transactions (RFC 3261 §17.1, with the RFC 6026 Accepted state).
//
// INVITE (§17.1.1.2, Figure 5 as corrected by RFC 6026 §7.2):
//
//   Calling ── Timer A: retransmit, A doubles (unreliable only)
//     ├─ Timer B: 408 to TU ──► Terminated
//     ├─ 1xx: to TU ──► Proceeding ── 1xx: to TU
//     ├─ 2xx: to TU ──► Accepted ── 2xx (retransmitted or forked): to TU ── Timer M ──► Terminated
//     └─ 3xx-6xx: ACK, to TU ──► Completed ── 3xx-6xx again: ACK again ── Timer D ──► Terminated
//
// non-INVITE (§17.1.2.2, Figure 6):
//
//   Trying ── Timer E: retransmit, E = min(2E, T2) (unreliable only)
//     ├─ Timer F: 408 to TU ──► Terminated
//     ├─ 1xx: to TU ──► Proceeding ── Timer E: retransmit, E = T2; Timer F: 408 to TU
//     └─ final: to TU ──► Completed ── (absorb) ── Timer K ──► Terminated
//
// A transport error is reported to the TU as a 503 (§8.1.3.1, §17.1.4), a timeout as a 408.
// Proceeding of an INVITE has no timeout in Figure 5; Timer C (reset by each 1xx, §16.8)
// bounds it here so a silent peer cannot hold the transaction for ever.
import { createResponse, type SipRequest, type SipResponse } from '../message/index.ts';
import type { TransactionContext } from './context.ts';
import type { DeadlineEntry, DeadlineQueue } from './deadline-queue.ts';
import { type Endpoint, isReliable } from './endpoint.ts';
import { TransactionErrors } from './errors.ts';
import { makeAck } from './messages.ts';
import { TimerSet } from './timer-set.ts';
import { backoff, type TimerValues } from './timers.ts';

export type ClientState =
  | 'calling'
  | 'trying'
  | 'proceeding'
  | 'completed'
  | 'accepted'
  | 'terminated';

/** How the final answer came: from the peer, or made up locally after a timeout / error. */
export type ClientOutcome = 'response' | 'timeout' | 'transport-error';

export interface ClientHandlers {
  /**
   * Every response the transaction passes to the TU, in order: provisionals, the final, and
   * for an INVITE every further 2xx (RFC 6026: retransmissions and other forks' answers,
   * which a UAC must ACK and a proxy must forward). Local 408/503 finals included.
   */
  onResponse?(res: SipResponse, tx: ClientTransaction): void;
  /**
   * The TU takes the final response from onResponse and never reads `done` after it: the
   * transaction then does not keep it (a proxy's INVITE would hold its 2xx through Timer M,
   * 32 s on UDP, and a BYE its 200 through Timer K).
   */
  readonly finalToTuOnly?: boolean;
}

/** A Completed transaction's handlers: it passes nothing more to the TU. */
const NO_HANDLERS: ClientHandlers = Object.freeze({});

export class ClientTransaction implements DeadlineEntry {
  /**
   * The request, until an INVITE's 2xx: Accepted never resends it nor answers from it, and
   * waits out Timer M (32 s on UDP), so it lets go of it.
   */
  #request: SipRequest | undefined;
  readonly dest: Endpoint;
  readonly isInvite: boolean;
  /** The request's method and top Via branch: what its responses are matched by (keys.ts). */
  readonly method: string;
  readonly branch: string;
  /** The next transaction with the same branch (branch-table.ts). */
  branchNext: ClientTransaction | undefined = undefined;
  /** Made when first asked for: most TUs take the final from onResponse. */
  #done: Promise<SipResponse> | undefined;
  /** The first final response, once known (unless handlers.finalToTuOnly). */
  #finalResponse: SipResponse | undefined;
  readonly #ctx: TransactionContext;
  /** Until Completed, which only absorbs (or ACKs) retransmitted finals: see #letGo. */
  #handlers: ClientHandlers;
  readonly #t: TimerValues;
  readonly #timers: TimerSet;
  readonly #reliable: boolean;
  #resolve: ((res: SipResponse) => void) | undefined;
  #state: ClientState;
  #outcome: ClientOutcome | undefined;
  #ack: SipRequest | undefined;
  #interval = 0;
  /** A transport error reported after the send (§17.1.4). */
  readonly #lateFailure = () => this.#fail('transport-error');
  /**
   * Accepted INVITE (Timer M) and Completed non-INVITE (Timer K): its place in the shared
   * queue of that wait (the queue's to write), where the table finds the oldest to end early
   * when it needs room (TransactionLayer #reclaimOne).
   */
  deadlineDue = 0;
  deadlinePrev: DeadlineEntry | undefined = undefined;
  deadlineNext: DeadlineEntry | undefined = undefined;
  deadlineQueue: DeadlineQueue | undefined = undefined;

  constructor(
    request: SipRequest,
    dest: Endpoint,
    branch: string,
    ctx: TransactionContext,
    handlers: ClientHandlers,
  ) {
    this.#request = request;
    this.dest = dest;
    this.method = request.method;
    this.branch = branch;
    this.isInvite = request.method === 'INVITE';
    this.#ctx = ctx;
    this.#handlers = handlers;
    this.#reliable = isReliable(dest.transport);
    this.#t = ctx.timersFor(this.#reliable);
    this.#timers = new TimerSet(ctx.clock);
    this.#state = this.isInvite ? 'calling' : 'trying';
  }

  /** The first final response: from the peer, or a local 408 (timeout) / 503 (transport error). */
  get done(): Promise<SipResponse> {
    if (this.#done !== undefined) return this.#done;
    if (this.#outcome !== undefined) {
      if (this.#finalResponse === undefined)
        throw new TransactionErrors.TG_SIPTX_FINAL_NOT_KEPT(
          this.isInvite ? 'INVITE' : 'non-INVITE',
        );
      this.#done = Promise.resolve(this.#finalResponse);
    } else {
      this.#done = new Promise((resolve) => {
        this.#resolve = resolve;
      });
    }
    return this.#done;
  }

  get request(): SipRequest | undefined {
    return this.#request;
  }

  get state(): ClientState {
    return this.#state;
  }

  /** Undefined until the final answer is known. */
  get outcome(): ClientOutcome | undefined {
    return this.#outcome;
  }

  get pendingTimers(): number {
    return this.#timers.size + (this.deadlineQueue === undefined ? 0 : 1);
  }

  /** Sends the request and starts the timers (§17.1.1.2, §17.1.2.2). Called once by the layer. */
  start(): void {
    if (!this.#transmit()) return;
    if (this.isInvite) {
      if (!this.#reliable) this.#startRetransmit('A', this.#t.A);
      this.#timers.start('B', this.#t.B, () => this.#fail('timeout'));
    } else {
      if (!this.#reliable) this.#startRetransmit('E', this.#t.E);
      this.#timers.start('F', this.#t.F, () => this.#fail('timeout'));
    }
  }

  /** A response matched to this transaction (§17.1.3). */
  receive(res: SipResponse): void {
    if (this.isInvite) this.#receiveInvite(res);
    else this.#receiveNonInvite(res);
  }

  #receiveInvite(res: SipResponse): void {
    const s = this.#state;
    if (s === 'terminated') return;
    if (s === 'completed') {
      // §17.1.1.2: a retransmitted 3xx-6xx gets the same ACK again; the TU saw it already.
      if (res.status >= 300 && this.#ack !== undefined) {
        this.#ctx.send(this.#ack, this.dest, this.#lateFailure);
      }
      return;
    }
    if (s === 'accepted') {
      // RFC 6026 §7.2: further 2xx go to the TU; anything else is dropped.
      if (res.status >= 200 && res.status < 300) this.#handlers.onResponse?.(res, this);
      return;
    }
    // calling or proceeding
    if (res.status < 200) {
      this.#timers.stop('A');
      this.#timers.stop('B');
      this.#state = 'proceeding';
      this.#timers.start('C', this.#t.C, () => this.#fail('timeout'));
      this.#handlers.onResponse?.(res, this);
      return;
    }
    this.#timers.stopAll();
    if (res.status < 300) {
      this.#state = 'accepted';
      this.#request = undefined;
      this.#ctx.clientQueues(this.#reliable).M.add(this);
    } else {
      this.#state = 'completed';
      this.#ack = makeAck(this.#request!, res);
      this.#ctx.send(this.#ack, this.dest, this.#lateFailure);
    }
    this.#final(res, 'response');
    if (this.#state === 'completed') {
      this.#letGo();
      this.#waitOutD();
    }
  }

  #receiveNonInvite(res: SipResponse): void {
    const s = this.#state;
    if (s !== 'trying' && s !== 'proceeding') return; // completed: absorb retransmissions
    if (res.status < 200) {
      this.#state = 'proceeding';
      this.#handlers.onResponse?.(res, this);
      return;
    }
    this.#timers.stopAll();
    this.#state = 'completed';
    this.#final(res, 'response');
    this.#letGo();
    const k = this.#ctx.clientQueues(this.#reliable).K;
    if (k === undefined) this.#terminate();
    else if (this.#state === 'completed') k.add(this);
  }

  /**
   * Completed waits out retransmitted finals (Timer D 32 s, Timer K 5 s on UDP) and only
   * absorbs them, or ACKs them from #ack (§17.1.1.2, §17.1.2.2): it needs neither the
   * request nor the TU's handlers, whose closures hold the TU's messages.
   */
  #letGo(): void {
    this.#request = undefined;
    this.#handlers = NO_HANDLERS;
  }

  /** Timers A and E: retransmit, then back off (A doubles, E doubles up to T2; §17.1.2.2). */
  #startRetransmit(name: 'A' | 'E', ms: number): void {
    this.#interval = ms;
    this.#timers.start(name, ms, () => {
      if (!this.#transmit()) return;
      // §17.1.2.2: in Proceeding, E fires every T2.
      const next =
        name === 'E' && this.#state === 'proceeding'
          ? this.#t.T2
          : backoff(this.#interval, this.#t.T2, name === 'E');
      this.#startRetransmit(name, next);
    });
  }

  #transmit(): boolean {
    const request = this.#request;
    if (request !== undefined && this.#ctx.send(request, this.dest, this.#lateFailure)) return true;
    this.#fail('transport-error');
    return false;
  }

  #fail(outcome: 'timeout' | 'transport-error'): void {
    if (this.#state === 'terminated') return;
    this.#timers.stopAll();
    // A failure after the final answer (e.g. an ACK that cannot be sent) only ends things.
    const request = this.#request;
    if (this.#outcome === undefined && request !== undefined) {
      const res =
        outcome === 'timeout'
          ? createResponse(request, 408, 'Request Timeout')
          : createResponse(request, 503, 'Service Unavailable');
      this.#final(res, outcome);
    }
    this.#terminate();
  }

  #final(res: SipResponse, outcome: ClientOutcome): void {
    if (this.#outcome !== undefined) return;
    this.#outcome = outcome;
    if (this.#resolve !== undefined) this.#resolve(res);
    else if (this.#handlers.finalToTuOnly !== true) this.#finalResponse = res;
    this.#resolve = undefined;
    this.#handlers.onResponse?.(res, this);
  }

  /** Timer D: Completed waits out retransmitted failures; 0 (reliable transports) means now. */
  #waitOutD(): void {
    if (this.#t.D === 0) this.#terminate();
    else this.#timers.start('D', this.#t.D, () => this.#terminate());
  }

  /** Timer M or K has passed. */
  deadlineExpired(): void {
    this.#terminate();
  }

  /**
   * Ends the transaction early if it only waits out retransmissions of an answer already
   * passed on (Accepted INVITE, Completed non-INVITE): what the table frees when full. A
   * 2xx retransmitted after that reaches the TU as a stray response, which the proxy still
   * forwards to the caller of a call it knows (Proxy.handleStrayResponse).
   */
  reclaim(): boolean {
    if (this.deadlineQueue === undefined) return false;
    this.#terminate();
    return true;
  }

  #terminate(): void {
    if (this.#state === 'terminated') return;
    this.#state = 'terminated';
    this.#timers.stopAll();
    this.deadlineQueue?.remove(this);
    this.#ctx.terminated(this);
  }
}
