// The proxy core (RFC 3261 §16): a record-routing, transaction-stateful proxy for the one
// domain tollgate serves.
//
//   INVITE (no To tag)   admission (call-policy.ts, digest with 407, the guard's per-IP call
//                        limits) → the callee's best binding → forwarded to where that
//                        binding's REGISTER came from (NAT) → responses relayed back
//   CANCEL               200 at once, CANCEL downstream once a provisional came (§9.1); the
//                        callee's 487 is relayed as the INVITE's answer (§16.10)
//   in-dialog requests   (To tag, ACK of a 2xx) our Route entry removed (§16.4); routed to the
//                        other end recorded in dialogs.ts, only from the dialog's own ends
//   ACK of a non-2xx     absorbed hop by hop by the transaction layer (§17.1.1.3)
//
// Only the highest-q binding is tried: no parallel or serial forking (§16.6 allows one
// target). Calls to other domains are never routed (call-policy.ts says why and answers).
// Every auth outcome, refusal and call is reported to the guard (SecurityReport).
import type { Settings } from '../../config/settings.ts';
import type { Logger } from '../../log.ts';
import type { IpAccount, SecurityReport, SecurityVerdict } from '../../policy-port.ts';
import type { DigestAuthenticator } from '../auth/authenticator.ts';
import {
  BRANCH_MAGIC_COOKIE,
  createResponse,
  DEFAULT_LIMITS,
  isSipUri,
  makeHeader,
  parseUri,
  SipRequest,
  type SipResponse,
} from '../message/index.ts';
import { type BindingStore, transportRefusal } from '../registrar/bindings.ts';
import {
  type ClientTransaction,
  type Clock,
  type Endpoint,
  newBranch,
  type ServerTransaction,
  systemClock,
  type TimerHandle,
  type TransactionLayer,
} from '../transaction/index.ts';
import type { Destination } from '../transport/types.ts';
import type { OwnAddresses } from './addresses.ts';
import { CallPolicy } from './call-policy.ts';
import { type CallParty, type CallRecord, DialogTable } from './dialogs.ts';
import {
  addRecordRoute,
  copyRequest,
  decrementMaxForwards,
  hasOwnVia,
  isAnonymous,
  OWN_BRANCH_PREFIX,
  popOwnRoutes,
  popTopVia,
  pushVia,
  statelessBranch,
  stripOwnCredentials,
} from './forward.ts';
import { recordRoutes } from './record-route.ts';

export interface ProxyDeps {
  transactions: Pick<TransactionLayer, 'sendRequest' | 'sendStateless' | 'findInviteFor'>;
  bindings: Pick<BindingStore, 'lookup'>;
  auth: DigestAuthenticator;
  settings: Settings;
  log: Logger;
  /** To the guard; its verdict on a call-start decides whether the call goes ahead. */
  report: (event: SecurityReport) => SecurityVerdict | undefined;
  own: OwnAddresses;
  /** Whether an account exists (404 vs 480 for an authenticated caller). Unknown: 480. */
  userExists?: (name: string) => boolean;
  /** The account a caller without credentials is, by address and tech prefix (UserService). */
  ipAuthenticate?: (ip: string, dialled: string) => IpAccount | undefined;
  /** Wall-clock ms, for call durations. */
  now?: () => number;
  dialogs?: { capacity?: number; idleMs?: number };
  /** Timers for callinittimeout / ringtimeout (tests pass the harness's fake clock). */
  clock?: Clock;
}

/** An INVITE we forwarded and whose final answer has not come yet. */
interface PendingInvite {
  readonly call: CallRecord;
  readonly forwarded: SipRequest;
  client: ClientTransaction | undefined;
  provisional: boolean;
  cancelled: boolean;
  cancelSent: boolean;
  /** callinittimeout until the first provisional, then ringtimeout until the answer. */
  timer: TimerHandle | undefined;
}

export interface ProxyStats {
  calls: number;
  pendingInvites: number;
}

export class SipProxy {
  readonly #d: ProxyDeps;
  readonly #now: () => number;
  readonly #clock: Clock;
  readonly #policy: CallPolicy;
  readonly #dialogs: DialogTable;
  readonly #pending = new Map<ServerTransaction, PendingInvite>();
  /** Calls in setup per caller address (blocktoomuchpendingsession); only non-zero counts. */
  readonly #pendingPerIp = new Map<string, number>();

  constructor(deps: ProxyDeps) {
    this.#d = deps;
    this.#now = deps.now ?? Date.now;
    this.#clock = deps.clock ?? systemClock;
    this.#policy = new CallPolicy(deps.settings, deps.own);
    this.#dialogs = new DialogTable(deps.dialogs ?? {}, (call, now) => {
      deps.log.info({ ip: call.caller.endpoint.ip, callId: call.callId }, 'idle call forgotten');
      this.#ended(call, now);
    });
  }

  get stats(): ProxyStats {
    return { calls: this.#dialogs.size, pendingInvites: this.#pending.size };
  }

  /** A request that opened a server transaction (not REGISTER/OPTIONS: the service's). */
  handleRequest(tx: ServerTransaction, req: SipRequest): void {
    if (req.method === 'CANCEL') return void this.#cancel(tx, req);
    const to = req.tryView('to');
    if (to.ok && to.value.tag !== undefined) return void this.#inDialog(req, tx.source, tx);
    if (req.method === 'INVITE') return void this.#invite(tx, req);
    // A BYE (or any other request) outside a dialog refers to nothing we know (§15.1.2).
    tx.respond(createResponse(req, 481));
  }

  /** An ACK the transaction layer did not absorb: the ACK of a 2xx, routed in the dialog. */
  handleAck(ack: SipRequest, source: Endpoint): void {
    this.#inDialog(ack, source, undefined);
  }

  /**
   * A response no client transaction matches. Only a retransmitted 2xx of an INVITE of a
   * call we set up is forwarded (RFC 6026 §7.3), statelessly along the Via; anything else is
   * dropped, so forged responses cannot use us as a reflector.
   */
  handleStrayResponse(res: SipResponse): void {
    if (res.status < 200 || res.status >= 300) return;
    const cseq = res.tryView('cseq');
    const callId = res.tryView('callId');
    const vias = res.tryView('via');
    if (!cseq.ok || cseq.value.method !== 'INVITE' || !callId.ok || !vias.ok) return;
    const call = this.#dialogs.get(callId.value, this.#now());
    const ours = vias.value[0];
    const next = vias.value[1];
    if (!call || !ours || !next || !this.#d.own.isOwnSentBy(ours.host, ours.port)) return;
    const caller = call.caller.endpoint;
    if ((next.received ?? next.host) !== caller.ip) return;
    popTopVia(res);
    this.#d.transactions.sendStateless(res, caller);
  }

  // ── INVITE ─────────────────────────────────────────────────────────────────────────────

  #invite(tx: ServerTransaction, req: SipRequest): void {
    const { auth, own } = this.#d;
    const source = tx.source;
    const callId = req.callId();
    const userAgent = req.header('user-agent')?.slice(0, 200);
    const base = {
      ip: source.ip,
      port: source.port,
      method: 'INVITE',
      callId,
      ...(userAgent ? { userAgent } : {}),
    };
    const respond = (status: number, reason?: string) =>
      tx.respond(createResponse(req, status, reason));

    // §16.3 step 4: a request that already carries our Via has looped back to us.
    if (hasOwnVia(req, own)) return void respond(482);

    const from = req.from();
    const fromUser = isSipUri(from.uri) ? from.uri.user?.slice(0, 128) : undefined;
    let target = this.#policy.target(req.uri);
    const anonymous = isAnonymous(from);
    const refuse = (status: number, reason: string, detail: string, user = fromUser) => {
      this.#d.report({ ...base, kind: 'unauthorized', detail, ...(user ? { user } : {}) });
      respond(status, reason);
    };

    if (target.kind === 'other' && this.#policy.forwardOthers() === 0)
      return void refuse(403, 'Calls To Other Domains Not Allowed', 'fwdtootherdomains=0');

    // Digest on the INVITE (RFC 3261 §22.3): 407 + Proxy-Authenticate; without credentials,
    // an account may be recognised by its address (needauth 1) and tech prefix (needauth 3).
    const outcome = auth.verify(req, source.ip, true);
    const byAddress =
      !outcome.ok && outcome.failure === 'missing' && target.kind === 'local'
        ? this.#d.ipAuthenticate?.(source.ip, target.user)
        : undefined;
    let user: string | undefined;
    if (outcome.ok) {
      user = outcome.user;
      this.#d.report({ ...base, kind: 'auth-ok', user });
    } else if (byAddress) {
      user = byAddress.name;
      target = { kind: 'local', user: byAddress.dialled };
      this.#d.report({ ...base, kind: 'auth-ok', user, detail: 'by address' });
    } else if (outcome.failure !== 'missing' && outcome.failure !== 'stale') {
      const named = outcome.user ?? fromUser;
      this.#d.report({
        ...base,
        kind: 'auth-fail',
        detail: outcome.failure,
        ...(named ? { user: named } : {}),
      });
      if (outcome.status !== 401) return void respond(outcome.status);
      return void tx.respond(auth.challenge(createResponse(req, 407), source.ip, false, req));
    } else if (this.#policy.needsAuth(target, from.uri, anonymous)) {
      this.#d.report({
        ...base,
        kind: 'auth-challenge',
        detail: outcome.failure,
        ...(fromUser ? { user: fromUser } : {}),
      });
      const challenge = auth.challenge(
        createResponse(req, 407),
        source.ip,
        outcome.stale ?? false,
        req,
      );
      return void tx.respond(challenge);
    }

    if (user !== undefined && !byAddress) {
      const refusal = transportRefusal(
        Number(this.#d.settings.get('stricttransport')),
        this.#d.bindings.lookup(user),
        source.transport,
      );
      if (refusal) return void refuse(403, refusal, `stricttransport: ${refusal}`, user);
    }
    if (user !== undefined && !byAddress) {
      if (!anonymous && fromUser !== user && !this.#policy.anyCallerId())
        return void refuse(
          403,
          'Caller ID Not Allowed',
          'From is not the authenticated user',
          user,
        );
    } else if (target.kind === 'other' && this.#policy.blockOthers()) {
      return void refuse(403, 'Domain Not Served', 'blockotherdomains=1');
    }
    if (target.kind === 'other') {
      this.#d.log.info({ ip: source.ip, user, host: target.host }, 'call to another domain');
      return void respond(404, 'Other Domains Not Routed');
    }

    const binding = this.#d.bindings.lookup(target.user)[0];
    if (binding === undefined) {
      // Only an authenticated caller learns whether the account exists (no enumeration).
      if (user === undefined)
        return void refuse(404, 'Not Found', 'callee unknown or not registered', target.user);
      const known = this.#d.userExists?.(target.user) ?? true;
      return void respond(known ? 480 : 404);
    }

    const now = this.#now();
    if (!this.#dialogs.hasRoom(now)) return void respond(503, 'Too Many Calls');
    if (
      this.#d.settings.get('blocktoomuchpendingsession') &&
      (this.#pendingPerIp.get(source.ip) ?? 0) >=
        this.#d.settings.get<number>('maxpendingsessionsperip')
    ) {
      return void refuse(
        503,
        'Too Many Pending Calls',
        'blocktoomuchpendingsession',
        user ?? fromUser,
      );
    }
    const caller = user ?? fromUser ?? '';
    const verdict = this.#d.report({
      ...base,
      kind: 'call-start',
      ...(caller ? { user: caller } : {}),
    });
    if (verdict !== undefined && verdict.action !== 'pass') {
      this.#d.log.info(
        { ip: source.ip, port: source.port, user: caller, rule: verdict.rule },
        'call refused',
      );
      return void respond(403, verdict.rule ? `Call Limit Reached (${verdict.rule})` : 'Forbidden');
    }

    const contact = parseUri(binding.contact, req.limits.maxUriBytes);
    if (!contact.ok) return void respond(480, 'Bad Contact Registered');
    // The flow the callee registered over (RFC 5626 §5.3): its connection while it is open.
    const dest: Destination = {
      transport: binding.transport,
      ip: binding.ip,
      port: binding.port,
      ...(binding.connectionId === undefined ? {} : { connectionId: binding.connectionId }),
    };
    const call: CallRecord = {
      callId,
      caller: {
        endpoint: source,
        tag: from.tag,
        nameAddr: req.header('from'),
        contact: contactOf(req),
        cseq: req.cseq().seq,
      },
      callee: { endpoint: dest, tag: undefined, nameAddr: undefined, contact: undefined, cseq: 0 },
      user: caller,
      createdAt: now,
      answeredAt: undefined,
      lastSeen: now,
    };
    if (!this.#dialogs.add(call, now)) {
      this.#d.report({ ...base, kind: 'call-end', durationSeconds: 0 });
      return void respond(400, 'Call-ID In Use');
    }

    // §16.6: copy, new Request-URI (the contact), Max-Forwards, Record-Route, our Via.
    const out = copyRequest(req);
    out.uriText = binding.contact;
    out.uri = contact.uri;
    popOwnRoutes(out, own);
    decrementMaxForwards(out);
    addRecordRoute(
      out,
      recordRoutes(
        own,
        { transport: source.transport, ip: source.ip, sips: req.uri.scheme === 'sips' },
        { transport: dest.transport, ip: dest.ip, sips: contact.uri.scheme === 'sips' },
      ),
    );
    stripOwnCredentials(out, auth.realm);
    pushVia(out, dest.transport, own.advertised(dest.transport, dest.ip), ownBranch());
    const pending: PendingInvite = {
      call,
      forwarded: out,
      client: undefined,
      provisional: false,
      cancelled: false,
      cancelSent: false,
      timer: undefined,
    };
    this.#pending.set(tx, pending);
    this.#pendingPerIp.set(source.ip, (this.#pendingPerIp.get(source.ip) ?? 0) + 1);
    // No provisional within callinittimeout: the caller is told (408) and the INVITE is
    // cancelled as soon as the callee shows up (§9.1: no CANCEL before a provisional).
    this.#startTimer(pending, 'callinittimeout', () => {
      pending.cancelled = true;
      this.#settle(tx, pending);
      if (call.answeredAt === undefined && this.#dialogs.remove(call.callId) === call) {
        this.#ended(call, this.#now());
      }
      tx.respond(createResponse(req, 408, 'No Answer From Callee'));
    });
    try {
      pending.client = this.#d.transactions.sendRequest(out, dest, {
        onResponse: (res) => this.#inviteResponse(tx, pending, res),
      });
    } catch (err) {
      this.#d.log.warn({ ip: dest.ip, port: dest.port, err }, 'INVITE not forwarded');
      this.#inviteResponse(tx, pending, createResponse(out, 503, 'Service Unavailable'));
    }
  }

  /** §16.7: every response of the forwarded INVITE, back to the caller. */
  #inviteResponse(tx: ServerTransaction, pending: PendingInvite, res: SipResponse): void {
    if (res.status === 100) return; // hop by hop: the server transaction sent its own
    if (!popTopVia(res)) return;
    const call = pending.call;
    const now = this.#now();
    const toTag = res.tryView('to');
    if (res.status < 200) {
      if (!pending.provisional) {
        // Ringing from now on: cancelled after ringtimeout; the callee's 487 reaches the caller.
        this.#startTimer(pending, 'ringtimeout', () => {
          pending.cancelled = true;
          this.#sendCancel(pending);
        });
      }
      pending.provisional = true;
      // Early dialog (no forking here, so the provisional's tag is the callee's).
      if (call.callee.tag === undefined && toTag.ok) call.callee.tag = toTag.value.tag;
      if (pending.cancelled) this.#sendCancel(pending);
      tx.respond(res);
      return;
    }
    this.#settle(tx, pending);
    this.#clock.clearTimeout(pending.timer);
    if (res.status < 300) {
      if (call.answeredAt === undefined) {
        call.answeredAt = now;
        if (toTag.ok) call.callee.tag = toTag.value.tag;
        call.callee.nameAddr = res.header('to');
        call.callee.contact = contactOf(res);
        this.#dialogs.touch(call, now);
        const limit = this.#d.settings.get<number>('absolutetimeout') * 1000;
        call.limit = this.#clock.setTimeout(() => this.#hangUp(call), limit);
      }
      tx.respond(res); // further 2xx (RFC 6026) pass the Accepted server transaction too
      return;
    }
    if (call.answeredAt === undefined && this.#dialogs.remove(call.callId) === call)
      this.#ended(call, now);
    tx.respond(res);
  }

  /** The INVITE got its final answer (or timed out): no longer in setup. Once per call. */
  #settle(tx: ServerTransaction, pending: PendingInvite): void {
    if (!this.#pending.delete(tx)) return;
    const ip = pending.call.caller.endpoint.ip;
    const left = (this.#pendingPerIp.get(ip) ?? 1) - 1;
    if (left > 0) this.#pendingPerIp.set(ip, left);
    else this.#pendingPerIp.delete(ip);
  }

  #startTimer(
    pending: PendingInvite,
    key: 'callinittimeout' | 'ringtimeout',
    fire: () => void,
  ): void {
    this.#clock.clearTimeout(pending.timer);
    const ms = this.#d.settings.get<number>(key) * 1000;
    pending.timer = this.#clock.setTimeout(() => {
      pending.timer = undefined;
      this.#d.log.info({ callId: pending.call.callId, rule: key }, 'call timed out');
      fire();
    }, ms);
  }

  // ── CANCEL (§9.2, §16.10) ───────────────────────────────────────────────────────────────

  #cancel(tx: ServerTransaction, req: SipRequest): void {
    const invite = this.#d.transactions.findInviteFor(req);
    if (invite === undefined) return void tx.respond(createResponse(req, 481));
    tx.respond(createResponse(req, 200));
    const pending = this.#pending.get(invite);
    if (pending === undefined) return; // answered already: nothing left to cancel
    pending.cancelled = true;
    // §9.1: no CANCEL before a provisional response; it goes out when one arrives.
    if (pending.provisional) this.#sendCancel(pending);
  }

  /** §9.1: the CANCEL of our forwarded INVITE: same Request-URI, Call-ID, From, To, Via. */
  #sendCancel(pending: PendingInvite): void {
    const client = pending.client;
    if (pending.cancelSent || client === undefined) return;
    pending.cancelSent = true;
    const inv = pending.forwarded;
    // Our Via is a field of its own (pushVia), so the first field is exactly it.
    const fields = [makeHeader('Via', inv.headerValues('via')[0]!)];
    fields.push(makeHeader('Max-Forwards', '70'));
    for (const h of inv.headers)
      if (h.key === 'from' || h.key === 'to' || h.key === 'call-id' || h.key === 'route')
        fields.push(h);
    fields.push(makeHeader('CSeq', `${inv.cseq().seq} CANCEL`));
    const cancel = new SipRequest('CANCEL', inv.uriText, inv.uri, fields, Buffer.alloc(0));
    try {
      this.#d.transactions.sendRequest(cancel, client.dest, {});
    } catch (err) {
      this.#d.log.warn({ ip: client.dest.ip, err }, 'CANCEL not forwarded');
    }
  }

  // ── in-dialog requests (§16.4, §16.12) ──────────────────────────────────────────────────

  #inDialog(req: SipRequest, source: Endpoint, tx: ServerTransaction | undefined): void {
    const now = this.#now();
    const refuse = (status: number) => tx?.respond(createResponse(req, status));
    // An ACK reaches us unchecked (no transaction, no validateRequest): read defensively, and
    // never forward one that has no hop left.
    const callId = req.tryView('callId');
    if (!callId.ok) return;
    const hops = req.tryView('maxForwards');
    if (!hops.ok || hops.value === 0) return void refuse(483);
    const call = this.#dialogs.get(callId.value, now);
    if (call === undefined) return void refuse(481);
    const fromTag = req.tryView('from');
    const tag = fromTag.ok ? fromTag.value.tag : undefined;
    let sender: CallRecord['caller'];
    let receiver: CallRecord['caller'];
    if (tag !== undefined && tag === call.caller.tag) {
      sender = call.caller;
      receiver = call.callee;
    } else if (tag !== undefined && tag === call.callee.tag) {
      sender = call.callee;
      receiver = call.caller;
    } else return void refuse(481);
    // Only the dialog's own ends may use it: a Call-ID and tags seen on the wire are not
    // enough to tear down someone's call or to relay through us.
    if (source.ip !== sender.endpoint.ip) return void refuse(481);
    const cseq = req.tryView('cseq');
    if (cseq.ok && req.method !== 'ACK') sender.cseq = Math.max(sender.cseq, cseq.value.seq);

    const out = copyRequest(req);
    popOwnRoutes(out, this.#d.own);
    decrementMaxForwards(out);
    stripOwnCredentials(out, this.#d.auth.realm);
    const dest = receiver.endpoint;
    const at = this.#d.own.advertised(dest.transport, dest.ip);
    this.#dialogs.touch(call, now);
    if (req.method === 'ACK') {
      pushVia(out, dest.transport, at, statelessBranch(req.topVia()?.branch, 'ack'));
      this.#d.transactions.sendStateless(out, dest);
      return;
    }
    if (tx === undefined) return;
    pushVia(out, dest.transport, at, ownBranch());
    const isBye = req.method === 'BYE';
    try {
      this.#d.transactions.sendRequest(out, dest, {
        onResponse: (res) => {
          if (res.status === 100 || !popTopVia(res)) return;
          if (isBye && res.status >= 200 && this.#dialogs.remove(call.callId) === call)
            this.#ended(call, this.#now());
          tx.respond(res);
        },
      });
    } catch (err) {
      this.#d.log.warn({ ip: dest.ip, port: dest.port, err }, `${req.method} not forwarded`);
      tx.respond(createResponse(req, 503));
    }
  }

  /**
   * absolutetimeout: the call has lasted as long as it may. A record-routing proxy is in the
   * middle of the dialog, so it can end it like either party would: a BYE to each end, in
   * that end's dialog terms (its tags, its Contact, a CSeq above any the other end used).
   */
  #hangUp(call: CallRecord): void {
    if (this.#dialogs.remove(call.callId) !== call) return;
    const { caller, callee } = call;
    this.#d.log.warn(
      { ip: caller.endpoint.ip, user: call.user, callId: call.callId, rule: 'absolutetimeout' },
      'call torn down',
    );
    this.#sendBye(call, callee, caller);
    this.#sendBye(call, caller, callee);
    this.#ended(call, this.#now());
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
    const dest = to.endpoint;
    pushVia(bye, dest.transport, this.#d.own.advertised(dest.transport, dest.ip), ownBranch());
    try {
      this.#d.transactions.sendRequest(bye, dest, {});
    } catch (err) {
      this.#d.log.warn({ ip: dest.ip, port: dest.port, err }, 'BYE not sent');
    }
  }

  /** call-end to the guard: the duration counts for maxdurationperip. */
  #ended(call: CallRecord, now: number): void {
    this.#clock.clearTimeout(call.limit);
    const seconds =
      call.answeredAt === undefined ? 0 : Math.max(0, Math.round((now - call.answeredAt) / 1000));
    const caller = call.caller.endpoint;
    this.#d.report({
      kind: 'call-end',
      ip: caller.ip,
      port: caller.port,
      method: 'BYE',
      callId: call.callId,
      durationSeconds: seconds,
      ...(call.user ? { user: call.user } : {}),
    });
    this.#d.log.info(
      { ip: caller.ip, port: caller.port, user: call.user, callId: call.callId, seconds },
      'call ended',
    );
  }
}

/** A fresh branch of ours (cookie + "tg" + random), so loop detection can recognise it. */
function ownBranch(): string {
  return OWN_BRANCH_PREFIX + newBranch().slice(BRANCH_MAGIC_COOKIE.length);
}

/** The URI of a message's first Contact (a remote target), or undefined. */
function contactOf(m: SipRequest | SipResponse): string | undefined {
  const c = m.tryView('contact');
  return c.ok && !c.value.star ? c.value.list[0]?.uri.raw : undefined;
}
