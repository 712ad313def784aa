// An admitted INVITE, forwarded (§16.6) to every target of its plan and followed until its
// final answer (§16.7), and its CANCEL (§9.2, §16.10):
//
//   plan        stages of targets (admission's inviteTargets, routing/): all bindings of a
//               local user in one stage, forked in parallel; one trunk per stage for a
//               number routed out, tried in turn
//   forward     per target: copy → Request-URI = the target, our Route entries off, one hop
//               less, the path of the caller hidden (topology.ts, forwardclientaddress), our
//               Record-Route(s) (record-route.ts), our credentials off, our Via → sent to the
//               binding's flow or the trunk
//   responses   1xx relayed (the first starts ringtimeout); the first 2xx wins: relayed, the
//               other branches CANCELled, a 2xx from a second branch is ACKed and BYEd by us;
//               3xx recursed as securemove / allownoauthfork allow (redirect.ts); a 6xx
//               ends the forking (others CANCELled); when every branch of a stage has failed
//               with 5xx/408 (a timeout included) the next stage (trunk) is tried, else the
//               best final response (§16.7 step 6) goes to the caller
//   CANCEL      200 at once, CANCEL on every branch that has answered anything (§9.1; the
//               others when they do); the best final (the callee's 487) answers the INVITE
//   timers      callinittimeout until the first provisional (408 to the caller), then
//               ringtimeout until the answer (the INVITE is cancelled); per trunk, its
//               timeout without any answer (the next trunk is tried)
//
// Hook points of a call's life: #provisional, #answered (calls.answered: limits and timers
// start), #finish (calls.finish: the call failed, how it ended). Tollgate's own teardown of
// the setup (calls.hangUp: ringtimeout, the admin) goes through call.stopSetup.

import type { MediaCall } from '../media/proxy-media.ts';
import {
  createResponse,
  detach,
  makeHeader,
  SipRequest,
  type SipResponse,
} from '../message/index.ts';
import type {
  ClientHandlers,
  ClientTransaction,
  Endpoint,
  ServerTransaction,
  TimerHandle,
} from '../transaction/index.ts';
import { type Admission, callerName } from './admission.ts';
import type { CallPolicy } from './call-policy.ts';
import type { Calls } from './calls.ts';
import { contactOf, ownBranch, type ProxyContext } from './context.ts';
import type { CallEnd, CallRecord } from './dialogs.ts';
import {
  addRecordRoute,
  popTopVia,
  pushVia,
  statelessBranch,
  stripOwnCredentials,
  towardsBinding,
} from './forward.ts';
import { recordRoutes } from './record-route.ts';
import type { RoutingPorts } from './routing/plan.ts';
import { redirectTargets } from './routing/redirect.ts';
import { MAX_BRANCHES, type Target, type TargetPlan } from './routing/targets.ts';
import { applySessionPolicy } from './session-timer.ts';
import { hideContact, hideRequestPath, restoreResponsePath } from './topology.ts';

/** One target the INVITE was sent to (a client transaction of ours, §16.6). */
interface Branch {
  readonly target: Target;
  /** What its client transaction calls back with each response. */
  readonly route: BranchRoute;
  readonly forwarded: SipRequest;
  /** Our Record-Route values on it, top first (restored on responses when hiding). */
  readonly recordRoutes: readonly string[];
  client: ClientTransaction | undefined;
  /** Any response came (100 included): a CANCEL may be sent (§9.1). */
  heard: boolean;
  /** Its final status, once it has one (a local 408 when the trunk timeout fired). */
  final: number | undefined;
  cancelSent: boolean;
  /** The trunk's own timeout: no answer at all → 408, next stage. */
  timer: TimerHandle | undefined;
}

/**
 * What a branch's client transaction holds to hand its responses back: the whole INVITE's
 * state while its answer is open. Once the branch has answered for good, it is let go: a
 * 3xx-6xx ends what the transaction passes on, and after the winning 2xx the transaction
 * waits out Timer M (32 s on UDP) passing on only that 2xx's retransmissions (RFC 6026
 * §7.2), for which `answered` holds enough. Held for those 32 s by every call, the INVITE,
 * its copies and the call's setup were most of what the garbage collector kept moving.
 */
interface BranchRoute {
  readonly tx: ServerTransaction;
  pending: PendingInvite | undefined;
  branch: Branch | undefined;
  answered: AnsweredRoute | undefined;
}

/** Relaying a retransmitted 2xx of the winning branch to the caller (#toCaller). */
interface AnsweredRoute {
  readonly call: MediaCall;
  readonly source: Endpoint;
  /** The caller's INVITE's Vias and Record-Routes (restoreResponsePath). */
  readonly original: Pick<SipRequest, 'headerValues'>;
  readonly recordRoutes: readonly string[];
}

/** An INVITE we forwarded and whose final answer has not gone to the caller yet. */
interface PendingInvite {
  readonly call: CallRecord;
  readonly a: Admission;
  readonly branches: Branch[];
  /** Stages not tried yet. */
  readonly later: TargetPlan;
  /** Redirects followed so far (a bound on 3xx recursion). */
  redirects: number;
  /** The best final response so far (§16.7 step 6), from a failed branch. */
  best: SipResponse | undefined;
  /** The branch whose 2xx won. */
  winner: Branch | undefined;
  provisional: boolean;
  cancelled: boolean;
  /** The caller has its final answer (relayed, or our own 408 / 487). */
  finished: boolean;
}

/** §16.7 step 6: which final response of the branches goes to the caller. */
export function betterFinal(current: SipResponse | undefined, next: SipResponse): SipResponse {
  if (current === undefined) return next;
  if (current.status >= 600) return current;
  if (next.status >= 600) return next;
  const cls = (s: number) => Math.floor(s / 100);
  // Lowest class wins; within a class, a real answer beats our own timeout/transport error.
  if (cls(next.status) < cls(current.status)) return next;
  if (cls(next.status) === cls(current.status) && current.status === 408 && next.status !== 408)
    return next;
  return current;
}

/** A failure after which the next stage (trunk) is tried: 5xx, 408 (timeouts included). */
export function failsOver(status: number): boolean {
  return status === 408 || (status >= 500 && status < 600);
}

export class InviteForwarding {
  readonly #ctx: ProxyContext;
  readonly #calls: Calls;
  readonly #routing: RoutingPorts;
  readonly #policy: CallPolicy;
  readonly #pending = new Map<ServerTransaction, PendingInvite>();
  /** Calls in setup per caller address (blocktoomuchpendingsession); only non-zero counts. */
  readonly #pendingPerIp = new Map<string, number>();

  constructor(ctx: ProxyContext, calls: Calls, routing: RoutingPorts, policy: CallPolicy) {
    this.#ctx = ctx;
    this.#calls = calls;
    this.#routing = routing;
    this.#policy = policy;
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  pendingFrom(ip: string): number {
    return this.#pendingPerIp.get(ip) ?? 0;
  }

  /** §16.6: forwards an admitted INVITE to the first stage of its plan. */
  forward(tx: ServerTransaction, a: Admission): void {
    const { d } = this.#ctx;
    const { req, source } = a;
    const [first, ...later] = a.plan;
    if (first === undefined || first.length === 0)
      return void tx.respond(createResponse(req, 480, 'Temporarily Unavailable'));
    const now = this.#ctx.now();
    const call: CallRecord = {
      state: 'early',
      callId: a.base.callId!,
      caller: {
        endpoint: source,
        aor: a.byAddress ? undefined : a.user,
        tag: a.from.tag,
        nameAddr: req.header('from'),
        contact: contactOf(req),
        cseq: req.cseq().seq,
      },
      // Which branch answers is known at the 2xx; until then, the first target.
      callee: {
        endpoint: first[0]!.dest,
        aor: first[0]!.aor,
        tag: undefined,
        nameAddr: undefined,
        contact: undefined,
        cseq: 0,
      },
      user: callerName(a),
      createdAt: now,
      answeredAt: undefined,
      lastSeen: now,
      ...(first[0]!.trunk === undefined ? {} : { route: `${first[0]!.route}→${first[0]!.trunk}` }),
    };
    if (!this.#calls.open(call, a)) {
      d.report({ ...a.base, kind: 'call-end', durationSeconds: 0 });
      this.#calls.refused(a, 400, 'Call-ID In Use');
      return void tx.respond(createResponse(req, 400, 'Call-ID In Use'));
    }
    // The offer's SDP: refused here (488, 503 when no relay port is left), or rewritten on
    // every branch (#startBranch) to the relay's ports.
    const refused = this.#ctx.media?.refusal(req, call, 'caller');
    if (refused !== undefined) {
      this.#calls.finish(call, { side: 'proxy', reason: 'sdp', status: refused.status });
      return void tx.respond(createResponse(req, refused.status, refused.reason));
    }
    const pending: PendingInvite = {
      call,
      a,
      branches: [],
      later,
      redirects: 0,
      best: undefined,
      winner: undefined,
      provisional: false,
      cancelled: false,
      finished: false,
    };
    this.#pending.set(tx, pending);
    this.#pendingPerIp.set(source.ip, this.pendingFrom(source.ip) + 1);
    // No provisional within callinittimeout: the caller is told (408) and every branch is
    // cancelled as soon as it shows up (§9.1: no CANCEL before a provisional).
    this.#startTimer(pending, 'callinittimeout', () => {
      this.#cancelAll(pending);
      this.#finish(tx, pending, createResponse(req, 408, 'No Answer From Callee'), {
        side: 'proxy',
        reason: 'callinittimeout',
        status: 408,
      });
    });
    // Tollgate's own teardown of the setup (calls.ts hangUp: ringtimeout, the admin): the
    // caller gets its final answer now, the callees a CANCEL (now, or at their provisional).
    call.stopSetup = (rule) => {
      this.#cancelAll(pending);
      this.#finish(tx, pending, createResponse(req, 487, 'Request Terminated'), {
        side: 'proxy',
        reason: rule,
        status: 487,
      });
    };
    this.#startStage(tx, pending, first);
  }

  /** Forks the INVITE to every target of a stage (§16.7: parallel search). */
  #startStage(tx: ServerTransaction, pending: PendingInvite, stage: readonly Target[]): void {
    for (const target of stage) {
      if (pending.branches.length >= MAX_BRANCHES) break;
      this.#startBranch(tx, pending, target);
    }
  }

  #startBranch(tx: ServerTransaction, pending: PendingInvite, target: Target): void {
    const { d, config } = this.#ctx;
    const { req, source } = pending.a;
    const dest = target.dest;
    const out = towardsBinding(req, target.uriText, target.uri, d.own);
    const hide = !config.forwardclientaddress;
    if (hide) {
      hideRequestPath(out);
      hideContact(out, d.own, dest.transport, dest.ip);
    }
    const rr = recordRoutes(
      d.own,
      { transport: source.transport, ip: source.ip, sips: req.uri.scheme === 'sips' },
      { transport: dest.transport, ip: dest.ip, sips: target.uri.scheme === 'sips' },
    );
    addRecordRoute(out, rr);
    stripOwnCredentials(out, d.auth.realm);
    applySessionPolicy(out, config);
    this.#ctx.media?.rewrite(out, pending.call, 'caller');
    pushVia(out, dest.transport, d.own.advertised(dest.transport, dest.ip), ownBranch());
    const route: BranchRoute = { tx, pending, branch: undefined, answered: undefined };
    const branch: Branch = {
      target,
      route,
      forwarded: out,
      recordRoutes: rr,
      client: undefined,
      heard: false,
      final: undefined,
      cancelSent: false,
      timer: undefined,
    };
    route.branch = branch;
    pending.branches.push(branch);
    if (target.answerMs !== undefined) {
      branch.timer = this.#ctx.clock.setTimeout(() => {
        branch.timer = undefined;
        if (branch.heard || branch.final !== undefined) return;
        d.log.info({ callId: pending.call.callId, trunk: target.trunk }, 'trunk did not answer');
        this.#failed(tx, pending, branch, createResponse(out, 408, 'Trunk Did Not Answer'));
      }, target.answerMs);
    }
    try {
      branch.client = d.transactions.sendRequest(out, dest, this.#handlers(route));
    } catch (err) {
      d.log.warn({ ip: dest.ip, port: dest.port, err }, 'INVITE not forwarded');
      this.#failed(tx, pending, branch, createResponse(out, 503, 'Service Unavailable'));
    }
  }

  /** A branch's handlers: a closure over its route alone (nothing else of this call). */
  #handlers(route: BranchRoute): ClientHandlers {
    return { onResponse: (res) => this.#routeResponse(route, res), finalToTuOnly: true };
  }

  #routeResponse(route: BranchRoute, res: SipResponse): void {
    const { pending, branch, answered } = route;
    if (pending !== undefined && branch !== undefined) {
      this.#response(route.tx, pending, branch, res);
      // A 3xx-6xx (or the transaction's own 408/503) is the last thing it passes on.
      if (res.status >= 300 && route.answered === undefined)
        route.pending = route.branch = undefined;
      return;
    }
    // The winning 2xx, again (RFC 6026 §7.2: the transaction passes only 2xx in Accepted).
    if (answered === undefined || res.status < 200 || res.status >= 300) return;
    this.#ctx.media?.rewrite(res, answered.call, 'callee');
    if (this.#toCaller(answered.source, answered.original, answered.recordRoutes, res))
      route.tx.respond(res);
  }

  /**
   * After the winning 2xx: what its retransmissions need, and nothing else, stays. Header
   * values are slices of the INVITE's text and would keep all of it for those 32 s: copies.
   */
  #slim(pending: PendingInvite, branch: Branch): void {
    const { call, a } = pending;
    const party = (p: MediaCall['caller']) => ({
      endpoint: p.endpoint,
      ...(p.aor === undefined ? {} : { aor: detach(p.aor) }),
    });
    const vias = a.req.headerValues('via').map(detach);
    const recordRoutes = a.req.headerValues('record-route').map(detach);
    branch.route.answered = {
      call: {
        callId: detach(call.callId),
        caller: party(call.caller),
        callee: party(call.callee),
        ...(call.kind === undefined ? {} : { kind: call.kind }),
        ...(call.route === undefined ? {} : { route: detach(call.route) }),
      },
      source: a.source,
      original: { headerValues: (name) => (name === 'via' ? vias : recordRoutes) },
      recordRoutes: branch.recordRoutes,
    };
    branch.route.pending = branch.route.branch = undefined;
  }

  /** §16.7: every response of one branch. */
  #response(tx: ServerTransaction, pending: PendingInvite, branch: Branch, res: SipResponse): void {
    branch.heard = true;
    this.#ctx.clock.clearTimeout(branch.timer);
    if (res.status === 100) {
      // hop by hop: the server transaction sent its own; a CANCEL may now go (§9.1)
      if (pending.cancelled || pending.winner !== undefined) this.#sendCancel(branch);
      return;
    }
    if (res.status >= 200 && res.status < 300) {
      this.#success(tx, pending, branch, res);
      return;
    }
    if (branch.final !== undefined) return; // late answer of a branch given up on
    if (res.status < 200) {
      if (pending.cancelled || pending.winner !== undefined || pending.finished) {
        this.#sendCancel(branch);
        return;
      }
      this.#provisional(pending, branch, res);
      this.#ctx.media?.rewrite(res, pending.call, 'callee'); // early media (183)
      if (this.#toCaller(pending.a.source, pending.a.req, branch.recordRoutes, res))
        tx.respond(res);
      return;
    }
    if (res.status < 400 && this.#recurse(tx, pending, branch, res)) return;
    this.#failed(tx, pending, branch, res);
  }

  /** A 1xx: ringtimeout starts at the first; the early dialog's tag is learnt. */
  #provisional(pending: PendingInvite, branch: Branch, res: SipResponse): void {
    const call = pending.call;
    if (!pending.provisional && call.state === 'early') {
      // Ringing from now on: ended after ringtimeout (CANCEL down, 487 up).
      this.#startTimer(pending, 'ringtimeout', () => this.#calls.hangUp(call, 'ringtimeout'));
    }
    pending.provisional = true;
    const toTag = res.tryView('to');
    if (call.callee.tag === undefined && toTag.ok && toTag.value.tag !== undefined) {
      call.callee.tag = toTag.value.tag;
      call.callee.endpoint = branch.target.dest;
    }
  }

  /** A 2xx: the first one wins (§16.7 step 5); another branch's is ended by us. */
  #success(tx: ServerTransaction, pending: PendingInvite, branch: Branch, res: SipResponse): void {
    if (pending.winner !== undefined && pending.winner !== branch) {
      return void this.#dropAnswer(branch, res);
    }
    if (pending.winner === undefined && pending.finished) {
      // The caller was told 408 already: this answer has nobody to go to.
      return void this.#dropAnswer(branch, res);
    }
    const first = pending.winner === undefined;
    branch.final = res.status;
    this.#ctx.media?.rewrite(res, pending.call, 'callee');
    if (first) {
      pending.winner = branch;
      this.#settle(tx, pending);
      for (const other of pending.branches) {
        this.#ctx.clock.clearTimeout(other.timer);
        if (other !== branch) this.#sendCancel(other);
      }
      this.#answered(pending, branch, res);
    }
    // Further 2xx of the same branch (RFC 6026) pass the Accepted server transaction too.
    if (this.#toCaller(pending.a.source, pending.a.req, branch.recordRoutes, res)) tx.respond(res);
    pending.finished = true;
    if (first) this.#slim(pending, branch);
  }

  /**
   * The call is answered by `branch`: the dialog's callee is that branch's end (its flow, its
   * account), then calls.answered (once: confirmed, limits and timers start).
   */
  #answered(pending: PendingInvite, branch: Branch, res: SipResponse): void {
    const call = pending.call;
    if (call.state !== 'early') return;
    call.callee.endpoint = branch.target.dest;
    (call.callee as { aor?: string | undefined }).aor = branch.target.aor;
    if (branch.target.trunk !== undefined)
      call.route = `${branch.target.route}→${branch.target.trunk}`;
    this.#calls.answered(call, branch.forwarded, res);
    this.#ctx.media?.answered(call);
  }

  /**
   * 3xx: its Contacts become new branches when securemove and allownoauthfork allow,
   * within the bounds on redirects and branches. False: not followed (a final like others).
   */
  #recurse(
    tx: ServerTransaction,
    pending: PendingInvite,
    branch: Branch,
    res: SipResponse,
  ): boolean {
    if (pending.cancelled || pending.finished) return false;
    const targets = redirectTargets(res, {
      ctx: this.#ctx,
      routing: this.#routing,
      policy: this.#policy,
      authenticated: pending.a.user !== undefined,
      fromLocalUser: branch.target.aor !== undefined,
      redirects: pending.redirects,
      tried: pending.branches.map((b) => b.target),
    });
    if (targets.length === 0) return false;
    branch.final = res.status;
    pending.redirects++;
    this.#ctx.d.log.info(
      { callId: pending.call.callId, status: res.status, targets: targets.length },
      'redirect followed',
    );
    for (const t of targets) this.#startBranch(tx, pending, t);
    return true;
  }

  /** A branch failed (its final, or our timeout / transport error for it). */
  #failed(tx: ServerTransaction, pending: PendingInvite, branch: Branch, res: SipResponse): void {
    if (branch.final !== undefined) return;
    branch.final = res.status;
    this.#ctx.clock.clearTimeout(branch.timer);
    if (pending.finished || pending.winner !== undefined) return;
    pending.best = betterFinal(pending.best, res);
    // §16.7 step 5: a 6xx ends the search; the branches still ringing are cancelled.
    if (res.status >= 600) this.#cancelAll(pending);
    if (pending.branches.some((b) => b.final === undefined)) return;
    const best = pending.best;
    if (!pending.cancelled && failsOver(best.status) && pending.later.length > 0) {
      const next = pending.later.shift()!;
      this.#ctx.d.log.info(
        { callId: pending.call.callId, status: best.status, next: next[0]?.trunk },
        'failover to the next route',
      );
      pending.best = undefined;
      this.#startStage(tx, pending, next);
      return;
    }
    // §16.7 step 6: a 503 would tell the caller *we* are unavailable: it becomes 500.
    const answer =
      best.status === 503 ? createResponse(pending.a.req, 500, 'No Route Available') : best;
    if (answer === best && !this.#toCaller(pending.a.source, pending.a.req, undefined, best))
      return;
    const reason = `${best.status} ${best.reason}`.slice(0, 100);
    this.#finish(tx, pending, answer, { side: 'callee', reason, status: answer.status });
  }

  /** The final non-2xx answer to the caller: the call failed (calls.finish). Once. */
  #finish(tx: ServerTransaction, pending: PendingInvite, res: SipResponse, end: CallEnd): void {
    if (pending.finished) return;
    pending.finished = true;
    this.#settle(tx, pending);
    const timers = pending.call.timers;
    timers?.stop('callinittimeout');
    timers?.stop('ringtimeout');
    for (const b of pending.branches) this.#ctx.clock.clearTimeout(b.timer);
    this.#calls.finish(pending.call, end);
    tx.respond(res);
  }

  /**
   * A response of a branch (with our Record-Routes on it, `recordRoutes`) made ready for the
   * caller at `source`, who sent `original`: our Via off (false when nothing is left under
   * it: not ours to relay), and with topology hiding the caller's own path back and the
   * callee's Contact replaced by ours. `recordRoutes` undefined: one of ours (already
   * addressed).
   */
  #toCaller(
    source: Endpoint,
    original: Pick<SipRequest, 'headerValues'>,
    recordRoutes: readonly string[] | undefined,
    res: SipResponse,
  ): boolean {
    const { d, config } = this.#ctx;
    const hide = !config.forwardclientaddress;
    if (!popTopVia(res) && !hide) return false;
    if (!hide) return true;
    restoreResponsePath(res, original, recordRoutes);
    // A redirect's Contacts are where to call next, not where the callee is: left as they are.
    if (res.status < 300) hideContact(res, d.own, source.transport, source.ip);
    return true;
  }

  /** The INVITE got its final answer (or timed out): no longer in setup. Once per call. */
  #settle(tx: ServerTransaction, pending: PendingInvite): void {
    if (!this.#pending.delete(tx)) return;
    const ip = pending.call.caller.endpoint.ip;
    const left = this.pendingFrom(ip) - 1;
    if (left > 0) this.#pendingPerIp.set(ip, left);
    else this.#pendingPerIp.delete(ip);
  }

  /** callinittimeout until the first provisional, then ringtimeout (the call's timers). */
  #startTimer(
    pending: PendingInvite,
    key: 'callinittimeout' | 'ringtimeout',
    fire: () => void,
  ): void {
    const { config, d } = this.#ctx;
    const timers = pending.call.timers;
    timers?.stop('callinittimeout');
    timers?.start(key, config[key] * 1000, () => {
      d.log.info({ callId: pending.call.callId, rule: key }, 'call timed out');
      fire();
    });
  }

  /** §9.2, §16.10: the CANCEL of an INVITE in progress. */
  cancel(tx: ServerTransaction, req: SipRequest): void {
    const invite = this.#ctx.d.transactions.findInviteFor(req);
    if (invite === undefined) return void tx.respond(createResponse(req, 481));
    tx.respond(createResponse(req, 200));
    const pending = this.#pending.get(invite);
    if (pending === undefined) return; // answered already: nothing left to cancel
    pending.call.ending ??= { side: 'caller', reason: 'CANCEL', status: 487 };
    this.#cancelAll(pending);
  }

  /** Every branch still going is cancelled (now, or when it first answers: §9.1). */
  #cancelAll(pending: PendingInvite): void {
    pending.cancelled = true;
    for (const b of pending.branches) this.#sendCancel(b);
  }

  /** §9.1: the CANCEL of one branch: same Request-URI, Call-ID, From, To, Via as it. */
  #sendCancel(branch: Branch): void {
    const client = branch.client;
    if (branch.cancelSent || client === undefined || !branch.heard) return;
    if (branch.final !== undefined) return;
    branch.cancelSent = true;
    const inv = branch.forwarded;
    // Our Via is a field of its own (pushVia), so the first field is exactly it.
    const fields = [makeHeader('Via', inv.headerValues('via')[0]!)];
    fields.push(makeHeader('Max-Forwards', '70'));
    for (const h of inv.headers)
      if (h.key === 'from' || h.key === 'to' || h.key === 'call-id' || h.key === 'route')
        fields.push(h);
    fields.push(makeHeader('CSeq', `${inv.cseq().seq} CANCEL`));
    const cancel = new SipRequest('CANCEL', inv.uriText, inv.uri, fields, Buffer.alloc(0));
    try {
      this.#ctx.d.transactions.sendRequest(cancel, client.dest, { finalToTuOnly: true });
    } catch (err) {
      this.#ctx.d.log.warn({ ip: client.dest.ip, err }, 'CANCEL not forwarded');
    }
  }

  /**
   * A 2xx nobody will take (another branch won, or the caller was given up on): we are the
   * UAC of that dialog for a moment, so we ACK it (§13.2.2.4) and end it with a BYE, sent
   * straight to where the branch went.
   */
  #dropAnswer(branch: Branch, res: SipResponse): void {
    const { d } = this.#ctx;
    const inv = branch.forwarded;
    const to = res.header('to');
    const target = contactOf(res);
    if (to === undefined) return;
    const uriText = target ?? inv.uriText;
    const send = (method: 'ACK' | 'BYE', seq: number) => {
      const fields = [
        makeHeader('Max-Forwards', '70'),
        makeHeader('From', inv.header('from') ?? ''),
        makeHeader('To', to),
        makeHeader('Call-ID', inv.header('call-id') ?? ''),
        makeHeader('CSeq', `${seq} ${method}`),
      ];
      const req = new SipRequest(method, uriText, branch.target.uri, fields, Buffer.alloc(0));
      const dest = branch.target.dest;
      const at = d.own.advertised(dest.transport, dest.ip);
      const vbranch =
        method === 'ACK' ? statelessBranch(`${inv.topVia()?.branch}:${to}`, 'ack2xx') : ownBranch();
      pushVia(req, dest.transport, at, vbranch);
      try {
        if (method === 'ACK') d.transactions.sendStateless(req, dest);
        else d.transactions.sendRequest(req, dest, { finalToTuOnly: true });
      } catch (err) {
        d.log.warn({ ip: dest.ip, err }, `${method} of an unwanted answer not sent`);
      }
    };
    const seq = inv.cseq().seq;
    send('ACK', seq);
    send('BYE', seq + 1);
  }
}
