// Starts Debian's kamailio with bench/flood/kamailio.cfg (registrar + stock pike/htable
// anti-flood) inside a network namespace, and stops it and every process it forked again.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { exec } from '../../tests/helpers/netns.ts';
import { alive, childrenOf } from '../sip-register/proc.ts';

export const KAMAILIO_CFG = join(import.meta.dirname, 'kamailio.cfg');

export interface FloodKamailio {
  /** The main process and the processes it forked (UDP workers, timers, attendant). */
  pids: number[];
  /** Sources pike has put in the htable ban list so far (its ALERT log lines). */
  bans(): number;
  stop(): Promise<void>;
}

export interface FloodKamailioOptions {
  ns: string;
  address: string;
  port: number;
  dir: string;
  realm: string;
  user: string;
  password: string;
  /** The legitimate client's address, exempt from pike (see kamailio.cfg). */
  trusted: string;
}

/** Resolves once a UDP socket is bound to port in ns (kamailio's workers are then up). */
async function waitForUdpPort(ns: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { stdout } = await exec(ns, ['ss', '-Hlun', `sport = :${port}`]);
    if (stdout.trim() !== '') return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`kamailio did not bind UDP port ${port} in ${timeoutMs} ms`);
}

export async function startKamailioIn(o: FloodKamailioOptions): Promise<FloodKamailio> {
  const runDir = join(o.dir, 'kamailio-run');
  mkdirSync(runDir, { recursive: true });
  const ha1 = createHash('md5').update(`${o.user}:${o.realm}:${o.password}`).digest('hex');
  // `ip netns exec` execs kamailio, so the child is kamailio's main process.
  const child: ChildProcess = spawn(
    '/usr/sbin/ip',
    [
      'netns',
      'exec',
      o.ns,
      'kamailio',
      '-f',
      KAMAILIO_CFG,
      '-DD',
      '-E',
      '-l',
      `udp:${o.address}:${o.port}`,
      '-P',
      join(runDir, 'kamailio.pid'),
      '-Y',
      runDir,
      '-w',
      runDir,
      '-m',
      '256',
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
        BENCH_TRUSTED: o.trusted,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  let bans = 0;
  child.stderr?.on('data', (c) => {
    stderr = (stderr + c).slice(-8000);
    bans += String(c).split('pike blocking').length - 1;
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
      if (!alive(pid)) continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  };
  try {
    await Promise.race([
      waitForUdpPort(o.ns, o.port, 10_000),
      exited.then(() => {
        throw new Error(`kamailio exited: ${stderr}`);
      }),
    ]);
    // Binding comes before the workers fork; give them a moment.
    await new Promise((r) => setTimeout(r, 500));
  } catch (err) {
    await stop();
    throw err;
  }
  forked = childrenOf(main);
  return { pids: [main, ...forked], bans: () => bans, stop };
}
