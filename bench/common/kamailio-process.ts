// Runs Debian's kamailio in the foreground for a benchmark (the benchmark owns it): its pid
// file and runtime directory in the benchmark's temporary directory, the account's HA1 and
// realm handed to the config through the environment, and a stop() that leaves no process
// behind (kamailio forks workers, timers and an attendant).
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { alive, childrenOf } from './proc.ts';

export interface KamailioProcess {
  /** The main process and the processes it forked (UDP workers, timers, attendant). */
  pids: number[];
  stop(): Promise<void>;
}

export interface KamailioSpawn {
  cfg: string;
  /** `udp:ADDRESS:PORT` */
  listen: string;
  dir: string;
  realm: string;
  user: string;
  password: string;
  /** More kamailio options (-n workers, -A defines, -m shared memory MB). */
  args: string[];
  /** More BENCH_* variables the config reads. */
  env?: Record<string, string>;
  /** Run inside this network namespace (`ip netns exec` execs kamailio). */
  netns?: string;
  /** Resolves when kamailio serves; raced against kamailio exiting. */
  ready(): Promise<void>;
  /** Every chunk kamailio writes to stderr (its log). */
  onLog?(chunk: string): void;
}

export async function spawnKamailio(o: KamailioSpawn): Promise<KamailioProcess> {
  const runDir = join(o.dir, 'kamailio-run');
  mkdirSync(runDir, { recursive: true });
  const ha1 = createHash('md5').update(`${o.user}:${o.realm}:${o.password}`).digest('hex');
  const argv = [
    'kamailio',
    ...['-f', o.cfg, '-DD', '-E', '-l', o.listen],
    ...['-P', join(runDir, 'kamailio.pid'), '-Y', runDir, '-w', runDir],
    ...o.args,
  ];
  const [command, ...args] = o.netns ? ['/usr/sbin/ip', 'netns', 'exec', o.netns, ...argv] : argv;
  const child: ChildProcess = spawn(command!, args, {
    cwd: runDir,
    env: {
      ...process.env,
      BENCH_REALM: o.realm,
      BENCH_HA1: ha1,
      BENCH_SECRET: randomBytes(16).toString('hex'),
      ...o.env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (c) => {
    stderr = (stderr + c).slice(-8000);
    o.onLog?.(String(c));
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
      o.ready(),
      exited.then(() => {
        throw new Error(`kamailio exited: ${stderr}`);
      }),
    ]);
  } catch (err) {
    await stop();
    throw err;
  }
  forked = childrenOf(main);
  return { pids: [main, ...forked], stop };
}
