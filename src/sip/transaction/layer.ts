// The transaction layer (RFC 3261 §17): one table of live transactions, matching of what the
// transport delivers, and the hand-off to the transaction user (TU: registrar, proxy core).
// It meets the transport only through `send(message, dest)` and `receive(message, source)`,
// and the TU only through the handlers below, sipgo-style.
//
// A digest challenge (401/407) is answered statelessly, to an INVITE too (server.ts): the
// ACK of such a 407 finds no transaction, and is recognised by its To tag and dropped here,
// before any lookup and before the TU (challenge-tag.ts).
//
// The table is bounded (`maxTransactions`): a request that would open one more transaction
// is answered 503 without state (RFC 3261 §21.5.4) and counted, so a flood of distinct
// requests costs a bounded amount of memory. Transactions leave the table the moment they
// terminate (§17.1.1.2: "destroyed the instant it enters Terminated").
//
// Wiring, with the transports of src/sip/transport:
//
//   const layer = new TransactionLayer({
//     send: (msg, dest, onFailure) => transports.dispatch(msg, dest, onFailure),
//     onRequest: (tx, req) => registrar.handle(tx, req), // answers with tx.respond(...)
//     onAck: (ack, source) => proxy.forwardAck(ack, source),
//   });
//   transports.on('message', (msg, source) => layer.receive(msg, source));
//
// The `source` given to receive() is handed back as the `dest` of every response of that
// transaction, so whatever the transport put in it (a connection id) comes back unchanged.
import type { SipMessage, SipRequest, SipResponse, Via } from '../message/index.ts';
import { createResponse, detach, newTag } from '../message/index.ts';
import { BranchTable } from './branch-table.ts';
import { hasChallengeTag } from './challenge-tag.ts';
import { type ClientHandlers, ClientTransaction } from './client.ts';
import { type Clock, systemClock } from './clock.ts';
import type { ClientQueues, ServerQueues, TransactionContext } from './context.ts';
import { DeadlineQueue } from './deadline-queue.ts';
import type { Endpoint } from './endpoint.ts';
import { TransactionErrors } from './errors.ts';
import { rfc2543ServerKey, rfc3261Branch, serverAckAlias, topVia } from './keys.ts';
import { type ServerEndReason, type ServerHooks, ServerTransaction } from './server.ts';
import { type BaseTimers, DEFAULT_BASE_TIMERS, deriveTimers, type TimerValues } from './timers.ts';

export const DEFAULT_MAX_TRANSACTIONS = 100_000;

export interface TransactionLayerOptions {
  /**
   * Hands a message to the transport. For a response, `dest` is where the request came from;
   * the transport applies §18.2.2 / RFC 3581 (received, rport) and connection reuse.
   * Return false or throw to report a transport error (§18.4); call `onFailure` for one found
   * later (a connection refused after the send was accepted). `wire`, when given, is
   * `message` already serialized (the transport need not do it again).
   */
  send(
    message: SipMessage,
    dest: Endpoint,
    onFailure?: (err: Error) => void,
    wire?: Buffer,
  ): boolean | undefined;
  /** A request that opened a new server transaction. Answer it with tx.respond(). */
  onRequest(tx: ServerTransaction, req: SipRequest): void;
  /**
   * An ACK that is not the ACK of a 3xx-6xx we sent: the ACK of a 2xx (its own transaction,
   * §17), given with the INVITE transaction when it matched one in Accepted (RFC 6026 §7.1).
   */
  onAck?(ack: SipRequest, source: Endpoint, tx: ServerTransaction | undefined): void;
  /** A response that matches no client transaction (§17.1.3; RFC 6026 §7.3 for proxies). */
  onStrayResponse?(res: SipResponse, source: Endpoint): void;
  /** A server transaction ended; 'timeout' and 'transport-error' must reach the TU (§17.2.4). */
  onServerEnd?(tx: ServerTransaction, reason: ServerEndReason): void;
  /** A TU handler threw; the layer answers 500 where it still can and carries on. */
  onError?(err: unknown): void;
  clock?: Clock;
  timers?: Partial<BaseTimers>;
  maxTransactions?: number;
}

export interface TransactionStats {
  /** Live server and client transactions. */
  server: number;
  client: number;
  /** Requests answered 503 because the table was full of live transactions. */
  refusedFull: number;
  /** Transactions that only waited out retransmissions, ended early to make room (#reclaimOne). */
  reclaimed: number;
  /** Messages without the fields matching needs (top Via, CSeq…); dropped. */
  unmatchable: number;
  /** Requests answered 482 because their branch was shared by MAX_PER_BRANCH transactions. */
  refusedBranch: number;
  /** Requests that matched a live server transaction (retransmissions, ACKs). */
  matched: number;
  /** Responses that matched no client transaction. */
  strayResponses: number;
  /** ACKs handed to the TU (ACKs of 2xx, §17; unmatched ACKs). */
  acksToTu: number;
  /** ACKs of a stateless challenge (their To tag is a challengeTag), dropped. */
  challengeAcks: number;
  /** Exceptions thrown by the TU's handlers. */
  tuErrors: number;
}

export class TransactionLayer {
  readonly #opts: TransactionLayerOptions;
  readonly #clock: Clock;
  readonly #max: number;
  readonly #reliableTimers: TimerValues;
  readonly #unreliableTimers: TimerValues;
  /** Server transactions of RFC 3261 peers, by branch (keys.ts). */
  readonly #servers = new BranchTable<ServerTransaction>();
  /** Server transactions of RFC 2543 peers, by key and (INVITE) by ACK key. */
  readonly #servers2543 = new Map<string, ServerTransaction>();
  readonly #clients = new BranchTable<ClientTransaction>();
  #clientCount = 0;
  readonly #ctx: TransactionContext;
  readonly #reliableQueues: ServerQueues;
  readonly #unreliableQueues: ServerQueues;
  readonly #reliableClientQueues: ClientQueues;
  readonly #unreliableClientQueues: ClientQueues;
  /** Shared by every server transaction (a closure per transaction would pin its request). */
  readonly #serverHooks: ServerHooks = {
    ack: (ack, from, tx) => this.#ackToTu(ack, from, tx),
    end: (tx, reason) => {
      try {
        this.#opts.onServerEnd?.(tx, reason);
      } catch (err) {
        this.#tuError(err);
      }
    },
  };
  #serverCount = 0;
  readonly #stats = {
    refusedFull: 0,
    reclaimed: 0,
    unmatchable: 0,
    refusedBranch: 0,
    matched: 0,
    strayResponses: 0,
    acksToTu: 0,
    challengeAcks: 0,
    tuErrors: 0,
  };

  constructor(opts: TransactionLayerOptions) {
    this.#opts = opts;
    this.#clock = opts.clock ?? systemClock;
    this.#max = opts.maxTransactions ?? DEFAULT_MAX_TRANSACTIONS;
    if (!Number.isSafeInteger(this.#max) || this.#max < 1) {
      throw new TransactionErrors.TG_SIPTX_BAD_OPTION('maxTransactions', 'must be an integer ≥ 1');
    }
    const base = { ...DEFAULT_BASE_TIMERS, ...opts.timers };
    try {
      this.#reliableTimers = deriveTimers(base, true);
      this.#unreliableTimers = deriveTimers(base, false);
    } catch (err) {
      throw new TransactionErrors.TG_SIPTX_BAD_OPTION('timers', (err as Error).message);
    }
    this.#reliableQueues = this.#queuesFor(this.#reliableTimers);
    this.#unreliableQueues = this.#queuesFor(this.#unreliableTimers);
    this.#reliableClientQueues = this.#clientQueuesFor(this.#reliableTimers);
    this.#unreliableClientQueues = this.#clientQueuesFor(this.#unreliableTimers);
    this.#ctx = {
      clock: this.#clock,
      send: (m, d, onFailure, wire) => this.#send(m, d, onFailure, wire),
      terminated: (tx) => this.#remove(tx),
      timersFor: (reliable) => (reliable ? this.#reliableTimers : this.#unreliableTimers),
      serverQueues: (reliable) => (reliable ? this.#reliableQueues : this.#unreliableQueues),
      clientQueues: (reliable) =>
        reliable ? this.#reliableClientQueues : this.#unreliableClientQueues,
    };
  }

  #queuesFor(t: TimerValues): ServerQueues {
    return {
      F: new DeadlineQueue(this.#clock, t.F),
      J: t.J === 0 ? undefined : new DeadlineQueue(this.#clock, t.J),
      L: new DeadlineQueue(this.#clock, t.L),
    };
  }

  #clientQueuesFor(t: TimerValues): ClientQueues {
    return {
      M: new DeadlineQueue(this.#clock, t.M),
      K: t.K === 0 ? undefined : new DeadlineQueue(this.#clock, t.K),
    };
  }

  get stats(): Readonly<TransactionStats> {
    return { ...this.#stats, server: this.#serverCount, client: this.#clientCount };
  }

  /** Live transactions, server and client. */
  get size(): number {
    return this.#serverCount + this.#clientCount;
  }

  /** Entry point for every parsed message the transport receives. */
  receive(message: SipMessage, source: Endpoint): void {
    if (message.kind === 'request') this.#receiveRequest(message, source);
    else this.#receiveResponse(message, source);
  }

  /**
   * Starts a client transaction for `req` (not ACK: an ACK is sent with sendStateless). The
   * request must already carry its top Via with a fresh RFC 3261 branch (messages.newBranch).
   * Throws TG_SIPTX_TABLE_FULL when the table is full of what cannot be reclaimed (as an
   * incoming request, it first ends the oldest answered non-INVITE: a proxy's forwarded INVITE
   * must not fail while the table only holds BYEs waiting out Timer J).
   */
  sendRequest(req: SipRequest, dest: Endpoint, handlers: ClientHandlers = {}): ClientTransaction {
    if (req.method === 'ACK') {
      throw new TransactionErrors.TG_SIPTX_BAD_REQUEST('ACK has no client transaction (§17)');
    }
    const via = topVia(req);
    const branch = via === undefined ? undefined : rfc3261Branch(via);
    if (branch === undefined) {
      throw new TransactionErrors.TG_SIPTX_BAD_REQUEST('top Via needs an RFC 3261 branch');
    }
    if (this.#findClient(branch, req.method) !== undefined) {
      throw new TransactionErrors.TG_SIPTX_BAD_REQUEST('branch already in use');
    }
    if (this.size >= this.#max && !this.#reclaimOne())
      throw new TransactionErrors.TG_SIPTX_TABLE_FULL(this.size);
    // Kept for as long as the transaction lives: a copy, not a slice of the request's text.
    const tx = new ClientTransaction(req, dest, detach(branch), this.#ctx, handlers);
    this.#clients.add(tx.branch, tx);
    this.#clientCount++;
    tx.start();
    return tx;
  }

  /** Sends without a transaction: the ACK of a 2xx (§13.2.2.4), a proxy's stray 2xx. */
  sendStateless(message: SipMessage, dest: Endpoint): boolean {
    return this.#send(message, dest);
  }

  /**
   * §9.2: the INVITE server transaction a CANCEL refers to (same matching as §17.2.3 but for
   * the method), or undefined — then the TU answers the CANCEL 481.
   */
  findInviteFor(cancel: SipRequest): ServerTransaction | undefined {
    const via = topVia(cancel);
    if (via === undefined) return undefined;
    const branch = rfc3261Branch(via);
    let tx: ServerTransaction | undefined;
    if (branch !== undefined) {
      tx = cancel.tryView('cseq').ok ? this.#findServer(branch, via, 'INVITE') : undefined;
    } else {
      const key = rfc2543ServerKey(cancel, via, 'INVITE');
      tx = key === undefined ? undefined : this.#servers2543.get(key);
    }
    return tx?.isInvite ? tx : undefined;
  }

  /** §17.2.3 for an RFC 3261 branch: same branch, sent-by and method (ACK as INVITE). */
  #findServer(branch: string, via: Via, method: string): ServerTransaction | undefined {
    for (let tx = this.#servers.first(branch); tx !== undefined; tx = tx.branchNext) {
      if (tx.method === method && tx.sentByHost === via.host && tx.sentByPort === via.port)
        return tx;
    }
    return undefined;
  }

  /** §17.1.3: same branch, and the method of the request (a response's CSeq method). */
  #findClient(branch: string, method: string): ClientTransaction | undefined {
    for (let tx = this.#clients.first(branch); tx !== undefined; tx = tx.branchNext) {
      if (tx.method === method) return tx;
    }
    return undefined;
  }

  #receiveRequest(req: SipRequest, source: Endpoint): void {
    const isAck = req.method === 'ACK';
    if (isAck && hasChallengeTag(req)) {
      // The ACK of a 401/407 sent statelessly: it belongs to no transaction (the INVITE's
      // ended with the challenge) and to no dialog. Dropped whatever else it carries (a
      // Route, a body): an ACK is never answered, and nothing is forwarded on its account.
      this.#stats.challengeAcks++;
      return;
    }
    const via = topVia(req);
    if (via === undefined) {
      this.#stats.unmatchable++;
      return;
    }
    const branch = rfc3261Branch(via);
    let key: string | undefined;
    let tx: ServerTransaction | undefined;
    if (branch !== undefined) {
      if (!req.tryView('cseq').ok) {
        this.#stats.unmatchable++;
        return;
      }
      tx = this.#findServer(branch, via, isAck ? 'INVITE' : req.method);
    } else {
      key = rfc2543ServerKey(req, via);
      if (key === undefined) {
        this.#stats.unmatchable++;
        return;
      }
      tx = this.#servers2543.get(key);
      // An RFC 2543 ACK also needs the To tag of the response sent (§17.2.3).
      if (tx !== undefined && isAck && !tx.acceptsAck(req)) tx = undefined;
    }
    if (tx !== undefined) {
      // §17.2.1 / §17.2.2: retransmissions and the non-2xx ACK stay in the transaction; an ACK
      // in Accepted goes on to the TU (RFC 6026 §7.1).
      this.#stats.matched++;
      tx.receive(req, source);
      return;
    }
    if (isAck) {
      this.#ackToTu(req, source, undefined);
      return;
    }
    if (branch !== undefined && this.#servers.full(branch)) {
      // §8.2.2.2's merged request, at scale: not a new transaction of its own (refused before
      // the table makes room for it, which would end another's transaction for nothing).
      this.#stats.refusedBranch++;
      this.#send(createResponse(req, 482, 'Loop Detected', { toTag: newTag() }), source);
      return;
    }
    if (this.size >= this.#max && !this.#reclaimOne()) {
      this.#stats.refusedFull++;
      this.#send(createResponse(req, 503, 'Service Unavailable', { toTag: newTag() }), source);
      return;
    }
    let created: ServerTransaction;
    if (branch !== undefined) {
      // Kept for as long as the transaction lives: copies, not slices of the request's text.
      const at = { branch: detach(branch), host: detach(via.host), port: via.port };
      created = new ServerTransaction(req, source, at, undefined, this.#ctx, this.#serverHooks);
      this.#servers.add(at.branch, created);
    } else {
      const ackKey = req.method === 'INVITE' ? serverAckAlias(req) : undefined;
      const at = { key: key!, ackKey };
      created = new ServerTransaction(req, source, undefined, at, this.#ctx, this.#serverHooks);
      this.#servers2543.set(key!, created);
      if (ackKey !== undefined) this.#servers2543.set(ackKey, created);
    }
    this.#serverCount++;
    try {
      this.#opts.onRequest(created, req);
    } catch (err) {
      this.#tuError(err);
      if (!created.responded) {
        created.respond(createResponse(req, 500, 'Server Internal Error', { toTag: newTag() }));
      }
    }
    created.handedToTu();
  }

  /**
   * Frees one slot by ending the oldest transaction that only waits out retransmissions of an
   * answer already given: first the non-INVITEs (a server's Completed, Timer J 32 s on UDP, to
   * answer retransmitted requests; a client's Completed, Timer K 5 s, to absorb retransmitted
   * answers), then the answered INVITEs (a server's Accepted, Timer L, absorbing retransmitted
   * INVITEs; a client's Accepted, Timer M, passing on retransmitted 2xx; RFC 6026 §7), on
   * UDP before TCP and TLS, which retransmit nothing. Each waits in its timer's queue in the
   * order it got there, so the oldest is a head: no scan. Without them, a sustained 1,500
   * calls/s filled the table with the server's Accepted INVITEs, and 4,000 calls/s with the
   * client's, and new calls got 503. A request still unanswered, or an INVITE waiting for the
   * ACK of its failure (or sending it again), is never reclaimed; with only those the table
   * refuses (503).
   */
  #reclaimOne(): boolean {
    for (const queue of [
      this.#unreliableQueues.J,
      this.#unreliableClientQueues.K,
      this.#unreliableQueues.L,
      this.#unreliableClientQueues.M,
      this.#reliableQueues.L,
      this.#reliableClientQueues.M,
    ]) {
      const oldest = queue?.oldest;
      if (
        (oldest instanceof ServerTransaction || oldest instanceof ClientTransaction) &&
        oldest.reclaim()
      ) {
        this.#stats.reclaimed++;
        return true;
      }
    }
    return false;
  }

  #receiveResponse(res: SipResponse, source: Endpoint): void {
    const branch = topVia(res)?.branch;
    const cseq = res.tryView('cseq');
    if (branch === undefined || !cseq.ok) {
      this.#stats.unmatchable++;
      return;
    }
    const tx = this.#findClient(branch, cseq.value.method);
    if (tx !== undefined) {
      tx.receive(res);
      return;
    }
    this.#stats.strayResponses++;
    try {
      this.#opts.onStrayResponse?.(res, source);
    } catch (err) {
      this.#tuError(err);
    }
  }

  #ackToTu(ack: SipRequest, source: Endpoint, tx: ServerTransaction | undefined): void {
    this.#stats.acksToTu++;
    try {
      this.#opts.onAck?.(ack, source, tx);
    } catch (err) {
      this.#tuError(err);
    }
  }

  #send(
    message: SipMessage,
    dest: Endpoint,
    onFailure?: (err: Error) => void,
    wire?: Buffer,
  ): boolean {
    try {
      return this.#opts.send(message, dest, onFailure, wire) !== false;
    } catch {
      return false;
    }
  }

  #remove(tx: object): void {
    if (tx instanceof ServerTransaction) {
      const branch = tx.branch;
      if (branch !== undefined) this.#servers.remove(branch, tx);
      else {
        // An RFC 2543 key is its transaction's own until it leaves: a request whose key is
        // taken matches that transaction instead of opening one (#receiveRequest), and no ACK
        // alias can equal it (keys.ts: an alias starts "2543-ack", a key "2543" and a NUL). An
        // alias may have been taken over by a later INVITE: checked.
        this.#servers2543.delete(tx.key!);
        if (tx.ackKey !== undefined && this.#servers2543.get(tx.ackKey) === tx) {
          this.#servers2543.delete(tx.ackKey);
        }
      }
      this.#serverCount--;
    } else if (tx instanceof ClientTransaction) {
      this.#clients.remove(tx.branch, tx);
      this.#clientCount--;
    }
  }

  /** A TU handler threw; a throwing TU must not break the layer. */
  #tuError(err: unknown): void {
    this.#stats.tuErrors++;
    this.#opts.onError?.(err);
  }
}
