// CPU time of processes from /proc, for "how much CPU did the server spend on the run".
//
// /proc/PID/stat is "pid (comm) state ppid … utime stime …" (proc(5)): utime and stime are
// fields 14 and 15, in clock ticks (USER_HZ, 100 a second on Linux), and count every thread
// of the process, so Node's libuv and V8 helper threads are included. comm may hold spaces
// and parentheses, so fields are counted from the last ')'.
import { readdirSync, readFileSync } from 'node:fs';

/** USER_HZ on Linux: /proc counts CPU time in units of 10 ms. */
const MS_PER_TICK = 10;

interface StatFields {
  /** The thread's or process's name (comm). */
  comm: string;
  ppid: number;
  /** utime + stime, in ms. */
  cpuMs: number;
}

function readStat(pid: number, path = `/proc/${pid}/stat`): StatFields | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined; // gone
  }
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  // After ") ": field 3 (state) is index 0, so field N is index N - 3.
  const rest = text.slice(close + 2).split(' ');
  const utime = Number(rest[14 - 3]);
  const stime = Number(rest[15 - 3]);
  const ppid = Number(rest[4 - 3]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  const comm = text.slice(text.indexOf('(') + 1, close);
  return { comm, ppid, cpuMs: (utime + stime) * MS_PER_TICK };
}

/** utime + stime summed over the given processes, in ms (a process that is gone counts 0). */
export function cpuMs(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) total += readStat(pid)?.cpuMs ?? 0;
  return total;
}

/**
 * utime + stime per thread name over the given processes' threads (/proc/PID/task), in ms:
 * for Node, MainThread, V8Worker (GC and compiler helpers), libuv-worker, and worker threads
 * by the name they were given.
 */
export function cpuMsByThread(pids: readonly number[]): Map<string, number> {
  const byName = new Map<string, number>();
  for (const pid of pids) {
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue; // gone
    }
    for (const tid of tids) {
      const s = readStat(pid, `/proc/${pid}/task/${tid}/stat`);
      if (s !== undefined) byName.set(s.comm, (byName.get(s.comm) ?? 0) + s.cpuMs);
    }
  }
  return byName;
}

/** The direct children of a process (kamailio's workers are forked by its main process). */
export function childrenOf(parent: number): number[] {
  const children: number[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    if (readStat(pid)?.ppid === parent) children.push(pid);
  }
  return children;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
