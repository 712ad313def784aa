// The SIP service: transports → (guard check) → transactions → request handlers.
// Handlers: REGISTER (registrar), OPTIONS (answered here: keepalives and monitoring),
// INVITE / ACK / BYE / CANCEL and every in-dialog request (the proxy, src/sip/proxy);
// other out-of-dialog methods are refused with 501. Every rejected message and
// every authentication outcome is reported as a SecurityReport, which the daemon feeds to
// the guard; the guard's verdict on each incoming message decides whether it is processed.
import type { Settings } from '../config/settings.ts';
import type { Logger } from '../log.ts';
import type { SipPolicy, SourceTrust } from '../policy-port.ts';
import type { DigestAuthenticator } from './auth/authenticator.ts';
import { InboundView } from './inbound.ts';
import { createResponse, type SipRequest, validateRequest } from './message/index.ts';
import { OwnAddresses, SipProxy } from './proxy/index.ts';
import type { BindingStore } from './registrar/bindings.ts';
import { Registrar } from './registrar/registrar.ts';
import type { ServerTransaction } from './transaction/index.ts';
import { TransactionLayer } from './transaction/layer.ts';
import { transportOptionsFromSettings } from './transport/options.ts';
import { SipTransports } from './transport/transports.ts';

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
}

const ALLOW = 'REGISTER, OPTIONS, INVITE, ACK, BYE, CANCEL';

/** Methods the proxy takes even outside a dialog; inside one (To tag) it takes every method. */
const PROXIED = new Set(['INVITE', 'ACK', 'BYE', 'CANCEL']);

export class SipService {
  readonly transports: SipTransports;
  readonly transactions: TransactionLayer;
  readonly registrar: Registrar;
  readonly proxy: SipProxy;

  private constructor(transports: SipTransports, deps: SipServiceDeps) {
    this.transports = transports;
    const { policy } = deps;
    const report = (event: Parameters<SipPolicy['report']>[0]) => policy.report(event);
    this.registrar = new Registrar({ ...deps, report });
    this.transactions = new TransactionLayer({
      send: (msg, dest, onFailure, wire) => transports.dispatch(msg, dest, onFailure, wire),
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
      ipAuthenticate: (ip, dialled) => policy.ipAuthenticate(ip, dialled),
      transactions: this.transactions,
      own: new OwnAddresses(transports.addresses()),
    });
    const inbound = new InboundView();
    transports.on('message', (msg, source) => {
      let admitted: boolean;
      try {
        admitted = policy.admit(inbound.fill(msg, source));
      } finally {
        inbound.done();
      }
      if (admitted) this.transactions.receive(msg, source);
    });
    transports.on('reject', (e) => {
      report({
        kind: 'wrong',
        ip: e.source.ip,
        port: e.source.port,
        method: '',
        detail: `${e.reason}: ${e.detail}`.slice(0, 200),
      });
    });
  }

  static async start(deps: SipServiceDeps): Promise<SipService> {
    const options = transportOptionsFromSettings(deps.settings, {
      dataDir: deps.dataDir,
      log: deps.log,
    });
    const transports = await SipTransports.start({
      ...options,
      maxConnectionsPerIp: deps.settings.get<number>('maxtcpconnperip'),
    });
    return new SipService(transports, deps);
  }

  #handle(req: SipRequest, tx: ServerTransaction, deps: SipServiceDeps) {
    const source = tx.source;
    const to = req.tryView('to');
    const proxied = PROXIED.has(req.method) || (to.ok && to.value.tag !== undefined);
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
      return response;
    }
    if (proxied) {
      this.proxy.handleRequest(tx, req);
      return undefined;
    }
    switch (req.method) {
      case 'REGISTER':
        return this.registrar.handle(req, source);
      case 'OPTIONS':
        return createResponse(req, 200)
          .addHeader('Allow', ALLOW)
          .addHeader('Accept', 'application/sdp');
      default:
        return createResponse(req, 501).addHeader('Allow', ALLOW);
    }
  }

  async close(): Promise<void> {
    await this.transports.close();
  }
}
