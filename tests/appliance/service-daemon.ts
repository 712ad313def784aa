// The daemon as the shipped unit runs it: an unprivileged user holding only the unit's
// capabilities (setpriv(1) gives what systemd's User=, AmbientCapabilities= and
// CapabilityBoundingSet= give), inside a test namespace. Stopped when the test ends.
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, chownSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { run, TOLLGATE, TOLLGATECTL, testConfig } from '../helpers/daemon.ts';
import { tempDir } from '../helpers/tmp.ts';
import { setprivCaps } from './unit.ts';

export const NOBODY = 65534;

export interface ServiceDaemon {
  dataDir: string;
  socket: string;
  status: { pid: number; dataplane: { mode: string; reason: string } };
  log: () => string;
  ctl(...args: string[]): ReturnType<typeof run>;
  stop(): Promise<void>;
  /** SIGKILL, as a crash or the OOM killer: nothing is cleaned up. Resolves once it is gone. */
  kill(): Promise<void>;
}

export async function startAs(
  t: ExecutionContext,
  opts: {
    ns: string;
    caps: readonly string[];
    sipAddress: string;
    uid?: number;
    gid?: number;
    config?: Record<string, string | number>;
    /** A restart: the data directory (and its config) of an earlier startAs. */
    dataDir?: string;
  },
): Promise<ServiceDaemon> {
  const uid = opts.uid ?? NOBODY;
  const gid = opts.gid ?? NOBODY;
  const dataDir = opts.dataDir ?? tempDir(t);
  const configFile = opts.dataDir
    ? join(dataDir, 'tollgate.conf')
    : await testConfig(dataDir, {
        sipaddress: opts.sipAddress,
        dataplanemode: 'auto',
        ...opts.config,
      });
  chownSync(dataDir, uid, gid);
  chownSync(configFile, uid, gid);
  chmodSync(dataDir, 0o700);
  const set = setprivCaps(opts.caps);
  // biome-ignore format: one option per line reads worse here
  const argv = [
    'netns', 'exec', opts.ns,
    'setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups',
    `--inh-caps=${set}`, `--ambient-caps=${set}`, `--bounding-set=${set}`, '--no-new-privs',
    process.execPath, TOLLGATE, 'serve', '--data', dataDir, '--config', configFile,
  ];
  const child: ChildProcess = spawn('ip', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr!.on('data', (c) => (stderr += c));
  child.stdout!.on('data', (c) => (stdout += c));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (stderr.includes('tollgate is running')) {
        clearInterval(timer);
        resolve();
      } else if (child.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`daemon exited with ${child.exitCode}: ${stderr}`));
      }
    }, 50);
  });
  const ctl = (...args: string[]) => run(TOLLGATECTL, ['--data', dataDir, ...args]);
  const status = JSON.parse((await ctl('status', '--json')).stdout) as ServiceDaemon['status'];
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('close', () => resolve());
      child.kill('SIGTERM');
    });
  const kill = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('close', () => resolve());
      child.kill('SIGKILL');
    });
  return {
    dataDir,
    socket: `${dataDir}/tollgate.sock`,
    status,
    log: () => stdout,
    ctl,
    stop,
    kill,
  };
}
