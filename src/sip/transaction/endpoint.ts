// Where a message came from or goes to. This is the whole contract with the transport layer
// (src/sip/transport): the transaction layer hands it (message, Endpoint) and gets
// (message, Endpoint) back; it never opens sockets.

export type TransportName = 'udp' | 'tcp' | 'tls';

export interface Endpoint {
  readonly transport: TransportName;
  /** Canonical textual IP address (see src/ip.ts). */
  readonly ip: string;
  readonly port: number;
}

/**
 * RFC 3261 §17.1.1.2, §17.2.1: retransmission timers run only on unreliable transports;
 * TCP and TLS deliver or report an error themselves.
 */
export function isReliable(transport: TransportName): boolean {
  return transport !== 'udp';
}
