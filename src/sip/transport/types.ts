// What the transport layer and the layers above it (transactions, registrar, guard) exchange.
// They meet only through these shapes and the SipTransports events; nothing above sees a
// socket.
import type { ParseRejectReason, SipMessage } from '../message/index.ts';

export type TransportName = 'udp' | 'tcp' | 'tls';

/** A local listening address. */
export interface ListenAddress {
  readonly ip: string;
  /** 0 picks an ephemeral port (tests); see SipTransports.addresses() for the result. */
  readonly port: number;
}

/** Where a message came from: the packet's real source, never a header's claim. */
export interface Source {
  readonly transport: TransportName;
  /** Canonical text (src/ip.ts canonicalIp): "::ffff:1.2.3.4" arrives as "1.2.3.4". */
  readonly ip: string;
  readonly port: number;
  /** TCP/TLS: the connection it arrived on; responses go back over it (§18.2.2). */
  readonly connectionId?: string;
  /** The local address it arrived at (which socket to answer from). */
  readonly local?: ListenAddress;
}

/** Where to send: an address, and for TCP/TLS optionally a connection to prefer. */
export interface Destination {
  readonly transport: TransportName;
  readonly ip: string;
  readonly port: number;
  /** Reuse this connection while it is open; otherwise one to ip:port is reused or opened. */
  readonly connectionId?: string;
  /** UDP: send from the socket bound to this local address (default: the first that fits). */
  readonly local?: ListenAddress;
}

/** A message the parser refused (or a stream that broke its framing or size limits). */
export interface RejectEvent {
  readonly source: Source;
  readonly reason: ParseRejectReason;
  readonly detail: string;
  /** The response status suggested for a request; absent for responses and drops. */
  readonly status?: number;
  /** Whether an error response was actually sent back. */
  readonly responded: boolean;
}

/** Why a connection was refused or closed by a limit (not a parse failure). */
export type ConnectionLimit =
  /** Refused: the total (with nothing evictable), per address, per /24 or /64. */
  | 'connections'
  | 'connections_per_ip'
  | 'connections_per_subnet'
  /** Closed to make room for a new connection at the total. */
  | 'evicted'
  /** Closed by a deadline: no complete message since accept, a message too slow, silence. */
  | 'first_message_timeout'
  | 'message_timeout'
  | 'idle_timeout'
  | 'tls_handshake';

export const CONNECTION_LIMITS: readonly ConnectionLimit[] = Object.freeze([
  'connections',
  'connections_per_ip',
  'connections_per_subnet',
  'evicted',
  'first_message_timeout',
  'message_timeout',
  'idle_timeout',
  'tls_handshake',
]);

/** A connection refused or closed by a transport limit (not a parse failure). */
export interface LimitEvent {
  readonly source: Source;
  readonly limit: ConnectionLimit;
  readonly detail: string;
  /** evicted: the new connection it made room for. */
  readonly evictedFor?: Source;
}

/** Connections open now, and how many each limit refused or closed since start. */
export interface ConnectionStats {
  readonly open: number;
  readonly limits: Readonly<Record<ConnectionLimit, number>>;
}

export interface TransportEvents {
  message: [message: SipMessage, source: Source];
  reject: [event: RejectEvent];
  limit: [event: LimitEvent];
}
