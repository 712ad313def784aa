// Test helpers for the media relay: a block of consecutive free ports for a relay range
// (taken through the shared allocator's locks, tests/helpers/ports.ts), and RTP packets.
import { createSocket, type Socket } from 'node:dgram';
import { releasePort, takePort } from './ports.ts';

/** `count` consecutive ports, the first even, free on TCP and UDP and locked for this process. */
export async function allocatePortRange(count: number): Promise<{ min: number; max: number }> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 21_000 + 2 * Math.floor(Math.random() * 5_000);
    const taken: number[] = [];
    for (let p = base; p < base + count; p++) {
      if (!(await takePort(p))) break;
      taken.push(p);
    }
    if (taken.length === count) return { min: base, max: base + count - 1 };
    for (const p of taken) releasePort(p);
  }
  throw new Error(`no ${count} consecutive free ports`);
}

/** A minimal RTP packet (RFC 3550 §5.1): version 2, PCMU, the given sequence number. */
export function rtp(seq: number, payload = 'media'): Buffer {
  const b = Buffer.alloc(12 + payload.length);
  b[0] = 0x80;
  b[1] = 0;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE(seq * 160, 4);
  b.writeUInt32BE(0x1234abcd, 8);
  b.write(payload, 12, 'latin1');
  return b;
}

export interface Received {
  data: Buffer;
  ip: string;
  port: number;
}

/** A UDP endpoint that records what it receives. */
export class Peer {
  readonly socket: Socket;
  readonly got: Received[] = [];
  #waiters: Array<() => void> = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('message', (data, r) => {
      this.got.push({ data, ip: r.address, port: r.port });
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  static async open(ip = '127.0.0.1', port = 0): Promise<Peer> {
    const s = createSocket(ip.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(port, ip, () => resolve());
    });
    return new Peer(s);
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(data: Buffer, port: number, ip = '127.0.0.1'): Promise<void> {
    return new Promise((resolve, reject) =>
      this.socket.send(data, port, ip, (err) => (err ? reject(err) : resolve())),
    );
  }

  /** Resolves once `n` datagrams in all have arrived; rejects after `ms` (a safety net). */
  async waitFor(n: number, ms = 5000): Promise<Received[]> {
    const deadline = Date.now() + ms;
    while (this.got.length < n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`got ${this.got.length} of ${n} datagrams`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.got;
  }

  close(): void {
    this.socket.close();
  }
}
