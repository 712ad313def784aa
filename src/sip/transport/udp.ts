// One UDP socket bound to one local address. RFC 3261 §18.1.1/§18.2.1: one datagram carries
// one message; what it means is the caller's business (SipTransports.onDatagram).
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { lookup } from 'node:dns';
import { isIP, isIPv4, isIPv6 } from 'node:net';
import { bindError } from './bind.ts';
import type { ListenAddress, Source } from './types.ts';

/** The largest UDP payload over IPv4 (65535 - 8 octets UDP header - 20 octets IP header). */
export const MAX_DATAGRAM = 65_507;

/** Told how a datagram's send went: an error, or null once the kernel took it. */
export type SendDone = (err: Error | null) => void;

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;

/**
 * dgram resolves every destination, even an IP address, and the stock resolver answers on the
 * next tick: a closure and a tick per datagram. We only ever send to IP addresses (checked by
 * SipTransports), so those are answered at once; anything else still goes to DNS.
 */
export function lookupIp(address: string, options: unknown, callback: LookupCallback): void {
  const family = isIP(address);
  if (family !== 0) callback(null, address, family);
  else lookup(address, options as never, callback as never);
}

export class UdpEndpoint {
  readonly family: 4 | 6;
  private readonly socket: Socket;
  private bound: ListenAddress;
  /** '::' without ipv6Only also carries IPv4 (as ::ffff:a.b.c.d). */
  readonly dualStack: boolean;
  /** Datagrams waiting for the end of this event-loop turn: data, port, address, done. */
  readonly #outbox: (Buffer | number | string | SendDone | undefined)[] = [];
  #flushing: ReturnType<typeof setImmediate> | undefined;
  #closed = false;
  /** SipTransports' cache of the last datagram's Source, and the address it was made from. */
  lastAddress: string | undefined = undefined;
  lastSource: Source | undefined = undefined;

  constructor(at: ListenAddress, onDatagram: (buf: Buffer, from: RemoteInfo) => void) {
    this.family = isIPv6(at.ip) ? 6 : 4;
    this.dualStack = at.ip === '::';
    this.bound = at;
    this.socket = createSocket({
      type: this.family === 6 ? 'udp6' : 'udp4',
      ipv6Only: false,
      // Large enough for a burst of maximum-size datagrams while the event loop is busy.
      recvBufferSize: 4 * 1024 * 1024,
      lookup: lookupIp as never,
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
    return this.reachesFamily(isIPv4(ip));
  }

  /** Can this socket reach an IPv4 address (`v4`), or an IPv6 one? */
  reachesFamily(v4: boolean): boolean {
    return v4 ? this.family === 4 || this.dualStack : this.family === 6;
  }

  /**
   * Sends and settles once the datagram is handed to the kernel (or refused by it). It waits
   * in the same outbox as sendNow's, so nothing sent before it is overtaken: a proxied
   * re-INVITE must not overtake the ACK forwarded just before it (a UAS may take that as an
   * error, RFC 3261 §14.2).
   */
  send(data: Buffer, ip: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.sendNow(data, ip, port, (err) => (err ? reject(err) : resolve()));
    });
  }

  /**
   * Sends at the end of this event-loop turn, without a promise or a tick. What the kernel
   * refuses then goes to `done` (an error; null when sent) when given, and is otherwise lost
   * like a datagram lost on the way, which is what UDP senders are built for (RFC 3261 §17:
   * the retransmission timers). The one refusal known in advance, a datagram too large for
   * UDP, is thrown here.
   */
  sendNow(data: Buffer, ip: string, port: number, done?: SendDone): void {
    if (data.length > MAX_DATAGRAM)
      throw new RangeError(`${data.length} octets do not fit a datagram`);
    if (this.#closed) throw new Error('UDP socket closed');
    // Held until libuv has handed us every datagram that was waiting (up to 32 per turn),
    // then sent together. Each send to a peer asleep in poll() wakes it, and on a VM that
    // wake-up (an IPI) stalls the sender for microseconds: answering a burst in one go wakes
    // the peer once instead of once per answer. The delay is one loop turn, not a timer.
    // Requests (whose sender wants to hear of a refusal) wait here too: one order for all.
    this.#outbox.push(data, port, this.#to(ip), done);
    this.#flushing ??= setImmediate(this.#flush);
  }

  readonly #flush = (): void => {
    this.#flushing = undefined;
    const out = this.#outbox;
    for (let i = 0; i < out.length; i += 4) {
      const done = out[i + 3] as SendDone | undefined;
      if (done === undefined)
        this.socket.send(out[i] as Buffer, out[i + 1] as number, out[i + 2] as string);
      else this.socket.send(out[i] as Buffer, out[i + 1] as number, out[i + 2] as string, done);
    }
    out.length = 0;
  };

  #to(ip: string): string {
    return this.family === 6 && isIPv4(ip) ? `::ffff:${ip}` : ip;
  }

  close(): Promise<void> {
    this.#closed = true;
    if (this.#flushing !== undefined) {
      clearImmediate(this.#flushing);
      this.#flush(); // answers already decided still go out
    }
    return new Promise((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve(); // never bound
      }
    });
  }
}
