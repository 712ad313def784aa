// One UDP socket bound to one local address. RFC 3261 §18.1.1/§18.2.1: one datagram carries
// one message; what it means is the caller's business (SipTransports.onDatagram). The socket
// itself lives in the process's UDP thread (udp-thread.ts), which does its system calls.
import { isIPv4, isIPv6 } from 'node:net';
import { bindError } from './bind.ts';
import type { ListenAddress, Source } from './types.ts';
import { type SendDone, type UdpSocketOwner, udpThread } from './udp-thread.ts';

export type { SendDone } from './udp-thread.ts';

/** The largest UDP payload over IPv4 (65535 - 8 octets UDP header - 20 octets IP header). */
export const MAX_DATAGRAM = 65_507;

export class UdpEndpoint implements UdpSocketOwner {
  readonly family: 4 | 6;
  /** The socket's number in the UDP thread, once open() is called. */
  #socket = 0;
  private bound: ListenAddress;
  /** '::' without ipv6Only also carries IPv4 (as ::ffff:a.b.c.d). */
  readonly dualStack: boolean;
  #opened: { resolve: () => void; reject: (err: Error) => void } | undefined;
  #closed: Promise<void> | undefined;
  #closedNow: (() => void) | undefined;
  /** SipTransports' cache of the last datagram's Source, and the address it was made from. */
  lastAddress: string | undefined = undefined;
  lastSource: Source | undefined = undefined;

  readonly #receive: (buf: Buffer, address: string, port: number) => void;

  constructor(at: ListenAddress, receive: (buf: Buffer, address: string, port: number) => void) {
    this.#receive = receive;
    this.family = isIPv6(at.ip) ? 6 : 4;
    this.dualStack = at.ip === '::';
    this.bound = at;
  }

  get local(): ListenAddress {
    return this.bound;
  }

  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#opened = { resolve, reject };
      this.#socket = udpThread().open(this, this.bound.ip, this.bound.port, this.family);
    });
  }

  onOpened(port: number, err: Error | null): void {
    const opened = this.#opened!;
    this.#opened = undefined;
    if (err !== null) {
      this.#socket = 0;
      this.#closedNow?.();
      opened.reject(bindError('udp', this.bound, err));
      return;
    }
    this.bound = { ip: this.bound.ip, port };
    // Closed while it was being bound: it is closed now, and the opener told it is open.
    if (this.#closed !== undefined) udpThread().close(this.#socket);
    opened.resolve();
  }

  onDatagram(data: Buffer, address: string, port: number): void {
    if (this.#closed === undefined) this.#receive(data, address, port);
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
   * in the same queue as sendNow's, so nothing sent before it is overtaken: a proxied
   * re-INVITE must not overtake the ACK forwarded just before it (a UAS may take that as an
   * error, RFC 3261 §14.2).
   */
  send(data: Buffer, ip: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.sendNow(data, ip, port, (err) => (err ? reject(err) : resolve()));
    });
  }

  /**
   * Sends by the end of this event-loop turn, without a promise or a tick. What the kernel
   * refuses then goes to `done` (an error; null when sent) when given, and is otherwise lost
   * like a datagram lost on the way, which is what UDP senders are built for (RFC 3261 §17:
   * the retransmission timers). The one refusal known in advance, a datagram too large for
   * UDP, is thrown here.
   */
  sendNow(data: Buffer, ip: string, port: number, done?: SendDone): void {
    if (data.length > MAX_DATAGRAM)
      throw new RangeError(`${data.length} octets do not fit a datagram`);
    if (this.#closed !== undefined || this.#socket === 0) throw new Error('UDP socket closed');
    // Queued to the UDP thread at once, in the order given; the thread is woken for the
    // queue once per turn, or every few datagrams of a long one (udp-thread.ts WAKE_EVERY),
    // so a burst of answers wakes the peer once, not once per answer.
    if (!udpThread().send(this.#socket, data, this.#to(ip), port, done))
      throw new Error('UDP send queue full');
  }

  #to(ip: string): string {
    return this.family === 6 && isIPv4(ip) ? `::ffff:${ip}` : ip;
  }

  /** Closes the socket once what was already handed over has been sent. */
  close(): Promise<void> {
    if (this.#closed !== undefined) return this.#closed;
    this.#closed = new Promise((resolve) => (this.#closedNow = resolve));
    if (this.#socket === 0)
      this.#closedNow!(); // never bound
    else if (this.#opened === undefined) udpThread().close(this.#socket);
    // else: onOpened closes it once the thread has bound it.
    return this.#closed;
  }

  onClosed(): void {
    this.#socket = 0;
    this.#closedNow?.();
  }
}
