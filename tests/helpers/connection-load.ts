// Connection load from inside a network namespace: the slowloris side (idle and slow TCP/TLS
// connections held from many source addresses) and the legitimate side (phones registering
// over TCP and TLS with digest authentication, timed). Run as a child process, because a
// Node process cannot enter a namespace itself:
//
//   const load = startConnectionLoad(ns, { mode: 'hold', ... });   // tests, bench/exhaustion
//   await load.until((s) => s.open >= 60);                           // status lines, no sleeps
//   const r = await runRegisters(ns, { mode: 'register', ... });    // one JSON result each
//
// or directly: ip netns exec NS node tests/helpers/connection-load.ts '<json>'.
// The child prints JSON lines on stdout and exits when its stdin closes (so a test or bench
// that dies takes its load with it).
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { connect as tlsConnect } from 'node:tls';
import { authorization, challenges } from './sip-client.ts';

export type Behaviour =
  /** Connects (and for TLS shakes hands), then says nothing. */
  | 'idle'
  /** Connects, then sends a REGISTER one octet every slowIntervalMs, never finishing it. */
  | 'slow'
  /** TLS port, but never starts the handshake. */
  | 'nohandshake';

export interface HoldKind {
  transport: 'tcp' | 'tls';
  behaviour: Behaviour;
  /** Connections of this kind from each source address. */
  perSource: number;
}

export interface HoldOptions {
  mode: 'hold';
  target: string;
  tcpPort: number;
  tlsPort: number;
  sources: string[];
  kinds: HoldKind[];
  slowIntervalMs: number;
  /** A closed connection is opened again after this (an attacker keeps the pressure on). */
  reconnectMs: number;
  /** Spread the first connects over this long (a SYN burst of thousands is not the point). */
  rampMs?: number;
}

export interface HoldStatus {
  type: 'status';
  /** Connected now (TLS: handshake done, or TCP connected for nohandshake). */
  open: number;
  /** Closed by the server since start, per kind ("tcp-idle", "tls-slow", ...). */
  closed: Record<string, number>;
  connects: number;
}

export interface RegisterOptions {
  mode: 'register';
  target: string;
  port: number;
  transport: 'tcp' | 'tls';
  /** Local addresses to register from, used in turn. */
  from: string[];
  /** The account to register; `users` (one per `from` address) takes precedence. */
  user: string;
  users?: string[];
  /**
   * The port in the Contact (a phone's listening port, the same for every registration so
   * each refreshes its binding); the default is the connection's local port.
   */
  contactPort?: number;
  password: string;
  domain: string;
  /** Registrations, each over a new connection. */
  count: number;
  /** Registrations in flight at once. */
  concurrency: number;
  /** One registration (connect, challenge, answer) must finish within this. */
  timeoutMs: number;
  /**
   * Keep each registered connection open, as a phone does (the default closes it); a kept
   * connection the server closes is reported as a `kept-closed` line.
   */
  keepOpen?: boolean;
}

export interface RegisterResult {
  type: 'register';
  ok: boolean;
  ms: number;
  from: string;
  status?: number;
  error?: string;
}

// ---- parent side

export interface RunningLoad {
  child: ChildProcess;
  /** The newest status line. */
  last(): HoldStatus | undefined;
  results(): RegisterResult[];
  /** Registered connections (keepOpen) that the server closed. */
  keptClosed(): number;
  /** Resolves once a status line satisfies `cond` (bounded by timeoutMs). */
  until(cond: (s: HoldStatus) => boolean, what: string, timeoutMs?: number): Promise<HoldStatus>;
  /** Resolves once `n` register results have come. */
  resultsDone(n: number, timeoutMs?: number): Promise<RegisterResult[]>;
  stop(): Promise<void>;
}

const SCRIPT = import.meta.filename;

export function startConnectionLoad(
  ns: string,
  options: HoldOptions | RegisterOptions,
  teardown?: { teardown(fn: () => unknown): void },
): RunningLoad {
  const child = spawn(
    'ip',
    ['netns', 'exec', ns, process.execPath, SCRIPT, JSON.stringify(options)],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let last: HoldStatus | undefined;
  const results: RegisterResult[] = [];
  let keptClosed = 0;
  const waiters = new Set<() => void>();
  let stderr = '';
  let buffered = '';
  let exited = false;
  child.stderr!.on('data', (c) => {
    stderr = (stderr + c).slice(-4000);
  });
  child.stdout!.on('data', (c) => {
    buffered += c;
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      if (!line) continue;
      const m = JSON.parse(line) as HoldStatus | RegisterResult | { type: 'kept-closed' };
      if (m.type === 'status') last = m;
      else if (m.type === 'kept-closed') keptClosed++;
      else results.push(m);
    }
    for (const w of waiters) w();
  });
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      for (const w of waiters) w();
      resolve();
    }),
  );
  const stop = async () => {
    if (!exited) {
      child.stdin!.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exit;
      clearTimeout(timer);
    }
  };
  teardown?.teardown(stop);
  const wait = <T>(check: () => T | undefined, what: string, timeoutMs: number) =>
    new Promise<T>((resolve, reject) => {
      const done = (fn: () => void) => {
        waiters.delete(poll);
        clearTimeout(timer);
        fn();
      };
      const poll = () => {
        const v = check();
        if (v !== undefined) done(() => resolve(v));
        else if (exited) done(() => reject(new Error(`load exited before ${what}: ${stderr}`)));
      };
      const timer = setTimeout(
        () => done(() => reject(new Error(`timed out waiting for ${what}: ${stderr}`))),
        timeoutMs,
      );
      waiters.add(poll);
      poll();
    });
  return {
    child,
    last: () => last,
    results: () => results,
    keptClosed: () => keptClosed,
    until: (cond, what, timeoutMs = 60_000) =>
      wait(() => (last !== undefined && cond(last) ? last : undefined), what, timeoutMs),
    resultsDone: (n, timeoutMs = 120_000) =>
      wait(() => (results.length >= n ? results : undefined), `${n} results`, timeoutMs),
    stop,
  };
}

// ---- child side

function registerText(o: {
  user: string;
  domain: string;
  transport: 'tcp' | 'tls';
  from: string;
  port: number;
  callId: string;
  cseq: number;
  authorization?: string;
}): string {
  const via = o.transport.toUpperCase();
  return [
    `REGISTER sip:${o.domain} SIP/2.0`,
    `Via: SIP/2.0/${via} ${o.from}:${o.port};branch=z9hG4bK${randomBytes(6).toString('hex')};rport`,
    'Max-Forwards: 70',
    `From: <sip:${o.user}@${o.domain}>;tag=${randomBytes(4).toString('hex')}`,
    `To: <sip:${o.user}@${o.domain}>`,
    `Call-ID: ${o.callId}`,
    `CSeq: ${o.cseq} REGISTER`,
    `Contact: <sip:${o.user}@${o.from}:${o.port};transport=${o.transport}>`,
    'Expires: 300',
    ...(o.authorization ? [`Authorization: ${o.authorization}`] : []),
    'User-Agent: tollgate-connection-load',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

function open(
  transport: 'tcp' | 'tls',
  host: string,
  port: number,
  from: string,
  raw = false,
): Socket {
  const tcp = netConnect({ host, port, localAddress: from });
  if (transport === 'tcp' || raw) return tcp;
  return tlsConnect({ socket: tcp, rejectUnauthorized: false, minVersion: 'TLSv1.2' });
}

function hold(o: HoldOptions): void {
  let openNow = 0;
  let connects = 0;
  const closed: Record<string, number> = {};
  const sockets = new Set<Socket>();
  let stopping = false;
  const slow = Buffer.from(
    registerText({
      user: 'slow',
      domain: o.target,
      transport: 'tcp',
      from: o.sources[0] ?? o.target,
      port: 5060,
      callId: 'slow',
      cseq: 1,
    }),
  );

  const one = (kind: HoldKind, from: string) => {
    if (stopping) return;
    const name = `${kind.transport}-${kind.behaviour}`;
    const port = kind.transport === 'tcp' ? o.tcpPort : o.tlsPort;
    const sock = open(kind.transport, o.target, port, from, kind.behaviour === 'nohandshake');
    sockets.add(sock);
    let up = false;
    let drip: NodeJS.Timeout | undefined;
    const ready =
      kind.transport === 'tls' && kind.behaviour !== 'nohandshake' ? 'secureConnect' : 'connect';
    sock.once(ready, () => {
      up = true;
      openNow++;
      connects++;
      if (kind.behaviour === 'slow') {
        let sent = 0;
        drip = setInterval(() => {
          sock.write(slow.subarray(sent % slow.length, (sent % slow.length) + 1));
          sent++;
        }, o.slowIntervalMs);
      }
    });
    sock.on('error', () => {});
    sock.on('data', () => {});
    sock.once('close', () => {
      sockets.delete(sock);
      if (drip) clearInterval(drip);
      if (up) openNow--;
      closed[name] = (closed[name] ?? 0) + 1;
      if (!stopping) setTimeout(() => one(kind, from), o.reconnectMs).unref();
    });
  };

  const all: Array<[HoldKind, string]> = [];
  for (const from of o.sources)
    for (const kind of o.kinds) for (let i = 0; i < kind.perSource; i++) all.push([kind, from]);
  const ramp = o.rampMs ?? 0;
  all.forEach(([kind, from], i) => {
    const at = all.length > 1 ? (ramp * i) / (all.length - 1) : 0;
    setTimeout(() => one(kind, from), at).unref();
  });
  const status = setInterval(() => {
    const s: HoldStatus = { type: 'status', open: openNow, closed, connects };
    process.stdout.write(`${JSON.stringify(s)}\n`);
  }, 100);
  process.stdin.on('end', () => {
    stopping = true;
    clearInterval(status);
    for (const s of sockets) s.destroy();
    setTimeout(() => process.exit(0), 100).unref();
  });
  process.stdin.resume();
}

/** Reads SIP responses off a stream: header block, then Content-Length octets. */
function responses(sock: Socket): () => Promise<{ status: number; headers: string[] }> {
  let data = Buffer.alloc(0);
  const queue: Array<{ status: number; headers: string[] }> = [];
  const waiting: Array<(r: { status: number; headers: string[] }) => void> = [];
  sock.on('data', (chunk: Buffer) => {
    data = Buffer.concat([data, chunk]);
    for (;;) {
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = data.toString('latin1', 0, end).split('\r\n');
      const cl = head.find((l) => /^(content-length|l)\s*:/i.test(l));
      const body = cl ? Number(cl.split(':')[1]) : 0;
      if (data.length < end + 4 + body) return;
      data = data.subarray(end + 4 + body);
      const r = { status: Number(head[0]!.split(' ')[1]), headers: head.slice(1) };
      const w = waiting.shift();
      if (w) w(r);
      else queue.push(r);
    }
  });
  return () =>
    new Promise((resolve, reject) => {
      const q = queue.shift();
      if (q) return resolve(q);
      waiting.push(resolve);
      sock.once('close', () => reject(new Error('connection closed')));
    });
}

async function registerOnce(
  o: RegisterOptions,
  from: string,
  kept: Socket[],
): Promise<RegisterResult> {
  const started = performance.now();
  const sock = open(o.transport, o.target, o.port, from);
  sock.on('error', () => {});
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no 200 within ${o.timeoutMs} ms`)), o.timeoutMs);
  });
  const next = responses(sock);
  const callId = `${randomBytes(8).toString('hex')}@${from}`;
  const user = o.users?.[o.from.indexOf(from)] ?? o.user;
  const flow = async (): Promise<number> => {
    await new Promise<void>((resolve, reject) => {
      sock.once(o.transport === 'tls' ? 'secureConnect' : 'connect', () => resolve());
      sock.once('close', () => reject(new Error('closed before connecting')));
    });
    const port = o.contactPort ?? sock.localPort ?? 5060;
    const base = { user, domain: o.domain, transport: o.transport, from, port, callId };
    sock.write(registerText({ ...base, cseq: 1 }));
    const challenge = await next();
    if (challenge.status !== 401) return challenge.status;
    const values = challenge.headers
      .filter((h) => /^www-authenticate\s*:/i.test(h))
      .map((h) => h.slice(h.indexOf(':') + 1).trim());
    const c = challenges(values)[0]!;
    const uri = `sip:${o.domain}`;
    const auth = authorization(c, { user, password: o.password }, { method: 'REGISTER', uri });
    sock.write(registerText({ ...base, cseq: 2, authorization: auth }));
    return (await next()).status;
  };
  try {
    const status = await Promise.race([flow(), deadline]);
    const ms = performance.now() - started;
    if (o.keepOpen && status === 200) {
      kept.push(sock);
      sock.once('close', () => {
        if (!stopping) process.stdout.write(`${JSON.stringify({ type: 'kept-closed', from })}\n`);
      });
    } else sock.destroy();
    return { type: 'register', ok: status === 200, ms, from, status };
  } catch (err) {
    sock.destroy();
    return {
      type: 'register',
      ok: false,
      ms: performance.now() - started,
      from,
      error: (err as Error).message,
    };
  } finally {
    clearTimeout(timer);
  }
}

/** Set once the parent closed stdin: closes from then on are ours, not the server's. */
let stopping = false;

async function register(o: RegisterOptions): Promise<void> {
  const kept: Socket[] = [];
  process.stdin.on('end', () => {
    stopping = true;
    for (const s of kept) s.destroy();
    process.exit(0);
  });
  process.stdin.resume();
  let started = 0;
  const worker = async () => {
    while (started < o.count) {
      const n = started++;
      const from = o.from[n % o.from.length]!;
      const r = await registerOnce(o, from, kept);
      process.stdout.write(`${JSON.stringify(r)}\n`);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.concurrency) }, worker));
}

if (process.argv[1] === SCRIPT) {
  const o = JSON.parse(process.argv[2] ?? '{}') as HoldOptions | RegisterOptions;
  if (o.mode === 'hold') hold(o);
  else await register(o);
}
