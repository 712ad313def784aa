// What a transaction needs from the layer that owns it: time, the timer values for its
// transport, a way to send, and a way to leave the table. Transactions never see each other.
import type { SipMessage } from '../message/index.ts';
import type { Clock } from './clock.ts';
import type { DeadlineQueue } from './deadline-queue.ts';
import type { Endpoint } from './endpoint.ts';
import type { TimerValues } from './timers.ts';

/** The shared queues of a server transaction's fixed-length timers. */
export interface ServerQueues {
  /** Non-INVITE, Timer F: how long the TU may leave the request unanswered. */
  readonly F: DeadlineQueue;
  /**
   * Non-INVITE, Timer J; undefined where it is 0 (reliable transports: Completed ends at
   * once).
   */
  readonly J: DeadlineQueue | undefined;
  /** INVITE, Timer L (RFC 6026 §7.1): how long Accepted absorbs retransmissions. */
  readonly L: DeadlineQueue;
}

/**
 * The shared queues of a client transaction's last, fixed-length wait: only retransmitted
 * answers can still arrive, so the table may end the oldest early when it needs room.
 */
export interface ClientQueues {
  /** INVITE, Timer M (RFC 6026 §7.2): how long Accepted passes on retransmitted 2xx. */
  readonly M: DeadlineQueue;
  /** Non-INVITE, Timer K; undefined where it is 0 (reliable transports). */
  readonly K: DeadlineQueue | undefined;
}

export interface TransactionContext {
  readonly clock: Clock;
  /**
   * Hands a message to the transport; false when the transport reported an error at once
   * (§18.4). `onFailure` is for errors found later (a TCP connection that is refused); a
   * sender that cannot hear of any (a UDP response) passes none.
   * `wire` is `message` already serialized, when the caller needed the octets too.
   */
  send(
    message: SipMessage,
    dest: Endpoint,
    onFailure: ((err: Error) => void) | undefined,
    wire?: Buffer,
  ): boolean;
  /** Called once, when the transaction enters Terminated: it must leave the table now. */
  terminated(tx: object): void;
  timersFor(reliable: boolean): TimerValues;
  serverQueues(reliable: boolean): ServerQueues;
  clientQueues(reliable: boolean): ClientQueues;
}
