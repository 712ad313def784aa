// The calls in progress: the dialog table, each call's state and timers, its accounting
// (CallAccounting: answered, ended exactly once), the reports of its end to the guard, and
// tollgate's own teardown of a call. Shared by the INVITE forwarding (which opens calls and
// learns their answer), the in-dialog routing (session refreshes, the BYE's answer), the
// console (`tollgatectl calls`, `hangup`) and the media relay (mediaActivity).
//
//   early ──2xx──► confirmed ──BYE answered / teardown──► terminated (out of the table)
//     └──final non-2xx, CANCEL, teardown──────────────────────┘
//
// Teardown by the proxy (a limit, a timeout, the admin): a confirmed call gets a BYE to each
// end, written as the other end would send it; a call in setup is stopped by the INVITE
// forwarding (stopSetup: CANCEL downstream, 487 upstream). Either way the call ends once,
// with disconnect side 'proxy' and the rule that ended it.
import type { CallAccounting, LiveCall } from '../../policy-port.ts';
import {
  DEFAULT_LIMITS,
  makeHeader,
  parseUri,
  SipRequest,
  type SipResponse,
} from '../message/index.ts';
import type { Admission } from './admission.ts';
import { callRequestOf } from './call-admission.ts';
import { CallTimers } from './call-timers.ts';
import { contactOf, ownBranch, type ProxyContext } from './context.ts';
import { type CallEnd, type CallParty, type CallRecord, DialogTable } from './dialogs.ts';
import { pushVia } from './forward.ts';
import { intervalFromAnswer } from './session-timer.ts';

/** Subscription dialogs kept at once (their own table: they cannot crowd calls out). */
export const SUBSCRIPTION_CAPACITY = 10_000;

/** What the media relay says of a call's media, for `tollgatectl calls`. */
export interface CallMedia {
  /** The relay ports the call uses (RTP and RTCP, both sides). */
  readonly ports: readonly number[];
  /** Packets dropped at those ports (from a source other than the call's ends). */
  readonly dropped: number;
}

/** A live call as `tollgatectl calls` shows it. */

/** What the console's `hangup` ends: a call id, or every call. */
export type HangupTarget = string | { readonly all: true };

export class Calls {
  readonly table: DialogTable;
  /** Dialogs of SUBSCRIBE / REFER (requests.ts): routed like calls, never reported. */
  readonly subscriptions: DialogTable;
  /**
   * The media relay's view of a call (ports, drops), shown by `tollgatectl calls`. The relay
   * sets it; until then the media columns are blank.
   */
  describeMedia: (callId: string) => CallMedia | undefined = () => undefined;
  readonly #ctx: ProxyContext;
  readonly #accounting: CallAccounting | undefined;

  constructor(ctx: ProxyContext) {
    this.#ctx = ctx;
    this.#accounting = ctx.d.calls;
    const opts = ctx.d.dialogs ?? {};
    this.table = new DialogTable(opts, (call, now) => {
      ctx.d.log.info({ ip: call.caller.endpoint.ip, callId: call.callId }, 'idle call forgotten');
      call.ending ??= { side: 'proxy', reason: 'idle', status: call.answeredAt ? 200 : 408 };
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

  /**
   * A call in setup enters the table (early), with its timers and what policy answered
   * (Admission.authorization). False when the table is full or the Call-ID is in use: the
   * caller ends it (finish is then still owed to policy, see refused()).
   */
  open(call: CallRecord, a: Admission): boolean {
    call.state = 'early';
    call.timers = new CallTimers(this.#ctx.clock);
    // Without CallAccounting nobody was asked: the call is described the same way (for
    // `tollgatectl calls`), with no limit.
    call.authorization = a.authorization ?? {
      request: callRequestOf(a, this.#ctx.now()),
      maxDurationSeconds: undefined,
      rule: undefined,
    };
    return this.table.add(call, this.#ctx.now());
  }

  /** A call admitted by policy that never made it into the table: policy still hears its end. */
  refused(a: Admission, status: number, reason: string): void {
    const auth = a.authorization;
    if (auth === undefined || this.#accounting === undefined) return;
    const now = this.#ctx.now();
    this.#tellEnded({
      ...auth.request,
      startedAt: now,
      answeredAt: undefined,
      endedAt: now,
      durationSeconds: 0,
      disconnectSide: 'proxy',
      reason,
      status,
    });
  }

  /**
   * The first 2xx of the call's INVITE (`request` as forwarded): the dialog is confirmed, the
   * callee's dialog terms are learnt, and the call's limits start: absolutetimeout, the
   * maximum duration policy allows (CallAccounting.answered may shorten it), the session
   * timer (RFC 4028), and mediatimeout when the relay already reported media.
   */
  answered(call: CallRecord, request: SipRequest, res: SipResponse): void {
    if (call.state === 'terminated') {
      // The proxy ended the setup (a 487 went upstream) and the callee answered anyway: it
      // holds a dialog nobody else does. Ended on its side too.
      this.#learnCallee(call, res);
      this.#sendBye(call, call.callee, call.caller);
      return;
    }
    if (call.state === 'confirmed') return;
    const now = this.#ctx.now();
    call.state = 'confirmed';
    call.answeredAt = now;
    call.stopSetup = undefined;
    call.timers?.stop('callinittimeout');
    call.timers?.stop('ringtimeout');
    this.#learnCallee(call, res);
    this.table.touch(call, now);
    const { config } = this.#ctx;
    call.timers?.start('absolutetimeout', config.absolutetimeout * 1000, () =>
      this.hangUp(call, 'absolutetimeout'),
    );
    this.#limitDuration(call, now);
    this.#sessionTimer(call, request, res);
    if (call.lastMediaAt !== undefined) this.#armMediaTimeout(call);
  }

  /** A 2xx to a re-INVITE or UPDATE in the call (`request` as forwarded): a session refresh. */
  refreshed(call: CallRecord, request: SipRequest, res: SipResponse): void {
    if (call.kind === 'subscription' || call.state !== 'confirmed') return;
    this.#sessionTimer(call, request, res);
  }

  /**
   * The call is over (BYE answered, setup failed): out of the table, its end reported once.
   * `end` is kept unless an end was already set (the proxy's teardown, a CANCEL).
   */
  finish(call: CallRecord, end: CallEnd): void {
    if (call.kind === 'subscription') return;
    call.ending ??= end;
    if (this.table.remove(call.callId) === call) this.#ended(call, this.#ctx.now());
  }

  /**
   * Tollgate ends the call (`rule` says why: a config key, or 'admin'). Confirmed: a BYE to
   * each end. In setup: CANCEL downstream and 487 upstream (stopSetup). False when the call
   * is already over.
   */
  hangUp(call: CallRecord, rule: string): boolean {
    if (call.kind === 'subscription' || call.state === 'terminated') return false;
    if (!this.table.holds(call)) return false;
    const { d } = this.#ctx;
    d.log.warn(
      { ip: call.caller.endpoint.ip, user: call.user, callId: call.callId, rule },
      'call torn down',
    );
    if (call.state === 'confirmed') {
      call.ending = { side: 'proxy', reason: rule, status: 200 };
      this.table.remove(call.callId);
      this.#sendBye(call, call.callee, call.caller);
      this.#sendBye(call, call.caller, call.callee);
      this.#ended(call, this.#ctx.now());
      return true;
    }
    call.ending = { side: 'proxy', reason: rule, status: 487 };
    const stop = call.stopSetup;
    if (stop) stop(rule);
    else this.finish(call, call.ending);
    return true;
  }

  /** `tollgatectl hangup ID|all`: how many calls were ended (0: no such call). */
  hangup(target: HangupTarget): number {
    const now = this.#ctx.now();
    if (typeof target === 'string') {
      const call = this.table.get(target, now);
      return call !== undefined && this.hangUp(call, 'admin') ? 1 : 0;
    }
    let n = 0;
    for (const call of this.table.values()) if (this.hangUp(call, 'admin')) n++;
    return n;
  }

  /** The live calls, oldest first, as `tollgatectl calls` lists them. */
  list(): LiveCall[] {
    const now = this.#ctx.now();
    const out: LiveCall[] = [];
    for (const call of this.table.values()) {
      const media = this.describeMedia(call.callId);
      const request = call.authorization?.request;
      out.push({
        id: call.callId,
        state: call.state ?? 'early',
        caller: request?.callerId ?? call.user,
        callee: call.callee.aor ?? request?.dialled ?? '',
        account: request?.account ?? '',
        route: call.route ?? request?.route ?? (request?.destination === 'trunk' ? '' : 'local'),
        callerAddress: address(call.caller),
        calleeAddress: address(call.callee),
        ageSeconds: Math.max(0, Math.round((now - call.createdAt) / 1000)),
        answeredSeconds:
          call.answeredAt === undefined
            ? undefined
            : Math.max(0, Math.round((now - call.answeredAt) / 1000)),
        sessionExpires: call.sessionExpires,
        mediaPorts: media?.ports ?? [],
        packetsDropped: media?.dropped,
      });
    }
    return out.sort((a, b) => b.ageSeconds - a.ageSeconds);
  }

  /**
   * For the media relay (mediatimeout): media of this call moved. Call it when the relay
   * opens the call's ports (that arms the timer: a call whose media never starts is caught
   * too) and whenever its counters show packets since the last call. The call is torn down
   * when nothing was reported for mediatimeout seconds once answered. False = no such call
   * (the relay may release its ports).
   */
  mediaActivity(callId: string): boolean {
    const call = this.table.get(callId, this.#ctx.now());
    if (call === undefined || call.kind === 'subscription' || call.state === 'terminated')
      return false;
    const first = call.lastMediaAt === undefined;
    call.lastMediaAt = this.#ctx.clock.now();
    if (call.state === 'confirmed' && (first || !call.timers?.has('mediatimeout')))
      this.#armMediaTimeout(call);
    return true;
  }

  /** Timers live across all calls (0 when no call is left: nothing leaks). */
  get liveTimers(): number {
    let n = 0;
    for (const call of this.table.values()) n += call.timers?.size ?? 0;
    return n;
  }

  /**
   * mediatimeout: one timer per call, not one per report. When it fires it looks at the
   * last report and sleeps again for what is left, so a busy call costs one timer per
   * mediatimeout period, however often the relay reports.
   */
  #armMediaTimeout(call: CallRecord): void {
    const seconds = this.#ctx.config.mediatimeout;
    if (seconds <= 0 || call.timers === undefined) return;
    const clock = this.#ctx.clock;
    const wait = (ms: number) =>
      call.timers?.start('mediatimeout', ms, () => {
        const idle = clock.now() - (call.lastMediaAt ?? 0);
        const limit = this.#ctx.config.mediatimeout * 1000;
        if (limit <= 0) return;
        if (idle >= limit) this.hangUp(call, 'mediatimeout');
        else wait(limit - idle);
      });
    wait(Math.max(0, seconds * 1000 - (clock.now() - (call.lastMediaAt ?? clock.now()))));
  }

  /** The maximum duration policy allows, from the answer (the shorter of both answers). */
  #limitDuration(call: CallRecord, now: number): void {
    const auth = call.authorization;
    if (auth === undefined || this.#accounting === undefined) return;
    let max = auth.maxDurationSeconds;
    try {
      const later = this.#accounting.answered(call.callId, now).maxDurationSeconds;
      if (later !== undefined) max = max === undefined ? later : Math.min(max, later);
    } catch (err) {
      this.#ctx.d.log.error({ err, callId: call.callId }, 'call accounting failed on answer');
    }
    auth.maxDurationSeconds = max;
    if (max === undefined) return;
    const rule = auth.rule ?? 'maxDurationSeconds';
    call.timers?.start('maxduration', Math.max(0, max) * 1000, () => this.hangUp(call, rule));
  }

  /** RFC 4028: the interval the 2xx sets; the call ends if not refreshed within it. */
  #sessionTimer(call: CallRecord, request: SipRequest, res: SipResponse): void {
    const seconds = intervalFromAnswer(request, res, this.#ctx.config);
    call.sessionExpires = seconds;
    if (seconds === undefined) {
      call.timers?.stop('sessionexpires');
      return;
    }
    call.timers?.start('sessionexpires', seconds * 1000, () => this.hangUp(call, 'sessionexpires'));
  }

  #learnCallee(call: CallRecord, res: SipResponse): void {
    const to = res.tryView('to');
    if (to.ok && to.value.tag !== undefined) call.callee.tag = to.value.tag;
    call.callee.nameAddr = res.header('to');
    call.callee.contact = contactOf(res) ?? call.callee.contact;
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
        makeHeader('Reason', `SIP;cause=200;text="${call.ending?.reason ?? 'teardown'}"`),
      ],
      Buffer.alloc(0),
    );
    const { d } = this.#ctx;
    const dest = to.endpoint;
    pushVia(bye, dest.transport, d.own.advertised(dest.transport, dest.ip), ownBranch());
    try {
      d.transactions.sendRequest(bye, dest, { finalToTuOnly: true });
    } catch (err) {
      d.log.warn({ ip: dest.ip, port: dest.port, err }, 'BYE not sent');
    }
  }

  /**
   * The call is over: its timers stopped, call-end to the guard (the duration counts for
   * maxdurationperip), and CallAccounting.ended with everything a CDR needs.
   */
  #ended(call: CallRecord, now: number): void {
    const { d } = this.#ctx;
    call.state = 'terminated';
    call.timers?.stopAll();
    call.stopSetup = undefined;
    this.#ctx.media?.end(call);
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
    const end = call.ending ?? { side: 'proxy', reason: 'unknown', status: 500 };
    d.log.info(
      {
        ip: caller.ip,
        port: caller.port,
        user: call.user,
        callId: call.callId,
        seconds,
        side: end.side,
        reason: end.reason,
      },
      'call ended',
    );
    const auth = call.authorization;
    if (auth === undefined) return;
    this.#tellEnded({
      ...auth.request,
      startedAt: call.createdAt,
      answeredAt: call.answeredAt,
      endedAt: now,
      durationSeconds: seconds,
      disconnectSide: end.side,
      reason: end.reason,
      status: end.status,
    });
  }

  #tellEnded(ended: Parameters<CallAccounting['ended']>[0]): void {
    try {
      this.#accounting?.ended(ended);
    } catch (err) {
      this.#ctx.d.log.error({ err, callId: ended.callId }, 'call accounting failed on end');
    }
  }
}

function address(p: CallParty): string {
  const e = p.endpoint;
  const host = e.ip.includes(':') ? `[${e.ip}]` : e.ip;
  return `${e.transport}:${host}:${e.port}`;
}
