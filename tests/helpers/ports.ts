// The one place tests get a port to listen on, shared by ava's worker processes (one per test
// file) and by anything else on the machine that uses this module.
//
//   const sipport = await allocatePort();   // free on TCP and UDP, reserved until exit
//
// Why not "bind port 0, read the port, close": the port is free only until someone else
// binds it — another worker doing the same, SIPp with -p 0, any outgoing connection's
// ephemeral port — and the daemon binds it later. Two things close that race:
//   1. Ports come from a range outside the kernel's ephemeral range
//      (/proc/sys/net/ipv4/ip_local_port_range), so no port the kernel picks by itself
//      (connect, bind to 0) can ever be one of ours.
//   2. Inside that range, processes take a port by creating <LOCK_DIR>/<port> with O_EXCL
//      (the kernel makes exactly one creator win), holding the owner's pid. The files are
//      removed when the process exits; a file whose pid is dead (a killed run) is stale and
//      taken over. Before handing a port out it is bound on TCP and UDP (wildcard address,
//      so a socket on any local address conflicts), which catches a non-test listener.

import { createSocket } from 'node:dgram';
import { mkdirSync, readFileSync, rmdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** /run is emptied at boot, so a lock can never outlive the machine's uptime. */
export const LOCK_DIR = pickLockDir();
/** Below: tollgate's default media ports (10000..20000), where sipport may not lie. */
const LOW = 21_000;
const RANGES: ReadonlyArray<readonly [number, number]> = [
  [LOW, 32_767],
  [61_000, 65_535],
];

const mine = new Set<number>();

function pickLockDir(): string {
  for (const base of ['/run', tmpdir()]) {
    const dir = join(base, 'tollgate-test-ports');
    try {
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      return dir;
    } catch {
      // not writable here: try the next
    }
  }
  throw new Error('tests/helpers/ports.ts: no writable directory for port locks');
}

function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (Number.isInteger(lo) && Number.isInteger(hi)) return [lo!, hi!];
  } catch {
    // not Linux or no /proc: assume the kernel default
  }
  return [32_768, 60_999];
}

/** Candidate ports: the ranges above minus the ephemeral range (all of them if none is left). */
function candidates(): number[] {
  const [elo, ehi] = ephemeralRange();
  const out: number[] = [];
  for (const [lo, hi] of RANGES) for (let p = lo; p <= hi; p++) if (p < elo || p > ehi) out.push(p);
  if (out.length > 0) return out;
  for (let p = LOW; p <= 32_767; p++) out.push(p);
  return out;
}

const CANDIDATES = candidates();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Creates the lock file for `port`, or takes over a stale one; false when someone holds it. */
function lock(port: number): boolean {
  const file = join(LOCK_DIR, String(port));
  try {
    writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  let owner: number;
  try {
    owner = Number(readFileSync(file, 'utf8').trim());
  } catch {
    return false; // removed meanwhile: another process is about to take it; move on
  }
  if (!Number.isInteger(owner) || owner <= 0 || owner === process.pid || alive(owner)) return false;
  // Stale. Taking it over happens under one directory-wide mutex (mkdir is atomic), so two
  // takers never both remove and re-create it, and under it the owner is read again: only a
  // lock still held by the dead owner is removed. A fresh lock can only appear through the
  // O_EXCL create, which fails while the file exists, so nothing valid is ever removed.
  if (!takeoverMutex()) return false;
  try {
    try {
      if (Number(readFileSync(file, 'utf8').trim()) !== owner) return false;
    } catch {
      return false;
    }
    unlinkIfThere(file);
    writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
    return true;
  } catch {
    return false;
  } finally {
    rmdirSync(TAKEOVER, { recursive: false });
  }
}

const TAKEOVER = join(LOCK_DIR, '.takeover');

/** Takes the takeover mutex; a mutex left by a process that died holding it goes after 10 s. */
function takeoverMutex(): boolean {
  try {
    mkdirSync(TAKEOVER);
    return true;
  } catch {
    try {
      if (Date.now() - statSync(TAKEOVER).mtimeMs > 10_000) rmdirSync(TAKEOVER);
    } catch {
      // gone meanwhile
    }
    return false;
  }
}

function unlinkIfThere(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}

function unlock(port: number): void {
  unlinkIfThere(join(LOCK_DIR, String(port)));
}

function tcpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ port, host: '0.0.0.0', exclusive: true }, () => s.close(() => resolve(true)));
  });
}

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind({ port, address: '0.0.0.0', exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/**
 * A port free on TCP and UDP on every local IPv4 address, reserved for this process until it
 * exits: no other user of this module gets it, and the kernel never hands it out by itself.
 */
export async function allocatePort(): Promise<number> {
  const start = Math.floor(Math.random() * CANDIDATES.length);
  for (let i = 0; i < CANDIDATES.length; i++) {
    const port = CANDIDATES[(start + i) % CANDIDATES.length]!;
    if (await takePort(port)) return port;
  }
  throw new Error(`no free port in ${RANGES.map((r) => r.join('..')).join(', ')} (${LOCK_DIR})`);
}

/**
 * Takes one given port the same way (lock, then a TCP and a UDP bind): true when it is now
 * this process's. For a test that needs a particular port; others use allocatePort().
 */
export async function takePort(port: number): Promise<boolean> {
  if (mine.has(port) || !lock(port)) return false;
  if ((await tcpFree(port)) && (await udpFree(port))) {
    mine.add(port);
    return true;
  }
  unlock(port);
  return false;
}

/** Gives a port back before the process exits (optional: exit releases them all). */
export function releasePort(port: number): void {
  if (mine.delete(port)) unlock(port);
}

process.once('exit', () => {
  for (const port of mine) unlock(port);
});
