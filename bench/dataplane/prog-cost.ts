// XDP guard cost per verdict path, in ns/packet, measured by the kernel with
// BPF_PROG_TEST_RUN (repeat count) on maps of realistic size: 1,000,000 banned IPv4
// addresses, 100,000 CIDR rules (allow and deny, v4 and v6, prefix lengths /16../32 and
// /32../128 spread over the address space). Target: the banned path under 60 ns/packet.
//
//   node bench/dataplane/prog-cost.ts [--bans 1000000] [--cidrs 100000] [--repeat 200000]
//
// Needs root. Each path is run on several different sample packets (different sources, so
// different hash buckets and trie walks) and the median per sample is reported, with min/max.
// Absolute numbers depend on the CPU; the run prints the machine's CPU model beside them.
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { XdpGuard } from '../../src/dataplane/xdp-guard.ts';
import { type FrameSpec, frame } from '../../tests/dataplane/frames.ts';
import { type Summary, summarize } from '../common/rounds.ts';

const { values: args } = parseArgs({
  options: {
    bans: { type: 'string', default: '1000000' },
    cidrs: { type: 'string', default: '100000' },
    repeat: { type: 'string', default: '200000' },
    samples: { type: 'string', default: '9' },
  },
});
const BANS = Number(args.bans);
const CIDRS = Number(args.cidrs);
const REPEAT = Number(args.repeat);
const SAMPLES = Number(args.samples);

// Deterministic pseudo-random numbers (xorshift32), so two runs load the same maps.
let seed = 0x9e3779b9;
function rand32(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return seed >>> 0;
}

function v4Text(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

function randomPublicV4(): number {
  // 1.0.0.0 .. 223.255.255.255, away from 0/8 and multicast.
  for (;;) {
    const n = rand32();
    const top = n >>> 24;
    if (top >= 1 && top <= 223 && top !== 127) return n;
  }
}

function randomV6(prefix: string): string {
  const g = () => (rand32() & 0xffff).toString(16);
  return `${prefix}:${g()}:${g()}:${g()}:${g()}:${g()}:${g()}`;
}

const started = Date.now();
execFileSync('make', ['-s', '-C', new URL('../../bpf/', import.meta.url).pathname]);
const guard = XdpGuard.load({
  capacity: { bannedV4: Math.max(BANS + 1024, 1024), cidr: Math.max(CIDRS, 1024) },
});
guard.configure({
  signalingPorts: [5060, 5061],
  mediaPorts: { min: 20000, max: 29999 },
  checkRtpAddr: true,
  // Budgets high enough that the repeated sample never runs out (the cost of the bucket
  // update is what is measured); the flood path uses its own, exhausted source below.
  sourceRatePps: 1_000_000_000,
  sourceBurst: 4_000_000_000,
});

// ---- 1,000,000 bans, loaded in batches ----
const banned = new Set<number>();
while (banned.size < BANS) banned.add(randomPublicV4());
const bannedList = [...banned];
const keys = new Uint8Array(BANS * 4);
bannedList.forEach((n, i) => {
  keys[i * 4] = n >>> 24;
  keys[i * 4 + 1] = (n >>> 16) & 255;
  keys[i * 4 + 2] = (n >>> 8) & 255;
  keys[i * 4 + 3] = n & 255;
});
let t0 = performance.now();
guard.banManyV4(keys, BANS);
const banLoadMs = performance.now() - t0;

// ---- 100,000 CIDR rules: 60% deny v4, 20% allow v4, 10% deny v6, 10% allow v6 ----
t0 = performance.now();
for (let i = 0; i < CIDRS; i++) {
  const kind = i % 10;
  if (kind < 8) {
    const prefix = 16 + (rand32() % 17); // /16../32
    const cidr = `${v4Text(randomPublicV4())}/${prefix}`;
    if (kind < 6) guard.denyCidr(cidr);
    else guard.allowCidr(cidr);
  } else {
    const prefix = 32 + (rand32() % 97); // /32../128
    const cidr = `${randomV6('2001:db8')}/${prefix}`;
    if (kind === 8) guard.denyCidr(cidr);
    else guard.allowCidr(cidr);
  }
}
const cidrLoadMs = performance.now() - t0;

// ---- the paths ----
interface Path {
  name: string;
  counter: string;
  samples: () => FrameSpec[];
}

const counters = () => guard.counters() as Record<string, { packets: bigint }>;

/** Sources that reach the wanted verdict (a random source may fall in a random CIDR). */
function pick(want: string, make: () => FrameSpec): FrameSpec[] {
  const out: FrameSpec[] = [];
  for (let tries = 0; out.length < SAMPLES && tries < SAMPLES * 50; tries++) {
    const spec = make();
    const before = counters()[want]!.packets;
    guard.testRun(frame(spec));
    if (counters()[want]!.packets > before) out.push(spec);
  }
  return out;
}

let bannedIndex = 0;
const floodSrc = '192.0.2.99';
const paths: Path[] = [
  {
    name: 'non-IP (ARP): parse floor',
    counter: 'non_ip',
    samples: () => pick('non_ip', () => ({ src: '192.0.2.1', ethertype: 0x0806 })),
  },
  {
    name: 'banned v4 (1M bans) -> drop',
    counter: 'banned',
    samples: () =>
      pick('banned', () => {
        bannedIndex = (bannedIndex + 7919) % BANS; // stride through the list: different buckets
        return { src: v4Text(bannedList[bannedIndex]!) };
      }),
  },
  {
    name: 'unknown v4, not signaling -> pass',
    counter: 'default',
    samples: () => pick('default', () => ({ src: v4Text(randomPublicV4()), dport: 4000 })),
  },
  {
    name: 'deny CIDR v4 -> drop',
    counter: 'cidr_deny',
    samples: () => pick('cidr_deny', () => ({ src: v4Text(randomPublicV4()) })),
  },
  {
    name: 'allow CIDR v4 -> pass',
    counter: 'allow_cidr',
    samples: () => pick('allow_cidr', () => ({ src: v4Text(randomPublicV4()) })),
  },
  {
    name: 'SIP v4 within budget -> pass',
    counter: 'signaling',
    samples: () => pick('signaling', () => ({ src: v4Text(randomPublicV4()), dport: 5060 })),
  },
  {
    name: 'SIP v6 within budget -> pass',
    counter: 'signaling',
    samples: () => pick('signaling', () => ({ src: randomV6('2001:db9'), dport: 5060 })),
  },
  {
    name: 'SIP flood over budget -> drop',
    counter: 'flood',
    samples: () => pick('flood', () => ({ src: floodSrc, dport: 5061 })),
  },
  {
    name: 'RTP from the peer -> pass',
    counter: 'rtp_peer',
    samples: () => pick('rtp_peer', () => ({ src: '198.51.100.20', sport: 30000, dport: 20000 })),
  },
  {
    name: 'RTP from another source -> drop',
    counter: 'rtp_source',
    samples: () => pick('rtp_source', () => ({ src: '198.51.100.21', sport: 30000, dport: 20000 })),
  },
  {
    name: 'IPv6 + 3 ext headers, SIP -> pass',
    counter: 'signaling',
    samples: () =>
      pick('signaling', () => ({
        src: randomV6('2001:db9'),
        dport: 5060,
        v6Ext: [{ type: 0 }, { type: 60 }, { type: 43, length: 24 }],
      })),
  },
];

guard.openMedia(20000, { ip: '198.51.100.20', port: 30000 });
// The flood source: a bucket with no tokens left and an event already sent.
guard.setBucket(floodSrc, {
  tatNs: process.hrtime.bigint() + 3_600_000_000_000n * 1_000_000n,
  lastEventNs: process.hrtime.bigint(),
  dropped: 0,
});

const rows: ({ path: string } & Summary)[] = [];
for (const p of paths) {
  const specs = p.samples();
  if (specs.length === 0) {
    rows.push({ path: p.name, ...summarize([]) });
    continue;
  }
  const ns = specs.map((spec) => {
    const f = frame(spec);
    const before = counters()[p.counter]!.packets;
    const r = guard.testRun(f, REPEAT);
    const moved = counters()[p.counter]!.packets - before;
    if (moved !== BigInt(REPEAT))
      throw new Error(`${p.name}: counter moved ${moved}, not ${REPEAT}`);
    return r.durationNs;
  });
  rows.push({ path: p.name, ...summarize(ns) });
}
guard.close();

console.log(
  `XDP guard cost, BPF_PROG_TEST_RUN x${REPEAT} per sample; ${BANS.toLocaleString('en')} banned v4, ` +
    `${CIDRS.toLocaleString('en')} CIDR rules; CPU: ${cpus()[0]?.model ?? '?'}`,
);
console.log(
  `maps loaded in ${(banLoadMs / 1000).toFixed(1)} s (bans, batched) + ${(cidrLoadMs / 1000).toFixed(1)} s (CIDRs)`,
);
console.log(
  'path                                   samples  median ns/pkt   min    max  spread (±half the range)',
);
for (const r of rows) {
  console.log(
    `${r.path.padEnd(40)}${String(r.n).padStart(5)}${r.median.toFixed(0).padStart(12)}${r.min
      .toFixed(0)
      .padStart(8)}${r.max.toFixed(0).padStart(7)}${`±${r.spreadPct.toFixed(0)}%`.padStart(8)}`,
  );
}
const bannedRow = rows.find((r) => r.path.startsWith('banned'))!;
console.log(
  `banned lookup: ${bannedRow.median.toFixed(0)} ns/packet (target < 60): ${bannedRow.median < 60 ? 'met' : 'NOT met'}`,
);
console.log(`total ${((Date.now() - started) / 1000).toFixed(1)} s`);
