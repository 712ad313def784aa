// An admitted INVITE, forwarded (§16.6) and followed until its final answer (§16.7), and its
// CANCEL (§9.2, §16.10):
//
//   forward     copy → Request-URI = the callee's contact, our Route entries off, one hop
//               less, our Record-Route(s) (record-route.ts), our credentials off, our Via →
//               sent to where the binding's REGISTER came from (its flow)
//   responses   relayed to the caller; the first provisional starts ringtimeout, a 2xx makes
//               the call answered (absolutetimeout starts), a failure ends it
//   CANCEL      200 at once, CANCEL downstream once a provisional came (§9.1); the callee's
//               487 is relayed as the INVITE's answer
//   timers      callinittimeout until the first provisional (408 to the caller), then
//               ringtimeout until the answer (the INVITE is cancelled)
import {
  createResponse,
  makeHeader,
  parseUri,
  SipRequest,
  type SipResponse,
} from '../message/index.ts';
import type { ClientTransaction, ServerTransaction } from '../transaction/index.ts';
import type { Destination } from '../transport/types.ts';
import { type Admission, callerName } from './admission.ts';
import type { Calls } from './calls.ts';
import { contactOf, ownBranch, type ProxyContext } from './context.ts';
import type { CallRecord } from './dialogs.ts';
import {
  addRecordRoute,
  popTopVia,
  pushVia,
  stripOwnCredentials,
  towardsBinding,
} from './forward.ts';
import { recordRoutes } from './record-route.ts';
import { applySessionPolicy } from './session-timer.ts';

/** An INVITE we forwarded and whose final answer has not come yet. */
interface PendingInvite {
  readonly call: CallRecord;
  readonly forwarded: SipRequest;
  client: ClientTransaction | undefined;
  provisional: boolean;
  cancelled: boolean;
  cancelSent: boolean;
}

export class InviteForwarding {
  readonly #ctx: ProxyContext;
  readonly #calls: Calls;
  readonly #pending = new Map<ServerTransaction, PendingInvite>();
  /** Calls in setup per caller address (blocktoomuchpendingsession); only non-zero counts. */
  readonly #pendingPerIp = new Map<string, number>();

  constructor(ctx: ProxyContext, calls: Calls) {
    this.#ctx = ctx;
    this.#calls = calls;
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  pendingFrom(ip: string): number {
    return this.#pendingPerIp.get(ip) ?? 0;
  }

  /** §16.6: forwards an admitted INVITE (its Admission found the callee's binding). */
  forward(tx: ServerTransaction, a: Admission): void {
    const { d } = this.#ctx;
    const { req, source } = a;
    const binding = a.binding!;
    const respond = (status: number, reason?: string) =>
      tx.respond(createResponse(req, status, reason));
    const contact = parseUri(binding.contact, req.limits.maxUriBytes);
    if (!contact.ok) return void respond(480, 'Bad Contact Registered');
    // The flow the callee registered over (RFC 5626 §5.3): its connection while it is open.
    const dest: Destination = {
      transport: binding.transport,
      ip: binding.ip,
      port: binding.port,
      ...(binding.connectionId === undefined ? {} : { connectionId: binding.connectionId }),
    };
    const now = this.#ctx.now();
    const from = a.from;
    const call: CallRecord = {
      state: 'early',
      callId: a.base.callId!,
      caller: {
        endpoint: source,
        aor: a.byAddress ? undefined : a.user,
        tag: from.tag,
        nameAddr: req.header('from'),
        contact: contactOf(req),
        cseq: req.cseq().seq,
      },
      callee: {
        endpoint: dest,
        aor: binding.aor,
        tag: undefined,
        nameAddr: undefined,
        contact: undefined,
        cseq: 0,
      },
      user: callerName(a),
      createdAt: now,
      answeredAt: undefined,
      lastSeen: now,
    };
    if (!this.#calls.open(call, a)) {
      d.report({ ...a.base, kind: 'call-end', durationSeconds: 0 });
      this.#calls.refused(a, 400, 'Call-ID In Use');
      return void respond(400, 'Call-ID In Use');
    }

    const out = towardsBinding(req, binding.contact, contact.uri, d.own);
    addRecordRoute(
      out,
      recordRoutes(
        d.own,
        { transport: source.transport, ip: source.ip, sips: req.uri.scheme === 'sips' },
        { transport: dest.transport, ip: dest.ip, sips: contact.uri.scheme === 'sips' },
      ),
    );
    stripOwnCredentials(out, d.auth.realm);
    applySessionPolicy(out, this.#ctx.config);
    pushVia(out, dest.transport, d.own.advertised(dest.transport, dest.ip), ownBranch());
    const pending: PendingInvite = {
      call,
      forwarded: out,
      client: undefined,
      provisional: false,
      cancelled: false,
      cancelSent: false,
    };
    this.#pending.set(tx, pending);
    this.#pendingPerIp.set(source.ip, this.pendingFrom(source.ip) + 1);
    // No provisional within callinittimeout: the caller is told (408) and the INVITE is
    // cancelled as soon as the callee shows up (§9.1: no CANCEL before a provisional).
    this.#startTimer(pending, 'callinittimeout', () => {
      pending.cancelled = true;
      this.#settle(tx, pending);
      this.#calls.finish(call, { side: 'proxy', reason: 'callinittimeout', status: 408 });
      tx.respond(createResponse(req, 408, 'No Answer From Callee'));
    });
    // Tollgate's own teardown of the setup (calls.ts hangUp: ringtimeout, the admin): the
    // caller gets its final answer now, the callee a CANCEL (now, or at its first provisional).
    call.stopSetup = (rule) => {
      pending.cancelled = true;
      if (pending.provisional) this.#sendCancel(pending);
      this.#settle(tx, pending);
      this.#calls.finish(call, { side: 'proxy', reason: rule, status: 487 });
      tx.respond(createResponse(req, 487, 'Request Terminated'));
    };
    try {
      pending.client = d.transactions.sendRequest(out, dest, {
        onResponse: (res) => this.#response(tx, pending, res),
      });
    } catch (err) {
      d.log.warn({ ip: dest.ip, port: dest.port, err }, 'INVITE not forwarded');
      this.#response(tx, pending, createResponse(out, 503, 'Service Unavailable'));
    }
  }

  /** §16.7: every response of the forwarded INVITE, back to the caller. */
  #response(tx: ServerTransaction, pending: PendingInvite, res: SipResponse): void {
    if (res.status === 100) return; // hop by hop: the server transaction sent its own
    if (!popTopVia(res)) return;
    const call = pending.call;
    const toTag = res.tryView('to');
    if (res.status < 200) {
      if (!pending.provisional && call.state === 'early') {
        // Ringing from now on: ended after ringtimeout (CANCEL down, 487 up).
        this.#startTimer(pending, 'ringtimeout', () => this.#calls.hangUp(call, 'ringtimeout'));
      }
      pending.provisional = true;
      // Early dialog (no forking here, so the provisional's tag is the callee's).
      if (call.callee.tag === undefined && toTag.ok) call.callee.tag = toTag.value.tag;
      if (pending.cancelled) this.#sendCancel(pending);
      tx.respond(res);
      return;
    }
    this.#settle(tx, pending);
    if (res.status < 300) {
      this.#calls.answered(call, pending.forwarded, res); // once; limits and timers start
      tx.respond(res); // further 2xx (RFC 6026) pass the Accepted server transaction too
      return;
    }
    call.timers?.stop('callinittimeout');
    call.timers?.stop('ringtimeout');
    const reason = `${res.status} ${res.reason}`.slice(0, 100);
    this.#calls.finish(call, { side: 'callee', reason, status: res.status });
    tx.respond(res);
  }

  /** The INVITE got its final answer (or timed out): no longer in setup. Once per call. */
  #settle(tx: ServerTransaction, pending: PendingInvite): void {
    if (!this.#pending.delete(tx)) return;
    const ip = pending.call.caller.endpoint.ip;
    const left = this.pendingFrom(ip) - 1;
    if (left > 0) this.#pendingPerIp.set(ip, left);
    else this.#pendingPerIp.delete(ip);
  }

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
    pending.cancelled = true;
    pending.call.ending ??= { side: 'caller', reason: 'CANCEL', status: 487 };
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
      this.#ctx.d.transactions.sendRequest(cancel, client.dest, {});
    } catch (err) {
      this.#ctx.d.log.warn({ ip: client.dest.ip, err }, 'CANCEL not forwarded');
    }
  }
}
