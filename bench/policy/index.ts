// `npm run bench:policy`: how long billing takes to decide on a call, with a realistic store
// behind it, and how many CDRs per second it can make durable.
//
//   - 100,000 accounts (prepaid with credit, every tenth postpaid with daily and monthly
//     limits), a 2,000-prefix tariff, 1,000,000 CDRs already stored;
//   - authorization: authorize() on random accounts and numbers, timed one by one
//     (median, p99, max), each call then ended so lines and reserves stay realistic;
//   - CDR writes: ended() for a stream of calls, each tick's CDRs and balances made durable
//     in one transaction (Store.batch): CDRs on disk per second, acknowledged.
//
// Options: --accounts N --cdrs N --decisions N --writes N (smaller for a smoke run).
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Settings } from '../../src/config/settings.ts';
import { cdrKey, dayOf, emptyBalance, monthOf } from '../../src/control/billing/ledger.ts';
import { BillingService } from '../../src/control/billing/service.ts';
import { UserService } from '../../src/control/users.ts';
import { createLogger } from '../../src/log.ts';
import type { CallEnded, CallRequest } from '../../src/policy-port.ts';
import { lmdbBuild } from '../../src/store/lmdb.ts';
import type { CdrRecord } from '../../src/store/records.ts';
import { MAX_TXN_WRITES, Store } from '../../src/store/store.ts';
import { minuteCdr } from '../../tests/helpers/cdr.ts';

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

const ACCOUNTS = option('accounts', 100_000);
const CDRS = option('cdrs', 1_000_000);
const DECISIONS = option('decisions', 200_000);
const WRITES = option('writes', 200_000);

const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-policy-'));
const log = createLogger({ level: 'silent' });
const store = Store.open(dir);
const now = Date.now();

function seedAccounts(): void {
  // Written directly (no password hashing: the bench is about deciding on calls).
  // Two records per account; one transaction holds at most MAX_TXN_WRITES (store.ts says why).
  const t = store.tables;
  const step = MAX_TXN_WRITES / 2;
  for (let from = 0; from < ACCOUNTS; from += step) {
    store.durable(() => {
      for (let i = from; i < Math.min(ACCOUNTS, from + step); i++) {
        const name = `u${i}`;
        const postpaid = i % 10 === 0;
        t.users.put(name, {
          name,
          id: i + 1,
          fields: postpaid
            ? {
                postpaid: true,
                maxdailycredit: 50,
                maxmonthlycredit: 500,
                maxlines: 10,
                maxlinesoffpeak: 10,
              }
            : { maxlines: 10, maxlinesoffpeak: 10 },
          secrets: {},
          createdAt: now,
        });
        t.balances.put(name, {
          ...emptyBalance(now),
          creditMicros: 100_000_000 + i,
          maxDailyMicros: 5_000_000,
        });
      }
    });
  }
  store.durable(() => t.meta.put('nextUserId', ACCOUNTS + 1));
}

function seedCdrs(): void {
  const t = store.tables;
  for (let from = 0; from < CDRS; from += MAX_TXN_WRITES) {
    store.durable(() => {
      for (let i = from; i < Math.min(CDRS, from + MAX_TXN_WRITES); i++) {
        const account = `u${i % ACCOUNTS}`;
        const endedAt = now - (CDRS - i) * 1000;
        const cdr: CdrRecord = {
          ...minuteCdr({
            callId: `seed-${i}`,
            account,
            endedAt,
            costMicros: 20_000,
            dialled: `49${30_000_000 + i}`,
            sourceIp: '192.0.2.10',
          }),
          tariff: 'default',
          prefix: '49',
        };
        t.cdrs.put(cdrKey(account, endedAt, cdr.callId), cdr);
      }
    });
    if (from % 100_000 === 0 && from > 0) console.error(`  ${from} CDRs`);
  }
}

function tariffCsv(): string {
  const rows = ['tariff,prefix,price,connect_fee,increments'];
  for (let i = 0; i < 2000; i++)
    rows.push(`default,${10 + (i % 90)}${String(i).padStart(4, '0')},0.0${(i % 9) + 1},0,60/60`);
  rows.push('default,,0.05,0,60/60');
  rows.push('default,49,0.02,0,1/1');
  return `${rows.join('\n')}\n`;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

const t0 = performance.now();
seedAccounts();
console.error(`seeded ${ACCOUNTS} accounts`);
seedCdrs();
console.error(`seeded ${CDRS} CDRs`);
const settings = new Settings(store, { offpeakhours: [] }, log);
const users = new UserService(store, settings, log);
const billing = new BillingService({ store, settings, accounts: users, log });
users.useCredit(billing);
billing.tariffs.importCsv(tariffCsv());
console.error('billing ready');
const seeded = performance.now() - t0;

let seq = 0;
let rnd = 12345;
const random = () => {
  rnd = (rnd * 1103515245 + 12345) & 0x7fffffff;
  return rnd;
};
function request(at: number): CallRequest {
  const account = `u${random() % ACCOUNTS}`;
  const dialled =
    random() % 3 === 0
      ? `49${30_000_000 + (random() % 1_000_000)}`
      : `${10 + (random() % 90)}${String(random() % 2000).padStart(4, '0')}${random() % 10_000}`;
  return {
    callId: `bench-${++seq}`,
    source: { transport: 'udp', ip: `198.51.100.${random() % 250}`, port: 5060 },
    account,
    accountKind: 'user',
    callerId: account,
    dialled,
    destination: 'trunk',
    trunk: 'carrier',
    at,
  };
}
function ended(req: CallRequest, allowed: boolean, seconds: number): CallEnded {
  return {
    ...req,
    startedAt: req.at,
    answeredAt: allowed ? req.at : undefined,
    endedAt: req.at + seconds * 1000,
    durationSeconds: allowed ? seconds : 0,
    disconnectSide: 'caller',
    reason: allowed ? 'BYE' : 'refused',
    status: allowed ? 200 : 403,
  };
}

// ── authorization time ──────────────────────────────────────────────────────────────────
// Warm-up (JIT, caches of profiles and balances for the accounts first touched).
for (let i = 0; i < 20_000; i++) {
  const req = request(now);
  const d = billing.calls.authorize(req);
  billing.calls.ended(ended(req, d.allow, 30));
}
await billing.ledger.flush();
console.error('warmed up');
// Five rounds of each measure: the median round and the spread (min–max) are printed.
const ROUNDS = 5;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const spread = (xs: number[], f: (x: number) => string) =>
  `${f(median(xs))} (${f(Math.min(...xs))}–${f(Math.max(...xs))})`;

const p50s: number[] = [];
const p99s: number[] = [];
let worst = 0;
let allowed = 0;
let decided = 0;
for (let round = 0; round < ROUNDS; round++) {
  const n = Math.ceil(DECISIONS / ROUNDS);
  const times = new Float64Array(n);
  for (let i = 0; i < n; i++, decided++) {
    const req = request(now + decided);
    const s = performance.now();
    const d = billing.calls.authorize(req);
    times[i] = performance.now() - s;
    if (d.allow) allowed++;
    billing.calls.ended(ended(req, d.allow, 1 + (i % 300)));
    if (i % 1000 === 999) await billing.ledger.flush();
  }
  await billing.ledger.flush();
  times.sort();
  p50s.push(percentile(times, 0.5));
  p99s.push(percentile(times, 0.99));
  worst = Math.max(worst, times[times.length - 1]!);
}

// ── CDR writes ──────────────────────────────────────────────────────────────────────────
const rates: number[] = [];
const cpus: number[] = [];
// A ban (Store.durable) written meanwhile waits on the main thread for the CDR transaction
// lmdb-js is committing: the price of large transactions, measured once per tick.
const banWaits: number[] = [];
const transactions0 = billing.ledger.transactions;
let written = 0;
const PER_TICK = 2000;
for (let round = 0; round < ROUNDS; round++) {
  const before = billing.ledger.acknowledged;
  const cpu0 = process.cpuUsage();
  const w0 = performance.now();
  for (let i = 0; i < Math.ceil(WRITES / ROUNDS); i += PER_TICK) {
    for (let j = 0; j < PER_TICK; j++) {
      const req = request(now + decided + written + i + j);
      const d = billing.calls.authorize(req);
      billing.calls.ended(ended(req, d.allow, 60));
    }
    await new Promise((resolve) => setImmediate(resolve));
    const b0 = performance.now();
    store.durable(() => store.tables.meta.put('benchBanProbe', i));
    banWaits.push(performance.now() - b0);
  }
  await billing.ledger.flush();
  const seconds = (performance.now() - w0) / 1000;
  const count = billing.ledger.acknowledged - before;
  // Every thread of the process (lmdb-js commits and syncs off the main thread).
  const cpu = process.cpuUsage(cpu0);
  written += count;
  rates.push(count / seconds);
  cpus.push((cpu.user + cpu.system) / count);
}

const us = (ms: number) => `${(ms * 1000).toFixed(1)} µs`;
const mb = statSync(join(dir, 'store.mdb')).size / 1024 ** 2;
console.log(
  `bench/policy: ${ACCOUNTS} accounts, ${billing.cdrCount()} CDRs in the store (${mb.toFixed(0)} MiB, encrypted), a ${2002}-rate tariff (seeded in ${(seeded / 1000).toFixed(1)} s)`,
);
console.log(
  `authorization (${decided} decisions in ${ROUNDS} rounds, ${((allowed / decided) * 100).toFixed(0)}% allowed), median round (min–max):`,
);
console.log(
  `  median ${spread(p50s, us)}   p99 ${spread(p99s, us)}   max ${us(worst)}   (target p99 < 50 µs)`,
);
console.log(
  `CDR writes (${written} CDRs, each with authorize + ended, in ${ROUNDS} rounds; acknowledged after fsync):`,
);
console.log(
  `  ${spread(rates, (r) => `${Math.round(r)}`)} CDRs/s   CPU ${spread(cpus, (c) => `${Math.round(c)} µs`)} per CDR (user+system, all threads)`,
);
const transactions = billing.ledger.transactions - transactions0;
banWaits.sort((a, b) => a - b);
console.log(
  `  = ${Math.round(1e6 / median(cpus))} CDRs/s per core; ${Math.round(written / transactions)} CDRs per transaction (at most ${MAX_TXN_WRITES} records)`,
);
console.log(
  `  a ban written meanwhile (Store.durable, ${banWaits.length} of them) took median ${banWaits[banWaits.length >> 1]!.toFixed(1)} ms, p99 ${percentile(Float64Array.from(banWaits), 0.99).toFixed(1)} ms, max ${banWaits.at(-1)!.toFixed(1)} ms`,
);
console.log(
  `  (day ${dayOf(now)}, month ${monthOf(now)}; lmdb-js native part: ${lmdbBuild}, scripts/build-lmdb.sh)`,
);
await billing.close();
await store.close();
rmSync(dir, { recursive: true, force: true });
