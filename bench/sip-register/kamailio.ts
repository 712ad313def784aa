// Starts Debian's kamailio in the foreground with bench/sip-register/kamailio.cfg, on a free
// UDP port of 127.0.0.1, with its pid file and runtime directory in the benchmark's temporary
// directory, and stops it (and every process it forked) again.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { alive, childrenOf } from './proc.ts';

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
  const runDir = join(o.dir, 'kamailio-run');
  mkdirSync(runDir, { recursive: true });
  const ha1 = createHash('md5').update(`${o.user}:${o.realm}:${o.password}`).digest('hex');
  const child: ChildProcess = spawn(
    'kamailio',
    [
      '-f',
      KAMAILIO_CFG,
      // Foreground, logs to stderr: the benchmark owns it and kills it at the end.
      '-DD',
      '-E',
      '-l',
      `udp:127.0.0.1:${port}`,
      '-n',
      String(o.workers),
      '-P',
      join(runDir, 'kamailio.pid'),
      '-Y',
      runDir,
      '-w',
      runDir,
      ...(o.stateful ? ['-A', 'STATEFUL'] : []),
      // Shared memory (MB) for usrloc and, stateful, tm's transactions: at ~20,000
      // REGISTERs/s each kept 5 s, 128 MB runs out (tm: "out of mem", 500s); private (MB).
      '-m',
      '1024',
      '-M',
      '8',
    ],
    {
      cwd: runDir,
      env: {
        ...process.env,
        BENCH_REALM: o.realm,
        BENCH_HA1: ha1,
        BENCH_SECRET: randomBytes(16).toString('hex'),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (c) => {
    stderr = (stderr + c).slice(-8000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const main = child.pid;
  if (main === undefined) throw new Error('kamailio did not start (is it installed?)');
  let forked: number[] = [];
  const stop = async () => {
    // kamailio's main process terminates its children on SIGTERM; anything left is killed.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    for (const pid of [main, ...forked]) {
      if (alive(pid)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    }
  };
  try {
    await Promise.race([
      waitForOptions(port, 10_000),
      exited.then(() => {
        throw new Error(`kamailio exited: ${stderr}`);
      }),
    ]);
  } catch (err) {
    await stop();
    throw err;
  }
  forked = childrenOf(main);
  return { port, pids: [main, ...forked], workers: o.workers, stateful: o.stateful, stop };
}
