// A media endpoint in a namespace: ONE UDP socket bound to host:port that both sends and
// records what it receives, as a phone doing symmetric RTP (RFC 4961) does. The relay
// tests need it: the relay latches the source ip:port a phone sends from, and sends the
// other side's media back to that same ip:port.
//
//   const phone = await rtpPeer(t, ns, { host: '10.0.0.1', port: 4000 });
//   await phone.send({ to: relayIp, port: 20000, count: 20, payload: 'a' });
//   await phone.waitForCount((d) => d.text.startsWith('b'), 20);
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Teardownable } from './netns.ts';
import type { Datagram } from './packets.ts';

const IP = '/usr/sbin/ip';

const SCRIPT = `
const dgram = require('node:dgram');
const readline = require('node:readline');
const c = JSON.parse(process.argv.at(-1));
const s = dgram.createSocket(c.host.includes(':') ? 'udp6' : 'udp4');
s.on('message', (m, r) => process.stdout.write(JSON.stringify({ from: r.address, port: r.port, size: m.length, text: m.subarray(0, 64).toString('latin1') }) + '\\n'));
s.on('error', (e) => { console.error(e.message); process.exit(1); });
s.bind(c.port, c.host, () => process.stdout.write('{"ready":true}\\n'));
readline.createInterface({ input: process.stdin }).on('line', async (text) => {
  const cmd = JSON.parse(text);
  const pad = Buffer.alloc(Math.max(0, (cmd.size ?? 0)));
  for (let i = 0; i < cmd.count; i++) {
    const head = Buffer.from(cmd.payload + ' ' + i + ' ');
    const body = pad.length > head.length ? Buffer.concat([head, pad.subarray(head.length)]) : head;
    await new Promise((ok, fail) => s.send(body, cmd.port, cmd.to, (e) => (e ? fail(e) : ok())));
  }
  process.stdout.write(JSON.stringify({ sent: cmd.id }) + '\\n');
}).on('close', () => process.exit(0));
`;

export interface RtpPeer {
  readonly received: Datagram[];
  /** Sends count datagrams "<payload> <i> " (padded to size bytes) and resolves once sent. */
  send(options: {
    to: string;
    port: number;
    count?: number;
    payload: string;
    size?: number;
  }): Promise<void>;
  /** Resolves once `count` datagrams match; rejects after timeoutMs (a safety net). */
  waitForCount(match: (d: Datagram) => boolean, count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function rtpPeer(
  t: Teardownable,
  ns: string,
  options: { host: string; port: number },
): Promise<RtpPeer> {
  const child = spawn(
    IP,
    ['netns', 'exec', ns, process.execPath, '-e', SCRIPT, JSON.stringify(options)],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    if (stderr.length < 4000) stderr += chunk.toString('utf8');
  });
  const received: Datagram[] = [];
  const wakers = new Set<() => void>();
  const sent = new Map<number, () => void>();
  let nextId = 1;
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 2_000);
      await exited;
      clearTimeout(timer);
    }
  };
  t.teardown(close);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`rtp peer in ${ns} not ready after 30 s: ${stderr}`));
    }, 30_000);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`rtp peer in ${ns} exited: ${stderr}`));
    });
    createInterface({ input: child.stdout }).on('line', (text) => {
      const line = JSON.parse(text) as Record<string, unknown>;
      if (line.ready === true) {
        clearTimeout(timer);
        resolve();
      } else if (typeof line.sent === 'number') {
        sent.get(line.sent)?.();
        sent.delete(line.sent);
      } else {
        received.push(line as unknown as Datagram);
        for (const wake of wakers) wake();
      }
    });
  });
  return {
    received,
    close,
    send({ to, port, count = 1, payload, size = 0 }) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`rtp peer: send ${id} not done in 30 s`)),
          30_000,
        );
        sent.set(id, () => {
          clearTimeout(timer);
          resolve();
        });
        child.stdin.write(`${JSON.stringify({ id, to, port, count, payload, size })}\n`);
      });
    },
    waitForCount(match, count, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (received.filter(match).length < count) return;
          wakers.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          wakers.delete(check);
          reject(
            new Error(
              `rtp peer: ${received.filter(match).length} of ${count} matching datagrams within ${timeoutMs} ms`,
            ),
          );
        }, timeoutMs);
        wakers.add(check);
        check();
      });
    },
  };
}
