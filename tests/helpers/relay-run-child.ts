// Runs inside a namespace made by tests/helpers/relay-run.ts: loads the XDP program,
// programs relay legs and runs frames through BPF_PROG_TEST_RUN, so the program's FIB
// lookups see that namespace's routes and neighbours. One JSON job in argv, one JSON
// answer on stdout (frames as hex).
import type { RelayLeg } from '../../src/dataplane/types.ts';
import { XdpGuard } from '../../src/dataplane/xdp-guard.ts';

interface Job {
  range: { min: number; max: number };
  legs: RelayLeg[];
  runs: { frame: string; repeat?: number; ingress?: string }[];
  /** ifname -> ifindex, resolved by the parent with ip -j link. */
  ifindex: Record<string, number>;
}

const job = JSON.parse(process.argv.at(-1) ?? '{}') as Job;
const guard = XdpGuard.load({ capacity: { bannedV4: 1024, bannedV6: 1024, cidr: 1024 } });
try {
  guard.configure({ mediaPorts: job.range, checkRtpAddr: true, signalingPorts: [5060] });
  for (const leg of job.legs) guard.openRelay(leg);
  const results = job.runs.map((run) => {
    const before = guard.counters();
    const options: { dataOut: boolean; ingressIfindex?: number } = { dataOut: true };
    if (run.ingress) options.ingressIfindex = job.ifindex[run.ingress];
    const r = guard.testRun(Buffer.from(run.frame, 'hex'), run.repeat ?? 1, options);
    const after = guard.counters();
    const moved = Object.keys(after).filter(
      (k) => after[k as keyof typeof after].packets !== before[k as keyof typeof before].packets,
    );
    return {
      verdict: r.verdict,
      durationNs: r.durationNs,
      out: Buffer.from(r.dataOut ?? new Uint8Array()).toString('hex'),
      moved,
    };
  });
  const counters = Object.fromEntries(
    job.legs.map((l) => [l.localPort, guard.relayCounters(l.localPort)]),
  );
  process.stdout.write(`${JSON.stringify({ results, counters })}\n`);
} finally {
  guard.close();
}
