// The calls the proxy set up, by Call-ID: just enough state to route the dialog's later
// requests between its two ends, to refuse in-dialog requests from anyone else, and to
// report the call's duration when it ends.
//
// Routing by the recorded ends rather than by the Request-URI (the remote Contact) is
// deliberate: a phone behind NAT puts a private address in its Contact, which only its
// REGISTER/INVITE source reaches; and a proxy that forwarded in-dialog requests to whatever
// Request-URI they carry would be an open relay.
//
// Bounded: at most `capacity` calls (a new one beyond that is refused by the proxy), and a
// call with no request for `idleMs` is forgotten (reported as ended then). Entries are kept
// in a Map in order of last use, so the expired ones are always at the front: sweeping costs
// O(expired), done on every insert, with no timer.
import type { CallRequest, LiveCall } from '../../policy-port.ts';
import type { Endpoint } from '../transaction/index.ts';
import type { CallTimers } from './call-timers.ts';

export interface CallParty {
  /**
   * Where its requests came from; for a TCP/TLS peer the connection id rides along. Moves to
   * the flow the phone registered since, when that connection has closed (in-dialog.ts).
   */
  endpoint: Endpoint;
  /** The account whose registrations reach it (the callee; an authenticated caller). */
  readonly aor?: string | undefined;
  /** Its tag (From tag for the caller, To tag of the answer for the callee). */
  tag: string | undefined;
  /** Its address header as it uses it in the dialog (From of the caller, To of the callee). */
  nameAddr: string | undefined;
  /** Its Contact (remote target), for requests tollgate itself sends it (absolutetimeout). */
  contact: string | undefined;
  /** The highest CSeq it has used in the dialog, so a BYE of ours can go one higher. */
  cseq: number;
}

/**
 * A call's dialog state (RFC 3261 §12): early from the INVITE until its 2xx (the table keeps
 * a call in setup the same way), confirmed once answered, terminated when over (by a BYE, a
 * failure, or tollgate's own teardown). A terminated call is out of the table.
 */
export type CallState = LiveCall['state'];

/** What policy (CallAccounting) was asked about a call and answered: see calls.ts. */
export interface CallAuthorization {
  readonly request: CallRequest;
  /** The longest the call may last once answered (seconds); undefined = no policy limit. */
  maxDurationSeconds: number | undefined;
  /** The rule behind the limit, reported when the limit ends the call. */
  rule: string | undefined;
}

/** How a call ended, for the CDR (CallEnded): set once, by whoever ends it first. */
export interface CallEnd {
  readonly side: 'caller' | 'callee' | 'proxy';
  readonly reason: string;
  /** The final status of the INVITE (200 for an answered call). */
  readonly status: number;
}

export interface CallRecord {
  /** A call (INVITE), or the dialog of a SUBSCRIBE or REFER (no call-end, no limits). */
  readonly kind?: 'call' | 'subscription';
  state?: CallState;
  readonly callId: string;
  readonly caller: CallParty;
  readonly callee: CallParty;
  /** The account that placed it (authenticated user, or the From user when not). */
  readonly user: string;
  readonly createdAt: number;
  /** When the 2xx went through; undefined while the call is being set up. */
  answeredAt: number | undefined;
  lastSeen: number;
  /** Every timer of the call (calls only): all stopped when the call ends. */
  timers?: CallTimers;
  /** The call as policy sees it, and CallAccounting's answer (no limit when none was asked). */
  authorization?: CallAuthorization;
  /**
   * Set by the INVITE forwarding while the call is in setup: ends the setup as tollgate's
   * own teardown does (CANCEL downstream, 487 upstream). `rule` names why.
   */
  stopSetup?: ((rule: string) => void) | undefined;
  /** Set when the proxy asked the call to end: an answer that races it is torn down. */
  ending?: CallEnd;
  /** The session interval (RFC 4028) in force, seconds; undefined = no session timer. */
  sessionExpires?: number;
  /** Clock ms of the last media the relay reported (mediatimeout); undefined = none yet. */
  lastMediaAt?: number;
  /** The route / trunk the call took (routing fills it; shown by `tollgatectl calls`). */
  route?: string;
}

export const DIALOG_DEFAULTS = {
  capacity: 50_000,
  /** Longer than any sane call without a re-INVITE or session refresh (RFC 4028). */
  idleMs: 6 * 3600_000,
};

export class DialogTable {
  readonly #calls = new Map<string, CallRecord>();
  readonly #capacity: number;
  readonly #idleMs: number;
  readonly #onExpire: (call: CallRecord, now: number) => void;

  constructor(
    opts: { capacity?: number; idleMs?: number },
    onExpire: (call: CallRecord, now: number) => void,
  ) {
    this.#capacity = opts.capacity ?? DIALOG_DEFAULTS.capacity;
    this.#idleMs = opts.idleMs ?? DIALOG_DEFAULTS.idleMs;
    this.#onExpire = onExpire;
  }

  get size(): number {
    return this.#calls.size;
  }

  /** Room for one more call (after forgetting the expired ones)? */
  hasRoom(now: number): boolean {
    this.sweep(now);
    return this.#calls.size < this.#capacity;
  }

  /** Adds a call; false when the table is full or the Call-ID is already in use. */
  add(call: CallRecord, now: number): boolean {
    if (!this.hasRoom(now) || this.#calls.has(call.callId)) return false;
    this.#calls.set(call.callId, call);
    return true;
  }

  get(callId: string, now: number): CallRecord | undefined {
    const call = this.#calls.get(callId);
    if (call === undefined) return undefined;
    if (now - call.lastSeen >= this.#idleMs) {
      this.sweep(now);
      return undefined;
    }
    return call;
  }

  /** Marks a call as used now: it moves to the back of the expiry order. */
  touch(call: CallRecord, now: number): void {
    if (this.#calls.get(call.callId) !== call) return;
    call.lastSeen = now;
    this.#calls.delete(call.callId);
    this.#calls.set(call.callId, call);
  }

  /** Whether this very record is in the table (idle or not: no sweep). */
  holds(call: CallRecord): boolean {
    return this.#calls.get(call.callId) === call;
  }

  /** The calls, least recently used first (a copy: the caller may end them meanwhile). */
  values(): CallRecord[] {
    return [...this.#calls.values()];
  }

  remove(callId: string): CallRecord | undefined {
    const call = this.#calls.get(callId);
    this.#calls.delete(callId);
    return call;
  }

  /** Forgets calls idle for idleMs, oldest first; returns how many. */
  sweep(now: number): number {
    let n = 0;
    for (const call of this.#calls.values()) {
      if (now - call.lastSeen < this.#idleMs) break;
      this.#calls.delete(call.callId);
      this.#onExpire(call, now);
      n++;
    }
    return n;
  }
}
