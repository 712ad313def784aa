// The real XDP guard attached to an interface inside a test namespace, driven from the test
// process: the guard runs in a child process in that namespace (xdp-host-child.ts says why)
// and this side is a Dataplane whose calls cross a pipe as JSON lines.
//
//   const host = await startXdpHost(t, link.b.ns, { guard: { sourceRatePps: 10 } });
//   host.attachedMode                 // 'xdp' (native) on a veth
//   await host.ban(link.a.v4, 60, 'test');
//   (await host.counters()).banned    // per-reason kernel counters, summed over CPUs
//   host.onFlood((e) => ...)          // flood events from the ring buffer
//
// With `t`, the child is stopped in t.teardown (detaching the program); if it is killed
// instead, deleting the namespace destroys the veth and the program with it.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { CounterName } from '../../src/dataplane/layout.ts';
import type {
  AttachedMode,
  AttachMode,
  Dataplane,
  DataplaneState,
  DataplaneStats,
  FloodEvent,
  GuardConfig,
} from '../../src/dataplane/types.ts';
import type { Teardownable } from './netns.ts';

const IP = '/usr/sbin/ip';
const CHILD = fileURLToPath(new URL('./xdp-host-child.ts', import.meta.url));
const CALL_TIMEOUT_MS = 15_000;

export interface XdpHostOptions {
  ifname?: string;
  /** Further interfaces to attach to, in the same mode. */
  moreIfnames?: string[];
  attachMode?: AttachMode;
  guard?: Partial<GuardConfig>;
  eventPollMs?: number;
}

/** Bucket state as it crosses the pipe (bigints as decimal strings). */
export interface WireBucket {
  tatNs: string;
  lastEventNs: string;
  dropped: number;
}

export interface XdpHost extends Dataplane {
  readonly attachedMode: AttachedMode;
  configure(changes: Partial<GuardConfig>): Promise<void>;
  counters(): Promise<Record<CounterName, number>>;
  bans(): Promise<{ ip: string; expiresNs: string }[]>;
  bucket(ip: string): Promise<WireBucket | null>;
  setBucket(ip: string, state: WireBucket): Promise<void>;
  /** Drains the ring buffer now (events arrive through onFlood before this resolves). */
  pollEvents(): Promise<number>;
  /** The child's CLOCK_MONOTONIC, the clock the program's expiries use. */
  monotonicNs(): Promise<bigint>;
  /** SIGKILL, as a crash: nothing is detached. */
  kill(): Promise<void>;
}

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/** Starts the guard in `ns`, attached to `ifname` (veth0); resolves once it is attached. */
export async function startXdpHost(
  t: Teardownable,
  ns: string,
  options: XdpHostOptions = {},
): Promise<XdpHost> {
  const config = {
    ifname: options.ifname ?? 'veth0',
    moreIfnames: options.moreIfnames ?? [],
    attachMode: options.attachMode ?? 'auto',
    guard: options.guard ?? {},
    eventPollMs: options.eventPollMs ?? 50,
  };
  const child: ChildProcessWithoutNullStreams = spawn(
    IP,
    ['netns', 'exec', ns, process.execPath, CHILD, JSON.stringify(config)],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    if (stderr.length < 8000) stderr += chunk.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  const pending = new Map<number, Pending>();
  const listeners = new Set<(event: FloodEvent) => void>();
  let nextId = 1;
  let stopped = false;

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
  };
  t.teardown(stop);

  let ready: (mode: AttachedMode) => void = () => {};
  let failed: (err: Error) => void = () => {};
  const started = new Promise<AttachedMode>((resolve, reject) => {
    ready = resolve;
    failed = reject;
  });
  // A safety net, not a duration: Node's start and loading the program took over 20 s with
  // two busy loops beside a full test run on the shared 2-core machine.
  const startTimer = setTimeout(() => {
    child.kill('SIGKILL');
    failed(new Error(`XDP host in ${ns} not ready after 60 s: ${stderr.trim()}`));
  }, 60_000);
  void exited.then((code) => {
    clearTimeout(startTimer);
    const err = new Error(`XDP host in ${ns} exited (${code}): ${stderr.trim()}`);
    failed(err);
    for (const p of pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    pending.clear();
  });

  createInterface({ input: child.stdout }).on('line', (text) => {
    const line = JSON.parse(text) as Record<string, unknown>;
    if (line.ready === true) {
      clearTimeout(startTimer);
      ready(line.mode as AttachedMode);
    } else if (line.event === 'flood') {
      const event = { ip: line.ip, packets: line.packets, at: line.at } as FloodEvent;
      for (const listener of listeners) listener(event);
    } else if (typeof line.id === 'number') {
      const p = pending.get(line.id);
      if (p === undefined) return;
      pending.delete(line.id);
      clearTimeout(p.timer);
      if (line.ok === true) p.resolve(line.result);
      else {
        const e = line.error as { message: string; code?: string };
        p.reject(Object.assign(new Error(e.message), { code: e.code }));
      }
    }
  });

  const call = <T>(method: string, ...args: unknown[]): Promise<T> => {
    if (stopped) return Promise.reject(new Error('XDP host stopped'));
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`XDP host: ${method} got no answer in ${CALL_TIMEOUT_MS} ms`));
      }, CALL_TIMEOUT_MS);
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      child.stdin.write(`${JSON.stringify({ id, method, args })}\n`);
    });
  };

  const attachedMode = await started;
  return {
    attachedMode,
    get mode() {
      return attachedMode;
    },
    ban: (ip, ttl, reason) => call('ban', ip, ttl, reason),
    unban: (ipOrAll) => call('unban', ipOrAll),
    allowCidr: (cidr) => call('allowCidr', cidr),
    denyCidr: (cidr) => call('denyCidr', cidr),
    removeCidr: (cidr) => call('removeCidr', cidr),
    trust: (ip, ttl) => call('trust', ip, ttl),
    untrust: (ip) => call('untrust', ip),
    kernelForwarding: true,
    openRelay: (leg) => call('openRelay', leg),
    closeRelay: (port) => call('closeRelay', port),
    relayCounters: (port) => call('relayCounters', port),
    stats: () => call<DataplaneStats>('stats'),
    state: () => call<DataplaneState>('state'),
    applyGuardPolicy: (policy) => call('configure', policy),
    onFlood(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close: stop,
    configure: (changes) => call('configure', changes),
    counters: () => call('counters'),
    bans: () => call('bans'),
    bucket: (ip) => call('bucket', ip),
    setBucket: (ip, state) => call('setBucket', ip, state),
    pollEvents: () => call('pollEvents'),
    monotonicNs: async () => BigInt(await call<string>('monotonicNs')),
    async kill() {
      stopped = true;
      child.kill('SIGKILL');
      await exited;
    },
  };
}
