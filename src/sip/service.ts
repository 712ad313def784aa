// The SIP service: transports → (guard check) → transactions → request handlers.
// Handlers: REGISTER (registrar); INVITE / ACK / BYE / CANCEL, every in-dialog request, and
// OPTIONS, MESSAGE, INFO, NOTIFY, SUBSCRIBE, REFER addressed to a user (the proxy,
// src/sip/proxy); OPTIONS to tollgate itself (no user part: keepalives and monitoring) is
// answered here. Anything else for tollgate itself gets 405 when we know the method, 501
// when we do not, both with Allow (RFC 3261 §8.2.1, §21.5.2). Every rejected message and
// every authentication outcome is reported as a SecurityReport, which the daemon feeds to
// the guard; the guard's verdict on each incoming message decides whether it is processed.
// Connections refused, evicted or closed by a deadline are reported too (connection-*), and
// the transports learn which connections are worth keeping: one whose source authenticated,
// one that carries a live registration (connection-table.ts evicts those last).
import type { Settings } from '../config/settings.ts';
import type { Logger } from '../log.ts';
import type { SecurityReport, SipPolicy, SourceTrust } from '../policy-port.ts';
import type { DigestAuthenticator } from './auth/authenticator.ts';
import { InboundView } from './inbound.ts';
import type { MediaKernel } from './media/kernel.ts';
import { MEDIA_KEYS, MediaRelay } from './media/relay.ts';
import {
  createResponse,
  isSipUri,
  type SipRequest,
  type SipResponse,
  validateRequest,
} from './message/index.ts';
import { FORWARDED_METHODS, OwnAddresses, SipProxy } from './proxy/index.ts';
import type { RoutingSource } from './proxy/routing/table.ts';
import type { BindingStore } from './registrar/bindings.ts';
import { Registrar } from './registrar/registrar.ts';
import { SipTrace } from './trace.ts';
import { type ServerTransaction, systemClock } from './transaction/index.ts';
import { TransactionLayer } from './transaction/layer.ts';
import { tlsCredentialsFromSettings, transportOptionsFromSettings } from './transport/options.ts';
import { SipTransports } from './transport/transports.ts';
import type { LimitEvent } from './transport/types.ts';

export interface SipServiceDeps {
  settings: Settings;
  dataDir: string;
  auth: DigestAuthenticator;
  bindings: BindingStore;
  /** Registered sources take the kernel's fast path. */
  trust: SourceTrust;
  log: Logger;
  /** What sip asks of policy: admission, reports, accounts (see src/policy-port.ts). */
  policy: SipPolicy;
  /** The dataplane's relay legs (kernel forwarding in XDP mode); absent: userspace only. */
  mediaKernel?: MediaKernel;
  /** Trunks and outbound routes (the proxy's routing/table.ts over the store). */
  routing?: RoutingSource;
  /**
   * Told of every message received (admitted by the guard or not) and sent: a request's
   * method or a response's status (the metrics count them; nothing else of the message).
   */
  observeMessage?: (
    dir: 'in' | 'out',
    method: string | undefined,
    status: number | undefined,
  ) => void;
}

/** What tollgate accepts (§20.5): as registrar, as proxy, and in a dialog it routes. */
const ALLOW =
  'REGISTER, OPTIONS, INVITE, ACK, BYE, CANCEL, MESSAGE, INFO, NOTIFY, SUBSCRIBE, REFER, UPDATE, PRACK';

/** Methods of RFC 3261 and its extensions that tollgate knows but does not serve itself. */
const KNOWN = new Set([...ALLOW.split(', '), 'PUBLISH']);

/** Methods the proxy takes even outside a dialog; inside one (To tag) it takes every method. */
const PROXIED = new Set(['INVITE', 'ACK', 'BYE', 'CANCEL']);

/**
 * How often the SIPS certificate's names are checked against the machine's addresses: on a
 * wildcard address they change with DHCP or a new interface, and phones that verify the
 * certificate refuse one that does not name the address they connect to.
 */
const CERTIFICATE_CHECK_MS = 60_000;

/** An out-of-dialog request the proxy handles: a call, or a request for a user (§16.5). */
function forProxy(req: SipRequest): boolean {
  if (PROXIED.has(req.method)) return true;
  return FORWARDED_METHODS.has(req.method) && isSipUri(req.uri) && req.uri.user !== undefined;
}

export class SipService {
  readonly transports: SipTransports;
  readonly transactions: TransactionLayer;
  readonly registrar: Registrar;
  readonly proxy: SipProxy;
  readonly media: MediaRelay;
  readonly #certificateCheck: NodeJS.Timeout;

  private constructor(transports: SipTransports, deps: SipServiceDeps) {
    this.transports = transports;
    this.#certificateCheck = setInterval(() => this.refreshCertificate(deps), CERTIFICATE_CHECK_MS);
    this.#certificateCheck.unref();
    const { policy } = deps;
    const report = (event: SecurityReport) => {
      if (event.kind === 'auth-ok') transports.markAuthenticated(event.ip, event.port);
      return policy.report(event);
    };
    this.registrar = new Registrar({ ...deps, report });
    this.media = new MediaRelay({
      config: deps.settings.view(MEDIA_KEYS),
      log: deps.log,
      clock: systemClock,
      ...(deps.mediaKernel ? { kernel: deps.mediaKernel } : {}),
    });
    const trace = new SipTrace(deps.log);
    this.transactions = new TransactionLayer({
      send: (msg, dest, onFailure, wire) => {
        trace.sent(msg, dest);
        deps.observeMessage?.(
          'out',
          msg.kind === 'request' ? msg.method : undefined,
          msg.kind === 'response' ? msg.status : undefined,
        );
        return transports.dispatch(msg, dest, onFailure, wire);
      },
      onRequest: (tx, req) => {
        const response = this.#handle(req, tx, deps);
        if (response) tx.respond(response);
      },
      onAck: (ack, source) => this.proxy.handleAck(ack, source),
      onStrayResponse: (res) => this.proxy.handleStrayResponse(res),
      onError: (err) => deps.log.error({ err }, 'SIP request handler failed'),
    });
    this.proxy = new SipProxy({
      ...deps,
      report,
      userExists: (name) => policy.userExists(name),
      ipAuthenticate: (ip, dialled, port) => policy.ipAuthenticate(ip, dialled, port),
      ...(policy.calls ? { calls: policy.calls } : {}),
      transactions: this.transactions,
      own: new OwnAddresses(transports.addresses()),
      flowOpen: (id) => transports.isOpen(id),
      media: this.media,
    });
    const inbound = new InboundView();
    transports.on('message', (msg, source) => {
      let admitted: boolean;
      try {
        admitted = policy.admit(inbound.fill(msg, source));
      } finally {
        inbound.done();
      }
      trace.received(msg, source, admitted);
      deps.observeMessage?.(
        'in',
        msg.kind === 'request' ? msg.method : undefined,
        msg.kind === 'response' ? msg.status : undefined,
      );
      if (admitted) this.transactions.receive(msg, source);
    });
    transports.on('reject', (e) => {
      trace.rejected(e);
      report({
        kind: 'wrong',
        ip: e.source.ip,
        port: e.source.port,
        method: '',
        detail: `${e.reason}: ${e.detail}`.slice(0, 200),
      });
    });
    transports.on('limit', (e) => {
      const kind = connectionReportKind(e.limit);
      if (kind === undefined) return;
      report({
        kind,
        ip: e.source.ip,
        port: e.source.port,
        method: '',
        detail: `${e.limit}: ${e.detail}`.slice(0, 200),
      });
    });
  }

  static async start(deps: SipServiceDeps): Promise<SipService> {
    const options = transportOptionsFromSettings(deps.settings, {
      dataDir: deps.dataDir,
      log: deps.log,
    });
    const transports = await SipTransports.start(options);
    return new SipService(transports, deps);
  }

  #handle(req: SipRequest, tx: ServerTransaction, deps: SipServiceDeps) {
    const source = tx.source;
    const to = req.tryView('to');
    const proxied = forProxy(req) || (to.ok && to.value.tag !== undefined);
    const role = req.method === 'REGISTER' ? 'registrar' : proxied ? 'proxy' : 'uas';
    const verdict = validateRequest(req, { role });
    if (!verdict.ok) {
      deps.policy.report({
        kind: 'wrong',
        ip: source.ip,
        port: source.port,
        method: req.method,
        detail: verdict.detail,
      });
      const response = createResponse(req, verdict.status, verdict.phrase);
      if (verdict.unsupported) response.addHeader('Unsupported', verdict.unsupported.join(', '));
      // §21.4.16 (415), §21.4.7 (406): say what would have been understood.
      if (verdict.accept) response.addHeader('Accept', verdict.accept.join(', '));
      return response;
    }
    if (proxied) {
      this.proxy.handleRequest(tx, req);
      return undefined;
    }
    switch (req.method) {
      case 'REGISTER': {
        const response = this.registrar.handle(req, source);
        if (response.status === 200 && source.transport !== 'udp') {
          const seconds = registeredFor(req, response);
          if (seconds !== undefined) this.transports.markRegistered(source, seconds);
        }
        return response;
      }
      case 'OPTIONS':
        return createResponse(req, 200)
          .addHeader('Allow', ALLOW)
          .addHeader('Accept', 'application/sdp');
      default:
        // §8.2.1: a method we know but do not serve here is 405; one we do not know, 501.
        return createResponse(req, KNOWN.has(req.method) ? 405 : 501).addHeader('Allow', ALLOW);
    }
  }

  /** Issues the certificate again if the names it must carry changed; new handshakes use it. */
  refreshCertificate(deps: Pick<SipServiceDeps, 'settings' | 'dataDir' | 'log'>): boolean {
    try {
      const cred = tlsCredentialsFromSettings(deps.settings, { dataDir: deps.dataDir });
      if (!cred.generated) return false;
      this.transports.useTlsCredentials(cred);
      deps.log.info(
        { names: cred.names, ca: cred.caPath },
        'SIPS certificate issued again: the addresses it names changed',
      );
      return true;
    } catch (err) {
      deps.log.error({ err }, 'could not check the SIPS certificate');
      return false;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#certificateCheck);
    await this.transports.close();
    await this.media.close();
  }
}

/**
 * What the guard hears of a connection limit. A connection closed after 120 s of silence
 * is a phone gone away, not an attack: not reported.
 */
function connectionReportKind(limit: LimitEvent['limit']): SecurityReport['kind'] | undefined {
  switch (limit) {
    case 'connections':
    case 'connections_per_ip':
    case 'connections_per_subnet':
      return 'connection-refused';
    case 'evicted':
      return 'connection-evicted';
    case 'idle_timeout':
      return undefined;
    default:
      return 'connection-timeout';
  }
}

/**
 * For a REGISTER answered 200: how long the request's own contacts are now bound (the
 * longest expires the 200 lists for them; 0 = removed), or undefined when it named none (a
 * query, which changes nothing).
 */
function registeredFor(request: SipRequest, response: SipResponse): number | undefined {
  const asked = request.tryView('contact');
  if (!asked.ok) return undefined;
  if (asked.value.star) return 0;
  if (asked.value.list.length === 0) return undefined;
  const mine = new Set(asked.value.list.map((c) => c.uri.raw));
  const granted = response.tryView('contact');
  let seconds = 0;
  if (granted.ok && !granted.value.star) {
    for (const c of granted.value.list) {
      if (mine.has(c.uri.raw)) seconds = Math.max(seconds, c.expires ?? 0);
    }
  }
  return seconds;
}
