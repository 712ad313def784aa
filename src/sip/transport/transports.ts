// SipTransports: UDP, TCP and TLS listeners behind one small interface.
//
//   const t = new SipTransports({ udp: [{ ip: '0.0.0.0', port: 5060 }], ... });
//   t.on('message', (msg, source) => ...);   // every parsed message, real source attached
//   t.on('reject', (ev) => ...);             // every refused one: a "wrong message" for the guard
//   t.on('limit', (ev) => ...);              // connections refused, evicted or closed by a deadline
//   await t.listen();
//   await t.respond(response, source);        // RFC 3261 §18.2.2
//   await t.send(request, { transport: 'tcp', ip, port });
//   await t.close();
//
// Incoming requests get their top Via stamped with received/rport (via-rules.ts) before
// anyone sees them. A refused request is answered here, with the status the parser suggests,
// when enough of it can be salvaged (reject-response.ts); a refused response never is.
// On TCP/TLS a refused message also ends the connection: its framing cannot be trusted.
//
// Connections (TCP, TLS) are bounded in number, per address and per /24 or /64, and in time
// (stream-connection.ts); at the total the least valuable one is evicted for a newcomer
// (connection-table.ts). Every refusal, eviction and deadline close is counted (stats()),
// logged at a bounded rate, and emitted as a 'limit' event for the guard.
import { EventEmitter } from 'node:events';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  createSecureContext,
  type SecureContext,
  TLSSocket,
  connect as tlsConnect,
} from 'node:tls';
import { canonicalIp } from '../../ip.ts';
import { LogLimiter } from '../../log-limit.ts';
import {
  type ParseOptions,
  type ParseRejectReason,
  parseMessage,
  type SipMessage,
  type SipResponse,
  serialize,
  type Via,
} from '../message/index.ts';
import { bindError } from './bind.ts';
import { ConnectionTable, type Occupant, type Slot, Value } from './connection-table.ts';
import { TransportErrors } from './errors.ts';
import {
  type ResolvedOptions,
  resolveOptions,
  type TlsCredentials,
  type TransportOptions,
} from './options.ts';
import { buildRejectResponse } from './reject-response.ts';
import { type Deadline, StreamConnection } from './stream-connection.ts';
import type { FrameEvent } from './stream-framer.ts';
import {
  CONNECTION_LIMITS,
  type ConnectionLimit,
  type ConnectionStats,
  type Destination,
  type LimitEvent,
  type ListenAddress,
  type Source,
  type TransportEvents,
  type TransportName,
} from './types.ts';
import { UdpEndpoint } from './udp.ts';
import { responseDestination, stampReceived } from './via-rules.ts';

const PONG = Buffer.from('\r\n', 'latin1');
/** Connections the kernel may hold for us, handshake done, until we accept them. */
const ACCEPT_BACKLOG = 4096;
/** The transports' clock: monotonic, so a clock step cannot fire or stall a deadline. */
const now = () => performance.now();

const VERB: Record<ConnectionLimit, string> = {
  connections: 'refused',
  connections_per_ip: 'refused',
  connections_per_subnet: 'refused',
  evicted: 'evicted',
  first_message_timeout: 'closed',
  message_timeout: 'closed',
  idle_timeout: 'closed',
  tls_handshake: 'closed',
};

function topViaOf(msg: SipMessage): Via | undefined {
  const via = msg.tryView('via');
  return via.ok ? via.value[0] : undefined;
}

function where(dest: Destination): string {
  return `${dest.ip}:${dest.port}`;
}

function sendFailed(dest: Destination, err: Error): Error {
  return new TransportErrors.TG_TRANSPORT_SEND_FAILED(
    dest.transport.toUpperCase(),
    where(dest),
    err.message,
  );
}

interface StreamServer {
  readonly transport: 'tcp' | 'tls';
  readonly server: Server;
  local: ListenAddress;
}

export interface BoundAddress extends ListenAddress {
  readonly transport: TransportName;
}

export class SipTransports extends EventEmitter<TransportEvents> {
  private readonly o: ResolvedOptions;
  private readonly udp: UdpEndpoint[] = [];
  private readonly servers: StreamServer[] = [];
  private readonly table: ConnectionTable<StreamConnection>;
  /** Every accepted socket, so close() can end those still in a TLS handshake. */
  private readonly accepted = new Set<Socket>();
  private secureContext: SecureContext | undefined;
  private closing = false;
  private readonly counts: Record<ConnectionLimit, number>;
  /** Refusals, evictions and deadline closes: logged, but never faster than a disk can take. */
  private readonly limitLines: LogLimiter | undefined;
  /** How every datagram is parsed (one object, not one per datagram). */
  readonly #datagramParse: ParseOptions;

  constructor(options: TransportOptions) {
    super();
    this.o = resolveOptions(options);
    this.#datagramParse = { transport: 'datagram', limits: this.o.limits };
    this.table = new ConnectionTable({
      maxTotal: this.o.maxConnections,
      maxPerIp: this.o.maxConnectionsPerIp,
      maxPerSubnet: this.o.maxConnectionsPerSubnet,
      maxOutbound: this.o.maxOutboundConnections,
      evict: this.o.evictConnections,
    });
    this.counts = Object.fromEntries(CONNECTION_LIMITS.map((l) => [l, 0])) as Record<
      ConnectionLimit,
      number
    >;
    this.limitLines =
      this.o.log === undefined
        ? undefined
        : new LogLimiter(this.o.log, { perSecond: 20, burst: 200 });
    const cred = this.o.tlsCredentials;
    this.secureContext =
      cred === undefined
        ? undefined
        : createSecureContext({ key: cred.key, cert: cred.cert, minVersion: 'TLSv1.2' });
  }

  /**
   * New TLS credentials for handshakes from now on (a certificate issued again because the
   * addresses changed); connections already up keep theirs.
   */
  useTlsCredentials(cred: TlsCredentials): void {
    this.secureContext = createSecureContext({
      key: cred.key,
      cert: cred.cert,
      minVersion: 'TLSv1.2',
    });
  }

  /** Creates and binds in one step. */
  static async start(options: TransportOptions): Promise<SipTransports> {
    const t = new SipTransports(options);
    await t.listen();
    return t;
  }

  /** Binds every configured address; on any failure closes what was bound and throws. */
  async listen(): Promise<void> {
    try {
      for (const at of this.o.udp) {
        const ep = new UdpEndpoint(at, (buf, address, port) =>
          this.onDatagram(ep, buf, address, port),
        );
        this.udp.push(ep);
        await ep.open();
      }
      for (const transport of ['tcp', 'tls'] as const) {
        for (const at of this.o[transport]) await this.listenStream(transport, at);
      }
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  /** Where each transport actually listens (ephemeral ports resolved). */
  addresses(): BoundAddress[] {
    return [
      ...this.udp.map((u) => ({ transport: 'udp' as const, ...u.local })),
      ...this.servers.map((s) => ({ transport: s.transport, ...s.local })),
    ];
  }

  /**
   * Whether the TCP/TLS connection with this id is still open: a registered flow (RFC 5626)
   * is only ever used over its own connection, never reopened towards a port behind a NAT.
   */
  isOpen(connectionId: string): boolean {
    return this.table.get(connectionId)?.isOpen === true;
  }

  /** Open TCP/TLS connections (both directions, handshakes included). */
  get connectionCount(): number {
    return this.table.size;
  }

  /** Open connections, and what each limit has refused or closed since start. */
  stats(): ConnectionStats {
    return { open: this.table.size, limits: { ...this.counts } };
  }

  /**
   * The source ip:port passed digest authentication: its connections (TCP or TLS) are worth
   * more than a stranger's, and a newcomer can no longer evict them.
   */
  markAuthenticated(ip: string, port: number): void {
    for (const c of this.table.fromAddress(ip, port)) c.authenticated = true;
  }

  /**
   * The connection `from` (a TCP or TLS source) carries a registration for `seconds` (0: it
   * was removed): it is evicted last. A UDP source has no connection: nothing to mark.
   */
  markRegistered(
    from: { transport: TransportName; ip: string; port: number },
    seconds: number,
  ): void {
    if (from.transport === 'udp') return;
    const c = this.table.findRemote(from.transport, from.ip, from.port);
    if (c === undefined || c.outbound) return;
    c.authenticated = true;
    c.registeredUntil = seconds > 0 ? now() + seconds * 1000 : 0;
  }

  /** Sends a response to a request from `source` per RFC 3261 §18.2.2. */
  respond(response: SipResponse, source: Source): Promise<void> {
    return this.send(response, responseDestination(topViaOf(response), source));
  }

  /**
   * Sends a message (serialized here) or raw octets. TCP/TLS: over dest.connectionId while
   * it is open, else over an open connection to dest's address, else over a new one.
   */
  async send(msg: SipMessage | Buffer, dest: Destination): Promise<void> {
    const ip = this.checkDestination(dest);
    const data = Buffer.isBuffer(msg) ? msg : serialize(msg);
    const sending =
      dest.transport === 'udp'
        ? this.udpFor(ip, dest).send(data, ip, dest.port)
        : this.streamFor(dest.transport, ip, dest).write(data);
    return sending.catch((err: Error) => {
      throw sendFailed(dest, err);
    });
  }

  /**
   * The transaction layer's hand-off (src/sip/transaction/layer.ts `send`): synchronous, false
   * when the message cannot even be sent (closed, bad destination, connection limit, too
   * large for a datagram). A response goes where §18.2.2 says for a request from `dest`; a
   * request goes to `dest`. Failures found later (a refused connection) go to `onFailure`.
   *
   * A UDP response goes out without a callback: a UDP send that fails later is not something
   * a server transaction can act on (the client retransmits, §17.1.2.2), and a callback would
   * cost a promise and a tick per datagram on the busiest path. A request keeps the callback
   * when the caller wants to hear of failures: a client transaction ends at once on a
   * transport error (§17.1.4) instead of timing out.
   */
  dispatch(
    msg: SipMessage,
    dest: Destination | Source,
    onFailure?: (err: Error) => void,
    /** `msg` already serialized, when the caller has it. */
    wire?: Buffer,
  ): boolean {
    const response = msg.kind === 'response';
    const to = response ? responseDestination(topViaOf(msg), dest) : dest;
    let sending: Promise<void>;
    try {
      const ip = this.checkDestination(to);
      if (to.transport === 'udp') {
        const ep = this.udpFor(ip, to);
        const data = wire ?? serialize(msg);
        if (response || onFailure === undefined) ep.sendNow(data, ip, to.port);
        else
          ep.sendNow(data, ip, to.port, (err) => {
            if (err !== null) onFailure(sendFailed(to, err));
          });
        return true;
      }
      sending = this.streamFor(to.transport, ip, to).write(wire ?? serialize(msg));
    } catch (err) {
      this.o.log?.debug({ ip: to.ip, port: to.port, err }, 'SIP message not sent');
      return false;
    }
    sending.catch((err: Error) => {
      const failure = sendFailed(to, err);
      if (onFailure !== undefined) onFailure(failure);
      else this.o.log?.debug({ ip: to.ip, port: to.port, err: failure }, 'SIP message not sent');
    });
    return true;
  }

  /** What is known at once about a destination; returns its canonical IP. */
  private checkDestination(dest: Destination): string {
    if (this.closing) throw new TransportErrors.TG_TRANSPORT_CLOSED();
    const ip = canonicalIp(dest.ip);
    if (ip === null) {
      throw new TransportErrors.TG_TRANSPORT_BAD_DESTINATION(where(dest), 'not an IP');
    }
    if (!Number.isInteger(dest.port) || dest.port < 1 || dest.port > 65535) {
      throw new TransportErrors.TG_TRANSPORT_BAD_DESTINATION(where(dest), 'bad port');
    }
    return ip;
  }

  private udpFor(ip: string, dest: Destination): UdpEndpoint {
    const ep = this.pickUdp(ip, dest.local);
    if (ep === undefined) throw new TransportErrors.TG_TRANSPORT_NOT_LISTENING('UDP', where(dest));
    return ep;
  }

  private streamFor(transport: TransportName, ip: string, dest: Destination): StreamConnection {
    let conn = dest.connectionId === undefined ? undefined : this.table.get(dest.connectionId);
    if (conn === undefined || !conn.isOpen || conn.transport !== transport) {
      conn = this.table.findRemote(transport, ip, dest.port);
    }
    if (conn === undefined || !conn.isOpen) conn = this.connect(transport, ip, dest.port);
    return conn;
  }

  /** Stops listening, closes every connection and socket. */
  async close(): Promise<void> {
    this.closing = true;
    for (const c of this.table.all()) c.destroy();
    for (const s of this.accepted) s.destroy();
    await Promise.all([
      ...this.servers.map((s) => new Promise<void>((resolve) => s.server.close(() => resolve()))),
      ...this.udp.map((u) => u.close()),
    ]);
    this.servers.length = 0;
    this.udp.length = 0;
  }

  // ---- UDP

  private pickUdp(ip: string, local: ListenAddress | undefined): UdpEndpoint | undefined {
    // Canonical IPv6 text always has a colon, canonical IPv4 text never.
    const v4 = !ip.includes(':');
    if (local !== undefined) {
      for (const u of this.udp) {
        if (u.local.ip === local.ip && u.local.port === local.port && u.reachesFamily(v4)) {
          return u;
        }
      }
    }
    for (const u of this.udp) if (u.reachesFamily(v4)) return u;
    return undefined;
  }

  private onDatagram(ep: UdpEndpoint, buf: Buffer, address: string, port: number): void {
    if (this.closing) return;
    const source = this.udpSource(ep, address, port);
    const r = parseMessage(buf, this.#datagramParse);
    if (r.ok) {
      this.deliver(r.message, source);
      return;
    }
    if (r.reason === 'keepalive') {
      // RFC 5626 §3.5.1 ping (CRLFCRLF) → pong (CRLF). Two octets for four: nothing to amplify.
      if (buf.length >= 4) ep.sendNow(PONG, source.ip, port);
      return;
    }
    let responded = false;
    if (r.status !== undefined) {
      const res = buildRejectResponse(buf, r.reason, r.status, source, this.o.limits);
      if (res !== null) {
        responded = true;
        this.respond(res, source).catch((err) =>
          this.o.log?.debug({ ip: source.ip, port, err }, 'reject response not sent'),
        );
      }
    }
    this.emitReject(source, r.reason, r.detail, r.status, responded);
  }

  /**
   * The Source of a datagram. Sources are never changed once made, so datagrams in a row from
   * one address share one: a peer sending many (a SIPp, a trunk, a proxy in front of us)
   * costs no object and no address string per message, and the server transactions that
   * keep their source for Timer J's 32 s do not each keep a copy of the same one.
   */
  private udpSource(ep: UdpEndpoint, address: string, port: number): Source {
    const last = ep.lastSource;
    if (last !== undefined && last.port === port && ep.lastAddress === address) return last;
    const source: Source = {
      transport: 'udp',
      ip: canonicalIp(address) ?? address,
      port,
      local: ep.local,
    };
    ep.lastAddress = address;
    ep.lastSource = source;
    return source;
  }

  // ---- TCP / TLS

  private listenStream(transport: 'tcp' | 'tls', at: ListenAddress): Promise<void> {
    const server = createServer((socket) => this.onAccept(entry, socket));
    const entry: StreamServer = { transport, server, local: at };
    // Connections are limited by the table (per IP, per network, total); this is only a
    // backstop. An evicted socket counts here until its close event, so at the cap a burst of
    // newcomers needs headroom, or Node would drop them unseen (no log, no count).
    server.maxConnections = 2 * this.o.maxConnections + 16;
    this.servers.push(entry);
    return new Promise((resolve, reject) => {
      server.once('error', (err) => reject(bindError(transport, at, err)));
      // A burst of connects (thousands of phones after a power cut, or a flood) must not
      // overflow the kernel's accept queue while the event loop is busy: an overflowing
      // queue drops handshakes that the client already counts as connected. Node's default
      // is 511; the kernel caps this at net.core.somaxconn.
      const backlog = ACCEPT_BACKLOG;
      server.listen(
        { host: at.ip, port: at.port, exclusive: true, ipv6Only: false, backlog },
        () => {
          server.on('error', (err) => this.o.log?.error({ err }, `${transport} listener error`));
          const a = server.address();
          if (a !== null && typeof a === 'object') entry.local = { ip: at.ip, port: a.port };
          resolve();
        },
      );
    });
  }

  private onAccept(entry: StreamServer, socket: Socket): void {
    const ip = canonicalIp(socket.remoteAddress ?? '') ?? String(socket.remoteAddress);
    const port = socket.remotePort ?? 0;
    const source: Source = { transport: entry.transport, ip, port, local: entry.local };
    if (this.closing) {
      socket.destroy();
      return;
    }
    const acceptedAt = now();
    const admission = this.table.admitIncoming(ip, acceptedAt);
    if (!admission.ok) {
      socket.destroy();
      this.emitLimit({
        source,
        limit: admission.refusal,
        detail: this.refusalDetail(admission.refusal, ip),
      });
      return;
    }
    const slot = admission.slot;
    if (admission.evicted !== undefined) this.evict(admission.evicted, source);
    this.accepted.add(socket);
    socket.once('close', () => {
      this.accepted.delete(socket);
      this.table.release(slot);
    });
    socket.on('error', () => {});
    if (entry.transport === 'tcp') {
      slot.occupant = this.attach(socket, 'tcp', ip, port, entry.local, false);
      return;
    }
    const tlsSocket = new TLSSocket(socket, {
      isServer: true,
      secureContext: this.secureContext!,
      requestCert: false,
    });
    const kill = () => {
      tlsSocket.destroy();
      socket.destroy();
    };
    // Until its handshake is done a TLS connection is worth nothing yet: first to go.
    slot.occupant = handshaking(port, acceptedAt, kill);
    tlsSocket.once('close', () => this.table.release(slot));
    const limitMs = this.o.tlsHandshakeTimeoutMs;
    const timer =
      limitMs === 0
        ? undefined
        : setTimeout(() => {
            this.emitLimit({
              source,
              limit: 'tls_handshake',
              detail: `no TLS handshake within ${seconds(limitMs)}`,
            });
            kill();
          }, limitMs);
    timer?.unref();
    tlsSocket.once('close', () => clearTimeout(timer));
    tlsSocket.on('error', (err) => {
      clearTimeout(timer);
      this.o.log?.debug({ ip, port, err: err.message }, 'TLS connection failed');
      kill();
    });
    tlsSocket.once('secure', () => {
      clearTimeout(timer);
      if (slot.released) return; // evicted in the same turn
      const conn = this.attach(tlsSocket, 'tls', ip, port, entry.local, false);
      slot.occupant = {
        transport: 'tls',
        remotePort: port,
        value: (at) => conn.value(at),
        lastHeard: () => conn.lastHeard(),
        evict: kill,
      };
    });
  }

  private refusalDetail(refusal: ConnectionLimit, ip: string): string {
    switch (refusal) {
      case 'connections':
        return `${this.o.maxConnections} connections open, none evictable`;
      case 'connections_per_ip':
        return `${this.o.maxConnectionsPerIp} connections open from ${ip}`;
      default:
        return `${this.o.maxConnectionsPerSubnet} connections open from ${ip}'s network`;
    }
  }

  /** Ends an evicted connection (its slot is already free) and reports it. */
  private evict(victim: Slot, newcomer: Source): void {
    const o = victim.occupant;
    o?.evict();
    this.emitLimit({
      source: {
        transport: o?.transport ?? newcomer.transport,
        ip: victim.ip,
        port: o?.remotePort ?? 0,
      },
      limit: 'evicted',
      detail: `${this.o.maxConnections} connections open: evicted for ${newcomer.ip}:${newcomer.port}`,
      evictedFor: newcomer,
    });
  }

  private connect(transport: TransportName, ip: string, port: number): StreamConnection {
    const refused = this.table.admitOutbound();
    if (refused !== null) {
      throw new TransportErrors.TG_TRANSPORT_CONNECTION_LIMIT(
        transport.toUpperCase(),
        `${ip}:${port}`,
        refused,
      );
    }
    // Node queues writes until the connection (and the TLS handshake) is up.
    const socket =
      transport === 'tls'
        ? tlsConnect({
            host: ip,
            port,
            minVersion: 'TLSv1.2',
            rejectUnauthorized: this.o.tlsVerifyPeer,
          })
        : netConnect({ host: ip, port });
    socket.once('close', () => this.table.releaseOutbound());
    socket.on('error', () => {});
    return this.attach(socket, transport, ip, port, undefined, true);
  }

  private attach(
    socket: Socket,
    transport: TransportName,
    ip: string,
    port: number,
    local: ListenAddress | undefined,
    outbound: boolean,
  ): StreamConnection {
    const conn = new StreamConnection(
      {
        id: this.table.newId(transport),
        transport,
        socket,
        remoteIp: ip,
        remotePort: port,
        ...(local === undefined ? {} : { local }),
        outbound,
        limits: this.o.limits,
        maxBuffered: this.o.maxBufferedBytes,
        idleTimeoutMs: this.o.idleTimeoutMs,
        firstMessageMs: this.o.firstMessageTimeoutMs,
        messageMs: this.o.messageTimeoutMs,
        acceptedAt: now(),
        now,
      },
      {
        onFrame: (c, ev) => this.onFrame(c, ev),
        onDeadline: (c, deadline) =>
          this.emitLimit({
            source: this.sourceOf(c),
            limit: deadline,
            detail: this.deadlineDetail(deadline),
          }),
        onClose: (c) => this.table.remove(c),
      },
    );
    this.table.add(conn);
    return conn;
  }

  private deadlineDetail(deadline: Deadline): string {
    switch (deadline) {
      case 'first_message_timeout':
        return `no complete message within ${seconds(this.o.firstMessageTimeoutMs)} of accept`;
      case 'message_timeout':
        return `a message not complete within ${seconds(this.o.messageTimeoutMs)} of its first octet`;
      default:
        return `silent for ${seconds(this.o.idleTimeoutMs)}`;
    }
  }

  private sourceOf(c: StreamConnection): Source {
    return {
      transport: c.transport,
      ip: c.remoteIp,
      port: c.remotePort,
      connectionId: c.id,
      ...(c.local === undefined ? {} : { local: c.local }),
    };
  }

  private onFrame(conn: StreamConnection, ev: FrameEvent): void {
    const source = this.sourceOf(conn);
    if (ev.kind === 'message') {
      this.deliver(ev.message, source);
      return;
    }
    if (ev.kind !== 'reject') return;
    let response: Buffer | undefined;
    if (ev.status !== undefined) {
      const res = buildRejectResponse(ev.raw, ev.reason, ev.status, source, this.o.limits);
      if (res !== null) response = serialize(res);
    }
    conn.end(response);
    this.emitReject(source, ev.reason, ev.detail, ev.status, response !== undefined);
  }

  // ---- events

  private deliver(message: SipMessage, source: Source): void {
    if (message.kind === 'request') stampReceived(message, source);
    try {
      this.emit('message', message, source);
    } catch (err) {
      // A bug above must not take the listener down with it.
      this.o.log?.error({ err, ip: source.ip, port: source.port }, 'message handler failed');
    }
  }

  private emitReject(
    source: Source,
    reason: ParseRejectReason,
    detail: string,
    status: number | undefined,
    responded: boolean,
  ): void {
    this.o.log?.debug({ ip: source.ip, port: source.port, reason, detail }, 'SIP message refused');
    try {
      this.emit('reject', {
        source,
        reason,
        detail,
        ...(status === undefined ? {} : { status }),
        responded,
      });
    } catch (err) {
      this.o.log?.error({ err, ip: source.ip, port: source.port }, 'reject handler failed');
    }
  }

  private emitLimit(ev: LimitEvent): void {
    const count = ++this.counts[ev.limit];
    this.limitLines?.info(
      {
        ip: ev.source.ip,
        port: ev.source.port,
        transport: ev.source.transport,
        limit: ev.limit,
        count,
        ...(ev.evictedFor === undefined ? {} : { for: ev.evictedFor.ip }),
      },
      `SIP connection ${VERB[ev.limit]}: ${ev.detail}`,
    );
    try {
      this.emit('limit', ev);
    } catch (err) {
      this.o.log?.error({ err, ip: ev.source.ip }, 'limit handler failed');
    }
  }
}

function seconds(ms: number): string {
  return `${ms / 1000} s`;
}

/** A TLS connection in its handshake, as eviction sees it. */
function handshaking(remotePort: number, acceptedAt: number, kill: () => void): Occupant {
  return {
    transport: 'tls',
    remotePort,
    value: () => Value.Unproven,
    lastHeard: () => acceptedAt,
    evict: kill,
  };
}
