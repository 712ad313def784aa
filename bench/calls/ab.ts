// bench:calls --before DIR: the tollgate of another checkout (DIR, "before") against this
// one ("after") on the same SIPp load, so a change is measured against the code before it.
//
// On a shared machine one run's figures move by ±20–30% with the other load, more than most
// changes save, so two runs a few minutes apart compare the load more than the code. Here
// both daemons run side by side for the whole run and the rounds alternate (before, after,
// after, before, …): each pair of rounds sees about the same load, and the figure to read is
// the median of the per-round ratios after/before of CPU per call (below 1: after spends
// less). Each daemon has a media port range of its own, as large as a plain run's.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { formatSpread, ratioSummary, summarize } from '../common/rounds.ts';
import { freeUdpPort } from '../sip-register/kamailio.ts';
import {
  cpuPerCall,
  type LoadShape,
  line,
  measure,
  type Round,
  registerFrom,
  startCallee,
  startTollgate,
  type Target,
  type Teardown,
} from './harness.ts';

export interface AbOptions {
  before: string;
  rounds: number;
  warmup: number;
  noSdp: boolean;
  /** A temporary directory for the daemons' data (removed by the caller). */
  tmp: string;
  /** The load of a measured round; `calls` is replaced by `warmup` for the warm-up. */
  shape: LoadShape;
  /** The callee's scenario. */
  uas: string;
  /**
   * Both daemons under load at the same time in every round (each with its own SIPp), rather
   * than one after the other: whatever else the machine runs meanwhile weighs on both alike.
   */
  together: boolean;
}

/** 4,950 pairs each (a plain run's range has 5,000), below the test port allocator's. */
const MEDIA_PORTS = { before: [1100, 10999], after: [11000, 20899] } as const;

/** The checkout's last commit, for the record ("dirty" when its tree has changes). */
function describe(dir: string): string {
  try {
    const head = execFileSync('git', ['-C', dir, 'log', '-1', '--format=%h %s'], {
      encoding: 'utf8',
    }).trim();
    const dirty = execFileSync('git', ['-C', dir, 'status', '--porcelain', '--', 'src'], {
      encoding: 'utf8',
    }).trim();
    return `${head.slice(0, 90)}${dirty ? ' (+ uncommitted changes in src/)' : ''}`;
  } catch {
    return '(not a git checkout)';
  }
}

/** A checkout the daemon can run from, or an error naming what is missing. */
function checkBefore(dir: string): string {
  const root = resolve(dir);
  for (const need of ['src/cli/tollgate.ts', 'node_modules', 'dist']) {
    if (!existsSync(join(root, need)))
      throw new Error(
        `--before ${dir}: no ${need} there (a checkout with node_modules, after scripts/bootstrap.sh)`,
      );
  }
  if (root === resolve(import.meta.dirname, '../..'))
    throw new Error(`--before ${dir}: that is this checkout`);
  return root;
}

export async function runAb(t: Teardown, o: AbOptions): Promise<void> {
  const beforeRoot = checkBefore(o.before);
  const sides: Target[] = [
    await startTollgate(t, {
      name: 'before',
      dataDir: join(o.tmp, 'before'),
      limit: o.shape.limit,
      root: beforeRoot,
      mediaPorts: MEDIA_PORTS.before,
    }),
    await startTollgate(t, {
      name: 'after',
      dataDir: join(o.tmp, 'after'),
      limit: o.shape.limit,
      mediaPorts: MEDIA_PORTS.after,
    }),
  ];
  for (const p of sides) {
    const calleePort = await freeUdpPort();
    await registerFrom(p.port, calleePort);
    startCallee(t, calleePort, o.shape.dir, o.uas);
  }
  // The callees have bound their ports before the first INVITE goes out.
  await new Promise((r) => setTimeout(r, 1000));

  console.log(
    `calls A/B: ${o.shape.calls} authenticated calls (${o.noSdp ? 'no SDP' : 'SDP offer/answer'}) ` +
      `per daemon per round, UDP on 127.0.0.1, SIPp -r ${o.shape.rate} -l ${o.shape.limit}, ` +
      `${o.rounds} rounds each, ${o.together ? 'side by side' : 'alternating'}, after ${o.warmup} warm-up`,
  );
  console.log(`  before: ${beforeRoot}: ${describe(beforeRoot)}`);
  const here = resolve(import.meta.dirname, '../..');
  console.log(`  after:  ${here}: ${describe(here)}`);
  // Side by side, each SIPp needs a directory of its own (its users, statistics, errors).
  const shapes = new Map(
    sides.map((p) => {
      const dir = o.together ? join(o.shape.dir, p.name) : o.shape.dir;
      mkdirSync(dir, { recursive: true });
      return [p.name, { ...o.shape, dir }];
    }),
  );
  const measureAll = async (list: Target[], calls: number): Promise<Round[]> => {
    const one = (p: Target) => measure(p, { ...shapes.get(p.name)!, calls });
    if (o.together) return Promise.all(list.map(one));
    const out: Round[] = [];
    for (const p of list) out.push(await one(p));
    return out;
  };
  const warm = await measureAll(sides, o.warmup);
  for (const [i, p] of sides.entries()) console.log(line(`${p.name}*`, warm[i]!));
  console.log('  (* warm-up, not counted)');

  const rounds = new Map<string, Round[]>(sides.map((p) => [p.name, []]));
  for (let i = 0; i < o.rounds; i++) {
    console.log(`round ${i + 1}`);
    // before, after / after, before / …: neither side always runs (or starts) first.
    const order = i % 2 === 0 ? sides : [...sides].reverse();
    const results = await measureAll(order, o.shape.calls);
    for (const [j, p] of order.entries()) {
      rounds.get(p.name)!.push(results[j]!);
      console.log(line(p.name, results[j]!));
    }
    const b = rounds.get('before')!.at(-1)!;
    const a = rounds.get('after')!.at(-1)!;
    console.log(`  CPU per call after/before: ${(cpuPerCall(a) / cpuPerCall(b)).toFixed(3)}`);
  }

  console.log('median of the rounds (min-max, ±half the range in % of the median)');
  for (const p of sides) {
    const list = rounds.get(p.name)!;
    const failed = list.reduce((n, r) => n + r.load.failed, 0);
    console.log(
      `  ${p.name.padEnd(6)} ${formatSpread(summarize(list.map((r) => r.load.perSecond)))} calls/s  ` +
        `failures ${failed}  proxy CPU ${formatSpread(summarize(list.map(cpuPerCall)), 0, ' µs')}/call`,
    );
  }
  const cpu = (name: string) => rounds.get(name)!.map(cpuPerCall);
  const rate = (name: string) => rounds.get(name)!.map((r) => r.load.perSecond);
  console.log(
    `per-round ratio after/before, CPU per call (below 1: after spends less): ` +
      formatSpread(ratioSummary(cpu('after'), cpu('before')), 3),
  );
  console.log(
    `per-round ratio after/before, calls/s (above 1: after is faster): ` +
      formatSpread(ratioSummary(rate('after'), rate('before')), 3),
  );
}
