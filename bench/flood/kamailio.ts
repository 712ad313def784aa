// Starts Debian's kamailio with bench/flood/kamailio.cfg (registrar + stock pike/htable
// anti-flood) inside a network namespace, and stops it and every process it forked again.
import { join } from 'node:path';
import { exec } from '../../tests/helpers/netns.ts';
import { spawnKamailio } from '../common/kamailio-process.ts';

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
  let bans = 0;
  const k = await spawnKamailio({
    cfg: KAMAILIO_CFG,
    listen: `udp:${o.address}:${o.port}`,
    dir: o.dir,
    realm: o.realm,
    user: o.user,
    password: o.password,
    args: ['-m', '256', '-M', '8'],
    env: { BENCH_TRUSTED: o.trusted },
    netns: o.ns,
    onLog: (chunk) => {
      bans += chunk.split('pike blocking').length - 1;
    },
    // Binding comes before the workers fork; give them a moment.
    ready: async () => {
      await waitForUdpPort(o.ns, o.port, 10_000);
      await new Promise((r) => setTimeout(r, 500));
    },
  });
  return { ...k, bans: () => bans };
}
