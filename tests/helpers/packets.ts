// Real traffic between the namespaces of tests/helpers/netns.ts: small Node scripts run with
// `ip netns exec NS node -e SCRIPT CONFIG` (this process's own Node 24 binary), talking to
// the parent as JSON lines on stdout. Nothing here is simulated: the datagrams and TCP
// handshakes cross the veth pair and the kernel's hooks like any other traffic.
//
//   const listener = await udpListener(link.b.ns, { host: link.b.v4, port: 5060 });
//   await sendUdp(link.a.ns, { from: link.a.v4, to: link.b.v4, port: 5060, count: 10 });
//   await listener.waitFor((d) => d.text.startsWith('marker'));   // bounded wait
//   listener.received.filter((d) => d.from === link.a.v4).length
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const IP = '/usr/sbin/ip';

export interface Datagram {
  from: string;
  port: number;
  size: number;
  /** The first 64 bytes as latin1, enough to recognise a marker. */
  text: string;
}

export interface UdpListener {
  readonly received: Datagram[];
  /** Resolves when a datagram matching predicate has arrived; rejects after timeoutMs. */
  waitFor(predicate: (d: Datagram) => boolean, timeoutMs?: number): Promise<Datagram>;
  close(): Promise<void>;
}

export interface TcpServer {
  /** Remote addresses of the connections accepted so far. */
  readonly accepted: string[];
  close(): Promise<void>;
}

export type ConnectResult = 'connected' | 'refused' | 'timeout' | `error:${string}`;

const LISTEN_UDP = `
const dgram = require('node:dgram');
const c = JSON.parse(process.argv.at(-1));
const s = dgram.createSocket(c.host.includes(':') ? 'udp6' : 'udp4');
s.on('message', (m, r) => process.stdout.write(JSON.stringify({ from: r.address, port: r.port, size: m.length, text: m.subarray(0, 64).toString('latin1') }) + '\\n'));
s.on('error', (e) => { console.error(e.message); process.exit(1); });
s.bind(c.port, c.host, () => process.stdout.write('{"ready":true}\\n'));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

const SEND_UDP = `
const dgram = require('node:dgram');
const c = JSON.parse(process.argv.at(-1));
const s = dgram.createSocket(c.to.includes(':') ? 'udp6' : 'udp4');
s.on('error', (e) => { console.error(e.message); process.exit(1); });
s.bind({ address: c.from, port: c.fromPort ?? 0 }, async () => {
  for (let i = 0; i < c.count; i++) {
    await new Promise((ok, fail) => s.send(Buffer.from(c.payload + ' ' + i), c.port, c.to, (e) => (e ? fail(e) : ok())));
  }
  s.close();
});
`;

const LISTEN_TCP = `
const net = require('node:net');
const c = JSON.parse(process.argv.at(-1));
const held = [];
const server = net.createServer((sock) => {
  held.push(sock);
  sock.on('error', () => {});
  process.stdout.write(JSON.stringify({ accepted: sock.remoteAddress }) + '\\n');
});
server.on('error', (e) => { console.error(e.message); process.exit(1); });
server.listen(c.port, c.host, () => process.stdout.write('{"ready":true}\\n'));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

// Connections are opened one after another and all kept open until the last attempt is
// done, so the server side sees them as concurrent.
const CONNECT_TCP = `
const net = require('node:net');
const c = JSON.parse(process.argv.at(-1));
const open = [];
const results = [];
const attempt = () => new Promise((done) => {
  const sock = net.connect({ host: c.to, port: c.port, localAddress: c.from });
  const timer = setTimeout(() => { sock.destroy(); done('timeout'); }, c.timeoutMs);
  sock.on('connect', () => { clearTimeout(timer); open.push(sock); done('connected'); });
  sock.on('error', (e) => { clearTimeout(timer); done(e.code === 'ECONNREFUSED' || e.code === 'ECONNRESET' ? 'refused' : 'error:' + e.code); });
});
(async () => {
  for (let i = 0; i < c.count; i++) results.push(await attempt());
  process.stdout.write(JSON.stringify(results) + '\\n');
  for (const s of open) s.destroy();
})();
`;

function spawnScript(ns: string, script: string, config: object): ChildProcessWithoutNullStreams {
  return spawn(IP, ['netns', 'exec', ns, process.execPath, '-e', script, JSON.stringify(config)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Collects stderr so a failing helper says why. */
function stderrOf(child: ChildProcessWithoutNullStreams): () => string {
  let text = '';
  child.stderr.on('data', (chunk: Buffer) => {
    if (text.length < 4000) text += chunk.toString('utf8');
  });
  return () => text.trim();
}

/** Starts a long-running script; resolves once it printed {"ready":true}. */
function startServer(
  ns: string,
  script: string,
  config: object,
  onLine: (line: Record<string, unknown>) => void,
): Promise<{ close(): Promise<void> }> {
  const child = spawnScript(ns, script, config);
  const stderr = stderrOf(child);
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 2_000);
      await exited;
      clearTimeout(timer);
    }
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server in ${ns} not ready after 10 s: ${stderr()}`));
    }, 10_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`server in ${ns} exited (${code}): ${stderr()}`));
    });
    createInterface({ input: child.stdout }).on('line', (text) => {
      const line = JSON.parse(text) as Record<string, unknown>;
      if (line.ready === true) {
        clearTimeout(timer);
        resolve({ close });
      } else {
        onLine(line);
      }
    });
  });
}

/** Runs a one-shot script to completion; resolves with its stdout. */
function runScript(ns: string, script: string, config: object, timeoutMs: number): Promise<string> {
  const child = spawnScript(ns, script, config);
  child.stdin.end();
  const stderr = stderrOf(child);
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`script in ${ns} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`script in ${ns} exited (${code}): ${stderr()}`));
    });
  });
}

/** A UDP socket in ns bound to host:port that records every datagram it receives. */
export async function udpListener(
  ns: string,
  options: { host: string; port: number },
): Promise<UdpListener> {
  const received: Datagram[] = [];
  const waiters = new Set<() => void>();
  const server = await startServer(ns, LISTEN_UDP, options, (line) => {
    received.push(line as unknown as Datagram);
    for (const wake of waiters) wake();
  });
  return {
    received,
    close: server.close,
    waitFor(predicate, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = received.find(predicate);
          if (hit === undefined) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(hit);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(`no matching datagram within ${timeoutMs} ms (${received.length} received)`),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}

/** Sends count datagrams "<payload> <i>" from ns (bound to `from`, if given) to to:port. */
export async function sendUdp(
  ns: string,
  options: {
    from?: string;
    /** Source port (a media peer's); 0 or absent = any. */
    fromPort?: number;
    to: string;
    port: number;
    count?: number;
    payload?: string;
  },
): Promise<void> {
  await runScript(
    ns,
    SEND_UDP,
    {
      from: options.from,
      fromPort: options.fromPort ?? 0,
      to: options.to,
      port: options.port,
      count: options.count ?? 1,
      payload: options.payload ?? 'probe',
    },
    30_000,
  );
}

/** A TCP server in ns that accepts and holds every connection until close(). */
export async function tcpServer(
  ns: string,
  options: { host: string; port: number },
): Promise<TcpServer> {
  const accepted: string[] = [];
  const server = await startServer(ns, LISTEN_TCP, options, (line) => {
    accepted.push(String(line.accepted));
  });
  return { accepted, close: server.close };
}

/**
 * Opens `count` TCP connections one by one from ns (bound to `from`) to to:port, keeping
 * the successful ones open until all attempts are done; returns each attempt's outcome.
 */
export async function connectTcp(
  ns: string,
  options: { from: string; to: string; port: number; count: number; timeoutMs?: number },
): Promise<ConnectResult[]> {
  const timeoutMs = options.timeoutMs ?? 3_000;
  const out = await runScript(
    ns,
    CONNECT_TCP,
    { ...options, timeoutMs },
    options.count * timeoutMs + 10_000,
  );
  return JSON.parse(out) as ConnectResult[];
}
