// A namespace for running the relay's forward path through BPF_PROG_TEST_RUN with a FIB
// that answers: forwarding on, an interface `out0` (a veth pair, both ends here) holding
// 192.0.2.1/24 and 2001:db8:1::1/64 with permanent neighbours .2 / ::2, so a leg towards
// 192.0.2.2 or 2001:db8:1::2 resolves. A frame run with ingress `out0` leaves by XDP_TX; one
// run with the default ingress (loopback) is redirected to out0.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { RelayLeg } from '../../src/dataplane/types.ts';
import type { Teardownable } from './netns.ts';

const run = promisify(execFile);
const IP = '/usr/sbin/ip';
const CHILD = fileURLToPath(new URL('./relay-run-child.ts', import.meta.url));
export const NEXT_HOP_MAC = '02:00:00:00:be:ef';

export interface RelayRunResult {
  results: { verdict: string; durationNs: number; out: Uint8Array; moved: string[] }[];
  counters: Record<string, unknown>;
}

let counter = 0;

async function ip(args: string[]): Promise<string> {
  const { stdout } = await run(IP, args, { timeout: 30_000 });
  return stdout;
}

/** Makes the namespace; returns a runner bound to it. Removed in teardown. */
export async function relayRunNamespace(t: Teardownable): Promise<{
  ns: string;
  run(job: {
    range: { min: number; max: number };
    legs: RelayLeg[];
    runs: { frame: Uint8Array; repeat?: number; ingress?: string }[];
  }): Promise<RelayRunResult>;
}> {
  const ns = `tgt-${process.pid}-x${counter++}`;
  t.teardown(() => run(IP, ['netns', 'delete', ns]).catch(() => {}));
  await ip(['netns', 'add', ns]);
  await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
  await ip(['-n', ns, 'link', 'add', 'out0', 'type', 'veth', 'peer', 'name', 'out1']);
  await ip(['-n', ns, 'addr', 'add', '192.0.2.1/24', 'dev', 'out0']);
  await ip(['-n', ns, 'addr', 'add', '2001:db8:1::1/64', 'dev', 'out0', 'nodad']);
  await ip(['-n', ns, 'link', 'set', 'out1', 'up']);
  await ip(['-n', ns, 'link', 'set', 'out0', 'up']);
  for (const addr of ['192.0.2.2', '2001:db8:1::2'])
    await ip([
      '-n',
      ns,
      'neigh',
      'replace',
      addr,
      'lladdr',
      NEXT_HOP_MAC,
      'dev',
      'out0',
      'nud',
      'permanent',
    ]);
  for (const key of [
    'net.ipv4.conf.all.forwarding=1',
    'net.ipv6.conf.all.forwarding=1',
    'net.ipv4.conf.lo.forwarding=1',
  ])
    await run(IP, ['netns', 'exec', ns, 'sysctl', '-q', '-w', key]);
  const links = JSON.parse(await ip(['-n', ns, '-j', 'link', 'show'])) as {
    ifname: string;
    ifindex: number;
  }[];
  const ifindex = Object.fromEntries(links.map((l) => [l.ifname, l.ifindex]));
  return {
    ns,
    async run(job) {
      const wire = {
        range: job.range,
        legs: job.legs,
        ifindex,
        runs: job.runs.map((r) => ({ ...r, frame: Buffer.from(r.frame).toString('hex') })),
      };
      const { stdout } = await run(
        IP,
        ['netns', 'exec', ns, process.execPath, CHILD, JSON.stringify(wire)],
        {
          timeout: 120_000,
          maxBuffer: 16 * 1024 * 1024,
        },
      );
      const parsed = JSON.parse(stdout) as {
        results: { verdict: string; durationNs: number; out: string; moved: string[] }[];
        counters: Record<string, unknown>;
      };
      return {
        counters: parsed.counters,
        results: parsed.results.map((r) => ({
          ...r,
          out: Uint8Array.from(Buffer.from(r.out, 'hex')),
        })),
      };
    },
  };
}
