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

/** A connection refused or closed by a transport limit (not a parse failure). */
export interface LimitEvent {
  readonly source: Source;
  readonly limit: 'connections' | 'connections_per_ip' | 'idle_timeout' | 'tls_handshake';
  readonly detail: string;
}

export interface TransportEvents {
  message: [message: SipMessage, source: Source];
  reject: [event: RejectEvent];
  limit: [event: LimitEvent];
}
