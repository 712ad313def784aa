// The shared port allocator (tests/helpers/ports.ts) across processes, as ava's workers use
// it: every port handed out is distinct, outside the kernel's ephemeral range, free on TCP
// and UDP, and released when its process exits; a lock left by a killed process is reused.
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import test from 'ava';
import { allocatePort, LOCK_DIR, releasePort, takePort } from '../helpers/ports.ts';

const PORTS = join(import.meta.dirname, '../helpers/ports.ts');

interface Child {
  ports: number[];
  /** Lets the child exit (releasing its ports) and waits for it. */
  done(): Promise<void>;
}

/**
 * Runs `n` allocations in a fresh Node process and resolves with its ports while it still
 * holds them: a child that exited would have released its ports, and a later one could
 * rightly be given the same.
 */
function allocateInChild(n: number): Promise<Child> {
  const code = `import { allocatePort } from ${JSON.stringify(PORTS)};
const ports = await Promise.all(Array.from({ length: ${n} }, () => allocatePort()));
process.stdout.write(JSON.stringify(ports) + '\\n');
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const exited = new Promise<void>((done, fail) =>
      child.on('exit', (status) => (status === 0 ? done() : fail(new Error(`exit ${status}`)))),
    );
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
      if (!out.includes('\n')) return;
      resolve({
        ports: JSON.parse(out) as number[],
        done: () => {
          child.stdin.end();
          return exited;
        },
      });
    });
    child.on('error', reject);
    exited.catch(reject);
  });
}

function ephemeral(): [number, number] {
  const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
    .trim()
    .split(/\s+/)
    .map(Number);
  return [lo!, hi!];
}

test('processes allocating at once get distinct ports, none the kernel would pick itself', async (t) => {
  // Held by this process while the children run, so they must avoid these too.
  const held = await Promise.all(Array.from({ length: 10 }, () => allocatePort()));
  t.teardown(() => {
    for (const p of held) releasePort(p);
  });
  const children = await Promise.all(Array.from({ length: 4 }, () => allocateInChild(25)));
  await Promise.all(children.map((c) => c.done()));
  const all = [...held, ...children.flatMap((c) => c.ports)];
  t.is(new Set(all).size, all.length, 'no port handed out twice');
  const [lo, hi] = ephemeral();
  t.deepEqual(
    all.filter((p) => p >= lo && p <= hi),
    [],
    `outside the ephemeral range ${lo}..${hi}`,
  );
  t.true(
    all.every((p) => p > 20_000),
    'above the default media range, so a test daemon may use it as sipport',
  );
  // The children have exited: their locks are gone, this process's are still there.
  t.deepEqual(
    children.flatMap((c) => c.ports).filter((p) => existsSync(join(LOCK_DIR, String(p)))),
    [],
  );
  t.true(held.every((p) => existsSync(join(LOCK_DIR, String(p)))));
});

test('a port is free on TCP and UDP when handed out; one a non-test socket holds is skipped', async (t) => {
  const port = await allocatePort();
  t.teardown(() => releasePort(port));
  // The daemon binds sipport on TCP and UDP on one address: both work.
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const udp = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(port, '127.0.0.1', resolve);
  });
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await new Promise<void>((resolve) => udp.close(() => resolve()));
  // Another port, released, then held by a socket that never asked the allocator (no lock
  // file). (Another process may lock it meanwhile; its own bind check then lets it go.)
  const other = await allocatePort();
  releasePort(other);
  const outsider = createSocket('udp4');
  await new Promise<void>((resolve) => outsider.bind(other, '127.0.0.1', resolve));
  t.teardown(() => outsider.close());
  t.false(await takePort(other), 'a UDP socket on any local address makes the port unusable');
  t.false(existsSync(join(LOCK_DIR, String(other))), 'and no lock is left behind');
});

test('a lock left by a process that is gone is taken over; a live one is respected', async (t) => {
  const port = await allocatePort();
  releasePort(port);
  const file = join(LOCK_DIR, String(port));
  const dead = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, ['-e', '']);
    child.on('exit', () => resolve(child.pid!));
  });
  writeFileSync(file, `${process.ppid}\n`, { flag: 'wx' }); // a live process: ava's main one
  t.false(await takePort(port), 'a live owner keeps its port');
  writeFileSync(file, `${dead}\n`);
  t.true(await takePort(port), 'the stale lock was taken over');
  t.is(readFileSync(file, 'utf8').trim(), String(process.pid));
  releasePort(port);
  t.false(existsSync(file), 'released');
});
