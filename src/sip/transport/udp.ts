// One UDP socket bound to one local address. RFC 3261 §18.1.1/§18.2.1: one datagram carries
// one message; what it means is the caller's business (SipTransports.onDatagram).
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv4, isIPv6 } from 'node:net';
import { bindError } from './bind.ts';
import type { ListenAddress } from './types.ts';

export class UdpEndpoint {
  readonly family: 4 | 6;
  private readonly socket: Socket;
  private bound: ListenAddress;
  /** '::' without ipv6Only also carries IPv4 (as ::ffff:a.b.c.d). */
  readonly dualStack: boolean;

  constructor(at: ListenAddress, onDatagram: (buf: Buffer, from: RemoteInfo) => void) {
    this.family = isIPv6(at.ip) ? 6 : 4;
    this.dualStack = at.ip === '::';
    this.bound = at;
    this.socket = createSocket({
      type: this.family === 6 ? 'udp6' : 'udp4',
      ipv6Only: false,
      // Large enough for a burst of maximum-size datagrams while the event loop is busy.
      recvBufferSize: 4 * 1024 * 1024,
    });
    this.socket.on('message', onDatagram);
  }

  get local(): ListenAddress {
    return this.bound;
  }

  open(): Promise<void> {
    const at = this.bound;
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(bindError('udp', at, err));
      this.socket.once('error', onError);
      this.socket.bind({ address: at.ip, port: at.port, exclusive: true }, () => {
        this.socket.off('error', onError);
        // A send error (ICMP unreachable reported late, say) must not crash the process.
        this.socket.on('error', () => {});
        const a = this.socket.address();
        this.bound = { ip: at.ip, port: a.port };
        resolve();
      });
    });
  }

  /** Can this socket reach `ip`? */
  reaches(ip: string): boolean {
    return isIPv4(ip) ? this.family === 4 || this.dualStack : this.family === 6;
  }

  send(data: Buffer, ip: string, port: number): Promise<void> {
    const to = this.family === 6 && isIPv4(ip) ? `::ffff:${ip}` : ip;
    return new Promise((resolve, reject) => {
      this.socket.send(data, port, to, (err) => (err ? reject(err) : resolve()));
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve(); // never bound
      }
    });
  }
}
