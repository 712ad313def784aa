// Requests for a registered user that are not INVITE (OPTIONS, MESSAGE, INFO, NOTIFY,
// SUBSCRIBE, REFER), outside a dialog: admitted by the same steps as a call's INVITE
// (REQUEST_STEPS: the caller authenticated or allowed by policy, the callee known), then
// forwarded statefully to the callee's best binding like an INVITE (§16.6) and every answer
// relayed back (§16.7). SUBSCRIBE and REFER start a dialog (RFC 6665 §4.1, RFC 3515): they
// are record-routed and their dialog kept, so its NOTIFYs come back through us over the
// subscriber's flow.
import { createResponse, parseUri, type SipResponse } from '../message/index.ts';
import type { ServerTransaction } from '../transaction/index.ts';
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

/** Out-of-dialog methods forwarded to a registered user besides INVITE. */
export const FORWARDED_METHODS: ReadonlySet<string> = new Set([
  'OPTIONS',
  'MESSAGE',
  'INFO',
  'NOTIFY',
  'SUBSCRIBE',
  'REFER',
]);

/** Methods whose 2xx starts a dialog that later requests use (RFC 6665, RFC 3515). */
const DIALOG_STARTING = new Set(['SUBSCRIBE', 'REFER']);

export class RequestForwarding {
  readonly #ctx: ProxyContext;
  readonly #calls: Calls;

  constructor(ctx: ProxyContext, calls: Calls) {
    this.#ctx = ctx;
    this.#calls = calls;
  }

  /** Forwards an admitted request (its Admission found the callee's binding). */
  forward(tx: ServerTransaction, a: Admission): void {
    const { d } = this.#ctx;
    const { req, source } = a;
    const binding = a.binding!;
    const contact = parseUri(binding.contact, req.limits.maxUriBytes);
    if (!contact.ok) return void tx.respond(createResponse(req, 480, 'Bad Contact Registered'));
    const dest: Destination = {
      transport: binding.transport,
      ip: binding.ip,
      port: binding.port,
      ...(binding.connectionId === undefined ? {} : { connectionId: binding.connectionId }),
    };
    const out = towardsBinding(req, binding.contact, contact.uri, d.own);
    const dialog = DIALOG_STARTING.has(req.method) ? this.#startDialog(a, dest) : undefined;
    if (dialog !== undefined) {
      addRecordRoute(
        out,
        recordRoutes(
          d.own,
          { transport: source.transport, ip: source.ip, sips: req.uri.scheme === 'sips' },
          { transport: dest.transport, ip: dest.ip, sips: contact.uri.scheme === 'sips' },
        ),
      );
    }
    stripOwnCredentials(out, d.auth.realm);
    pushVia(out, dest.transport, d.own.advertised(dest.transport, dest.ip), ownBranch());
    const relay = (res: SipResponse) => {
      if (res.status === 100 || !popTopVia(res)) return;
      if (dialog !== undefined && res.status >= 200) this.#settleDialog(dialog, res);
      tx.respond(res);
    };
    try {
      d.transactions.sendRequest(out, dest, { onResponse: relay, finalToTuOnly: true });
    } catch (err) {
      d.log.warn({ ip: dest.ip, port: dest.port, err }, `${req.method} not forwarded`);
      relay(createResponse(out, 503, 'Service Unavailable'));
    }
  }

  /**
   * The dialog a SUBSCRIBE or REFER may start, kept with the calls' dialogs (its own table:
   * subscriptions cannot crowd calls out). The notifier's tag is learnt from the 2xx, or
   * from its first NOTIFY when that comes first (RFC 6665 §4.1.2.4).
   */
  #startDialog(a: Admission, dest: Destination): CallRecord | undefined {
    const now = this.#ctx.now();
    const record: CallRecord = {
      kind: 'subscription',
      callId: a.base.callId!,
      caller: {
        endpoint: a.source,
        aor: a.byAddress ? undefined : a.user,
        tag: a.from.tag,
        nameAddr: a.req.header('from'),
        contact: contactOf(a.req),
        cseq: a.req.cseq().seq,
      },
      callee: {
        endpoint: dest,
        aor: a.binding?.aor,
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
    // A refresh of a subscription we already route (same Call-ID) keeps the record it has.
    const existing = this.#calls.subscriptions.get(record.callId, now);
    if (existing !== undefined) return existing;
    return this.#calls.subscriptions.add(record, now) ? record : undefined;
  }

  #settleDialog(dialog: CallRecord, res: SipResponse): void {
    if (res.status >= 300) {
      // Refused: no dialog (unless a NOTIFY already made one; the record then idles out).
      if (dialog.callee.tag === undefined) this.#calls.subscriptions.remove(dialog.callId);
      return;
    }
    const to = res.tryView('to');
    if (dialog.callee.tag === undefined && to.ok) dialog.callee.tag = to.value.tag;
    dialog.answeredAt ??= this.#ctx.now();
    dialog.callee.nameAddr ??= res.header('to');
    dialog.callee.contact ??= contactOf(res);
  }
}
