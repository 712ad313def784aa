// rtpengine's ng control protocol (UDP; "<cookie> <bencoded dict>", reply "<cookie> <dict>"),
// for the benchmarks that drive rtpengine: bench/media's ng-calls.ts (offers, answers,
// deletes) and bench/common/rtpengine-process.ts (ping, statistics).
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';

export type Bencode = string | number | Bencode[] | { [k: string]: Bencode };
export type NgDict = Record<string, Bencode>;

export function encode(v: Bencode): Buffer {
  if (typeof v === 'number') return Buffer.from(`i${v}e`);
  if (typeof v === 'string')
    return Buffer.concat([Buffer.from(`${Buffer.byteLength(v)}:`), Buffer.from(v)]);
  if (Array.isArray(v))
    return Buffer.concat([Buffer.from('l'), ...v.map(encode), Buffer.from('e')]);
  const keys = Object.keys(v).sort();
  return Buffer.concat([
    Buffer.from('d'),
    ...keys.flatMap((k) => [encode(k), encode(v[k]!)]),
    Buffer.from('e'),
  ]);
}

export function decode(buf: Buffer, at = 0): [Bencode, number] {
  const c = String.fromCharCode(buf[at]!);
  if (c === 'i') {
    const end = buf.indexOf(0x65, at);
    return [Number(buf.subarray(at + 1, end).toString()), end + 1];
  }
  if (c === 'l' || c === 'd') {
    const list: Bencode[] = [];
    let i = at + 1;
    while (buf[i] !== 0x65) {
      const [v, next] = decode(buf, i);
      list.push(v);
      i = next;
    }
    if (c === 'l') return [list, i + 1];
    const dict: NgDict = {};
    for (let k = 0; k < list.length; k += 2) dict[list[k] as string] = list[k + 1]!;
    return [dict, i + 1];
  }
  const colon = buf.indexOf(0x3a, at);
  const len = Number(buf.subarray(at, colon).toString());
  return [buf.subarray(colon + 1, colon + 1 + len).toString(), colon + 1 + len];
}

/** One UDP socket to rtpengine's ng listener at `ADDRESS:PORT`, many commands in flight. */
export class NgClient {
  readonly #host: string;
  readonly #port: number;
  readonly #socket = dgram.createSocket('udp4');
  readonly #pending = new Map<string, (reply: NgDict) => void>();
  /** rtpengine answers a cookie it has seen from its cache: never reuse one across runs. */
  readonly #cookiePrefix = randomBytes(6).toString('hex');
  #cookieSeq = 0;

  constructor(ng: string) {
    this.#host = ng.slice(0, ng.lastIndexOf(':'));
    this.#port = Number(ng.slice(ng.lastIndexOf(':') + 1));
    this.#socket.on('message', (m) => {
      const space = m.indexOf(0x20);
      const cookie = m.subarray(0, space).toString();
      const [reply] = decode(m, space + 1);
      this.#pending.get(cookie)?.(reply as NgDict);
      this.#pending.delete(cookie);
    });
  }

  /**
   * `cmd` and rtpengine's reply, whatever its result. UDP: resent every `resendMs` under the
   * same cookie until answered (rtpengine replays its answer to a cookie it has seen instead
   * of running the command twice: that is what the cookie is for), for at most `timeoutMs`.
   */
  request(cmd: NgDict, timeoutMs = 20_000, resendMs = 1000): Promise<NgDict> {
    const cookie = `${this.#cookiePrefix}x${this.#cookieSeq++}`;
    const wire = Buffer.concat([Buffer.from(`${cookie} `), encode(cmd)]);
    return new Promise((resolve, reject) => {
      const deadline = Date.now() + timeoutMs;
      const resend = setInterval(() => {
        if (Date.now() >= deadline) {
          clearInterval(resend);
          this.#pending.delete(cookie);
          reject(new Error(`ng ${cmd.command}: no reply in ${timeoutMs / 1000} s`));
          return;
        }
        this.#socket.send(wire, this.#port, this.#host);
      }, resendMs);
      this.#pending.set(cookie, (reply) => {
        clearInterval(resend);
        resolve(reply);
      });
      this.#socket.send(wire, this.#port, this.#host);
    });
  }

  close(): void {
    this.#socket.close();
  }
}
