// HTTP API throughput and latency: GET /api/v1/bans (a page of 100 out of 100,000 bans) and
// GET /metrics on tollgate's web server, beside a bare fastify HTTPS route answering the same
// page (precomputed), in one run.
//
//   npm run bench:api [-- --bans 100000] [--seconds 5] [--connections 16] [--rounds 3]
//
// The servers run in a child process (bench/api/server.ts) so its CPU time (/proc utime +
// stime, every thread) is the servers' alone; the load comes from this process: keep-alive
// HTTPS connections, each sending its next request when the previous answer is in (closed
// loop), for `seconds` per target after a warm-up. Per target: requests per second, p50 and
// p99 latency, and server CPU per request. Targets alternate per round (drift on a shared
// machine hits each alike) and the median round is printed. Everything here (child, store,
// temporary directory) is gone at the end, on failure and on Ctrl-C.
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cpuMs } from '../common/proc.ts';

const { values: args } = parseArgs({
  options: {
    bans: { type: 'string', default: '100000' },
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '16' },
    rounds: { type: 'string', default: '3' },
  },
});
const SECONDS = Number(args.seconds);
const CONNECTIONS = Number(args.connections);
const ROUNDS = Number(args.rounds);

interface Ready {
  apiPort: number;
  barePort: number;
  key: string;
  ca: string;
}

interface Target {
  name: string;
  port: number;
  path: string;
  headers: Record<string, string>;
}

interface Result {
  requests: number;
  perSecond: number;
  p50: number;
  p99: number;
  cpuPerRequestMs: number;
  errors: number;
}

const child = spawn(process.execPath, [join(import.meta.dirname, 'server.ts'), args.bans], {
  stdio: ['pipe', 'pipe', 'inherit'],
});
const stop = () => {
  child.stdin.end();
};
process.on('SIGINT', () => {
  stop();
  process.exit(130);
});
const ready = await new Promise<Ready>((resolve, reject) => {
  let out = '';
  child.stdout.on('data', (c) => {
    out += c;
    const nl = out.indexOf('\n');
    if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)) as Ready);
  });
  child.on('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  setTimeout(() => reject(new Error('bench server did not start in 120 s')), 120_000).unref();
});

const agent = new Agent({ ca: ready.ca, keepAlive: true, maxSockets: CONNECTIONS });
const auth = { 'x-api-key': ready.key };
const targets: Target[] = [
  {
    name: `GET /api/v1/bans (page of 100 of ${args.bans})`,
    port: ready.apiPort,
    path: '/api/v1/bans?limit=100',
    headers: auth,
  },
  { name: 'GET /metrics', port: ready.apiPort, path: '/metrics', headers: auth },
  {
    name: 'bare fastify route (same page, precomputed)',
    port: ready.barePort,
    path: '/bare',
    headers: {},
  },
];

function once(t: Target): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = request(
      { host: '127.0.0.1', port: t.port, path: t.path, headers: t.headers, agent },
      (res) => {
        res.on('data', () => {});
        res.on('end', () => {
          if (res.statusCode !== 200) reject(new Error(`${t.path}: ${res.statusCode}`));
          else resolve(Number(process.hrtime.bigint() - started) / 1e6);
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function load(t: Target, seconds: number): Promise<Result> {
  const latencies: number[] = [];
  let errors = 0;
  const cpuBefore = cpuMs([child.pid!]);
  const until = Date.now() + seconds * 1000;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (Date.now() < until) {
        try {
          latencies.push(await once(t));
        } catch {
          errors++;
        }
      }
    }),
  );
  const elapsed = (Date.now() - started) / 1000;
  const cpu = cpuMs([child.pid!]) - cpuBefore;
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    requests: latencies.length,
    perSecond: latencies.length / elapsed,
    p50: at(0.5),
    p99: at(0.99),
    cpuPerRequestMs: latencies.length ? cpu / latencies.length : 0,
    errors,
  };
}

try {
  for (const t of targets) await load(t, 1); // warm-up: JIT, caches, the ban list copy
  const rounds = new Map<string, Result[]>(targets.map((t) => [t.name, []]));
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? targets : [...targets].reverse();
    for (const t of order) rounds.get(t.name)!.push(await load(t, SECONDS));
  }
  const median = (list: Result[]) =>
    [...list].sort((a, b) => a.perSecond - b.perSecond)[Math.floor(list.length / 2)]!;
  const bare = median(rounds.get(targets[2]!.name)!);
  console.log(
    `bench:api — ${CONNECTIONS} keep-alive HTTPS connections, ${SECONDS} s per target, median of ${ROUNDS} rounds`,
  );
  console.log(
    `${'target'.padEnd(46)} ${'req/s'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'CPU ms/req'.padStart(11)} ${'vs bare'.padStart(8)}`,
  );
  for (const t of targets) {
    const m = median(rounds.get(t.name)!);
    console.log(
      `${t.name.padEnd(46)} ${m.perSecond.toFixed(0).padStart(8)} ${m.p50.toFixed(2).padStart(8)} ${m.p99.toFixed(2).padStart(8)} ${m.cpuPerRequestMs.toFixed(3).padStart(11)} ${`${((m.perSecond / bare.perSecond) * 100).toFixed(0)}%`.padStart(8)}${m.errors ? `  (${m.errors} errors)` : ''}`,
    );
  }
} finally {
  agent.destroy();
  stop();
}
