// Child process for tests/store/large-store.test.ts: fills a store with CDRs (a history of
// calls) until it has more pages than one transaction may touch, then ends calls through the
// ledger (the path the daemon's billing uses) in ticks of thousands of CDRs spread over every
// account. A crash of the store (the failure class store.ts describes) kills this process, not
// the test runner, which then reports how it died.
//
//   node large-store-writer.ts DIR PAGE_SIZE ACCOUNTS SEED_CDRS TICK_CDRS ROUNDS [one-txn]
//
// With one-txn, each tick's CDRs and balances are put in one transaction of their own,
// whatever MAX_TXN_WRITES says: LMDB itself on transactions past its chunk list (the patch in
// scripts/lmdb-patches/rpage-purge.patch).
// Prints "seeded N", "acked N" as CDRs reach the disk, and "done" once every tick is there.
import { cdrKey, emptyBalance, Ledger } from '../../src/control/billing/ledger.ts';
import { micros } from '../../src/control/billing/money.ts';
import { createLogger } from '../../src/log.ts';
import type { CdrRecord } from '../../src/store/records.ts';
import { MAX_TXN_WRITES, Store } from '../../src/store/store.ts';
import { minuteCdr } from './cdr.ts';

const oneTxn = process.argv[8] === 'one-txn';
const [dir, pageSize, accounts, seedCdrs, tickCdrs, rounds] = [
  process.argv[2]!,
  ...process.argv.slice(3, 8).map(Number),
] as [string, number, number, number, number, number];

/** Every account starts with this credit (the test checks it minus the CDRs). */
const START_CREDIT = 1_000_000_000;
const NOW = Date.UTC(2026, 11, 7, 12);

function cdr(callId: string, account: string, endedAt: number, cost: number): CdrRecord {
  return minuteCdr({
    callId,
    account,
    endedAt,
    costMicros: cost,
    dialled: `4930${callId.length}${endedAt % 1_000_000}`,
    sourceIp: `192.0.2.${endedAt % 200}`,
  });
}

const store = Store.open(dir, { pageSize });
const t = store.tables;
for (let from = 0; from < accounts; from += MAX_TXN_WRITES) {
  store.durable(() => {
    for (let i = from; i < Math.min(accounts, from + MAX_TXN_WRITES); i++)
      t.balances.put(`a${i}`, { ...emptyBalance(NOW), creditMicros: START_CREDIT });
  });
}
// The history: spread over the accounts like real traffic, so the store's pages are too.
for (let from = 0; from < seedCdrs; from += MAX_TXN_WRITES) {
  store.durable(() => {
    for (let i = from; i < Math.min(seedCdrs, from + MAX_TXN_WRITES); i++) {
      const c = cdr(`seed-${i}`, `a${(i * 7919) % accounts}`, NOW - 86_400_000 + i, 0);
      t.cdrs.put(cdrKey(c.account, c.endedAt, c.callId), c);
    }
  });
}
process.stdout.write(`seeded ${seedCdrs}\n`);

const ledger = new Ledger(store, createLogger({ level: 'silent' }), () => NOW);
// After each transaction is on disk (a tick is written as several).
ledger.onAcknowledged = () => process.stdout.write(`acked ${ledger.acknowledged}\n`);
let n = 0;
/** `calls` calls end in one tick (before the ledger gets to write). */
async function tick(calls: number): Promise<void> {
  if (oneTxn) return oneTransactionTick(calls);
  for (let i = 0; i < calls; i++, n++) {
    const account = `a${(n * 104_729) % accounts}`;
    const cost = micros((n % 1000) + 1);
    ledger.record(cdr(`tick-${n}`, account, NOW + n, cost), {
      cost,
      callerSpeech: 60,
      monthlyIncrement: micros(0),
    });
  }
  await ledger.flush();
}
/** `calls` calls' CDRs and balances as one transaction, past the ledger's limit. */
function oneTransactionTick(calls: number): void {
  store.durable(() => {
    for (let i = 0; i < calls; i++, n++) {
      const account = `a${(n * 104_729) % accounts}`;
      const cost = (n % 1000) + 1;
      const c = cdr(`tick-${n}`, account, NOW + n, cost);
      t.cdrs.put(cdrKey(c.account, c.endedAt, c.callId), c);
      const balance = t.balances.get(account)!;
      t.balances.put(account, { ...balance, creditMicros: balance.creditMicros - cost });
    }
  });
  acked += calls;
  process.stdout.write(`acked ${acked}\n`);
}
let acked = 0;
for (let round = 0; round < rounds; round++) {
  // A burst, then ordinary traffic: the small transactions after a large one are the ones
  // that would read the pages it left stale.
  await tick(tickCdrs);
  for (let i = 0; i < 40; i++) await tick(50);
}
await store.close();
process.stdout.write('done\n');
