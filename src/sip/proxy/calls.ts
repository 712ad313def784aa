// The calls in progress: the dialog table, the report of a call's end to the guard, and
// tearing a call down (absolutetimeout). Shared by the INVITE forwarding (which adds calls and
// learns their answer) and the in-dialog routing (which ends them on a BYE's answer).
import { DEFAULT_LIMITS, makeHeader, parseUri, SipRequest } from '../message/index.ts';
import { ownBranch, type ProxyContext } from './context.ts';
import { type CallParty, type CallRecord, DialogTable } from './dialogs.ts';
import { pushVia } from './forward.ts';

/** Subscription dialogs kept at once (their own table: they cannot crowd calls out). */
export const SUBSCRIPTION_CAPACITY = 10_000;

export class Calls {
  readonly table: DialogTable;
  /** Dialogs of SUBSCRIBE / REFER (requests.ts): routed like calls, never reported. */
  readonly subscriptions: DialogTable;
  readonly #ctx: ProxyContext;

  constructor(ctx: ProxyContext) {
    this.#ctx = ctx;
    const opts = ctx.d.dialogs ?? {};
    this.table = new DialogTable(opts, (call, now) => {
      ctx.d.log.info({ ip: call.caller.endpoint.ip, callId: call.callId }, 'idle call forgotten');
      this.#ended(call, now);
    });
    this.subscriptions = new DialogTable(
      {
        ...opts,
        capacity: Math.min(opts.capacity ?? SUBSCRIPTION_CAPACITY, SUBSCRIPTION_CAPACITY),
      },
      () => {},
    );
  }

  /** The call or subscription dialog with this Call-ID. */
  find(callId: string, now: number): CallRecord | undefined {
    return this.table.get(callId, now) ?? this.subscriptions.get(callId, now);
  }

  /** The dialog was used now (idle expiry starts over). */
  touch(record: CallRecord, now: number): void {
    (record.kind === 'subscription' ? this.subscriptions : this.table).touch(record, now);
  }

  /** The call is over (BYE answered, setup failed): out of the table, its end reported. */
  finish(call: CallRecord): void {
    if (call.kind === 'subscription') return;
    if (this.table.remove(call.callId) === call) this.#ended(call, this.#ctx.now());
  }

  /** Starts absolutetimeout on an answered call. */
  limit(call: CallRecord): void {
    const ms = this.#ctx.config.absolutetimeout * 1000;
    call.limit = this.#ctx.clock.setTimeout(() => this.#hangUp(call), ms);
  }

  /**
   * absolutetimeout: the call has lasted as long as it may. A record-routing proxy is in the
   * middle of the dialog, so it can end it like either party would: a BYE to each end, in
   * that end's dialog terms (its tags, its Contact, a CSeq above any the other end used).
   */
  #hangUp(call: CallRecord): void {
    if (this.table.remove(call.callId) !== call) return;
    const { caller, callee } = call;
    this.#ctx.d.log.warn(
      { ip: caller.endpoint.ip, user: call.user, callId: call.callId, rule: 'absolutetimeout' },
      'call torn down',
    );
    this.#sendBye(call, callee, caller);
    this.#sendBye(call, caller, callee);
    this.#ended(call, this.#ctx.now());
  }

  /** A BYE to `to`, written as `from` would send it within the dialog. */
  #sendBye(call: CallRecord, to: CallParty, from: CallParty): void {
    if (to.contact === undefined || to.nameAddr === undefined || from.nameAddr === undefined)
      return;
    const target = parseUri(to.contact, DEFAULT_LIMITS.maxUriBytes);
    if (!target.ok) return;
    from.cseq += 1;
    const bye = new SipRequest(
      'BYE',
      to.contact,
      target.uri,
      [
        makeHeader('Max-Forwards', '70'),
        makeHeader('From', from.nameAddr),
        makeHeader('To', to.nameAddr),
        makeHeader('Call-ID', call.callId),
        makeHeader('CSeq', `${from.cseq} BYE`),
      ],
      Buffer.alloc(0),
    );
    const { d } = this.#ctx;
    const dest = to.endpoint;
    pushVia(bye, dest.transport, d.own.advertised(dest.transport, dest.ip), ownBranch());
    try {
      d.transactions.sendRequest(bye, dest, {});
    } catch (err) {
      d.log.warn({ ip: dest.ip, port: dest.port, err }, 'BYE not sent');
    }
  }

  /** call-end to the guard: the duration counts for maxdurationperip. */
  #ended(call: CallRecord, now: number): void {
    const { d, clock } = this.#ctx;
    clock.clearTimeout(call.limit);
    const seconds =
      call.answeredAt === undefined ? 0 : Math.max(0, Math.round((now - call.answeredAt) / 1000));
    const caller = call.caller.endpoint;
    d.report({
      kind: 'call-end',
      ip: caller.ip,
      port: caller.port,
      method: 'BYE',
      callId: call.callId,
      durationSeconds: seconds,
      ...(call.user ? { user: call.user } : {}),
    });
    d.log.info(
      { ip: caller.ip, port: caller.port, user: call.user, callId: call.callId, seconds },
      'call ended',
    );
  }
}
