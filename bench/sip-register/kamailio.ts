// Starts Debian's kamailio in the foreground with bench/sip-register/kamailio.cfg, on a free
// UDP port of 127.0.0.1, with its pid file and runtime directory in the benchmark's temporary
// directory, and stops it (and every process it forked) again.
import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import { spawnKamailio } from '../common/kamailio-process.ts';

export const KAMAILIO_CFG = join(import.meta.dirname, 'kamailio.cfg');

export interface Kamailio {
  port: number;
  /** The main process and the processes it forked (UDP workers, timers, attendant). */
  pids: number[];
  /** How many of them receive and handle SIP (children=, or -n). */
  workers: number;
  stateful: boolean;
  stop(): Promise<void>;
}

export interface KamailioOptions {
  dir: string;
  realm: string;
  user: string;
  password: string;
  workers: number;
  /** Keep a tm transaction per REGISTER (kamailio.cfg STATEFUL), as tollgate does. */
  stateful: boolean;
}

/** A UDP port of 127.0.0.1 that nobody has bound right now. */
export function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Sends OPTIONS over UDP until a 200 comes back: the server has bound its socket and its
 * workers answer (both servers answer OPTIONS with 200).
 */
export async function waitForOptions(port: number, timeoutMs: number): Promise<void> {
  const s = createSocket('udp4');
  const deadline = Date.now() + timeoutMs;
  try {
    await new Promise<void>((resolve, reject) => {
      s.on('message', (msg) => {
        if (msg.toString('latin1').startsWith('SIP/2.0 200')) resolve();
      });
      s.once('error', reject);
      s.bind(0, '127.0.0.1', () => {
        const { port: local } = s.address();
        let n = 0;
        const probe = () => {
          if (Date.now() > deadline) {
            reject(new Error(`no 200 to OPTIONS from 127.0.0.1:${port} in ${timeoutMs} ms`));
            return;
          }
          n++;
          const text =
            `OPTIONS sip:127.0.0.1:${port} SIP/2.0\r\n` +
            `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=z9hG4bK-probe-${n};rport\r\n` +
            `From: <sip:probe@127.0.0.1>;tag=probe${n}\r\n` +
            `To: <sip:127.0.0.1:${port}>\r\n` +
            `Call-ID: probe-${n}-${process.pid}@127.0.0.1\r\n` +
            'CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n';
          s.send(text, port, '127.0.0.1');
          timer = setTimeout(probe, 200);
        };
        let timer = setTimeout(probe, 0);
        s.once('close', () => clearTimeout(timer));
      });
    });
  } finally {
    s.close();
  }
}

export async function startKamailio(o: KamailioOptions): Promise<Kamailio> {
  const port = await freeUdpPort();
  const k = await spawnKamailio({
    cfg: KAMAILIO_CFG,
    listen: `udp:127.0.0.1:${port}`,
    dir: o.dir,
    realm: o.realm,
    user: o.user,
    password: o.password,
    args: [
      ...['-n', String(o.workers)],
      ...(o.stateful ? ['-A', 'STATEFUL'] : []),
      // Shared memory (MB) for usrloc and, stateful, tm's transactions: at ~20,000
      // REGISTERs/s each kept 5 s, 128 MB runs out (tm: "out of mem", 500s); private (MB).
      ...['-m', '1024', '-M', '8'],
    ],
    ready: () => waitForOptions(port, 10_000),
  });
  return { ...k, port, workers: o.workers, stateful: o.stateful };
}
