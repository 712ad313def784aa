// The ledger: exact credit in and out, balances changed only with their CDRs (also across a
// kill -9), the per-IP cost maxcostperip reads, and the properties money must keep.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import test from 'ava';
import fc from 'fast-check';
import { cdrKey, Ledger } from '../../../src/control/billing/ledger.ts';
import { type Micros, parseMoney } from '../../../src/control/billing/money.ts';
import { Guard } from '../../../src/control/guard/index.ts';
import { MAX_TXN_WRITES, Store } from '../../../src/store/store.ts';
import { minuteCdr } from '../../helpers/cdr.ts';
import { tempDir } from '../../helpers/tmp.ts';
import { end, MONDAY, quiet, request, rig, tariffs } from './helpers.ts';

test('credit: `users set NAME credit` and top-ups are exact decimal amounts, stored durably', async (t) => {
  const r = rig(t);
  r.user('alice');
  t.is<unknown, unknown>(
    r.users.get('alice').fields.credit,
    undefined,
    'no balance yet: shown as unset',
  );
  r.users.set('alice', 'credit', '12.34567');
  t.is(r.store.tables.balances.get('alice')?.creditMicros, 12_345_670);
  t.is(r.users.get('alice').fields.credit, '12.34567');
  t.deepEqual(r.billing.topUp('alice', '0.1'), {
    user: 'alice',
    credit: '12.44567',
    creditMicros: 12_445_670,
  });
  for (let i = 0; i < 9; i++) r.billing.topUp('alice', '0.1');
  t.is(r.billing.account('alice').credit, '13.34567', 'ten times 0.1 is exactly 1');
  t.throws(() => r.billing.topUp('alice', '1.0000001'), { code: 'TG_BILLING_BAD_AMOUNT' } as never);
  t.throws(() => r.billing.topUp('nobody', '1'), { code: 'TG_BILLING_NO_ACCOUNT' } as never);
  t.throws(() => r.billing.topUp('alice', '999999999'), {
    code: 'TG_BILLING_CREDIT_TOO_HIGH',
  } as never);
  t.is(r.billing.account('alice').credit, '13.34567', 'refused top-ups changed nothing');
  // A new account starts at credit 0 (the checklist), prepaid.
  r.user('bob');
  t.is(r.billing.account('bob').credit, '0.00');
  t.false(r.billing.account('bob').postpaid);
});

test('maxcostperip: the guard refuses a call from an address whose calls cost the limit in its period', async (t) => {
  const r = rig(t, { maxcostperip: 1.5, maxcallperperiod: 1 });
  tariffs(r, [['default', '', '1', '0', '60/60', '']]);
  r.user('ipu', { postpaid: 'true' });
  const guard = new Guard({
    settings: r.settings,
    ban: () => {},
    usage: r.billing.usage,
    load: () => 0,
  });
  t.teardown(() => guard.close());
  const ip = '203.0.113.7';
  const start = (n: number) =>
    guard.observe({
      kind: 'call-start',
      ip,
      port: 5060,
      method: 'INVITE',
      user: 'ipu',
      callId: `g${n}`,
    });
  const now = Date.now();
  t.is(start(1).action, 'pass');
  const c1 = request('ipu', '4930', now, { source: { transport: 'udp', ip, port: 5060 } });
  t.true(r.billing.calls.authorize(c1).allow);
  r.billing.calls.ended(end(c1, 60));
  t.is(r.billing.usage.costMicros(ip, now - 1000), 1_000_000);
  t.is(start(2).action, 'pass', '1.00 < 1.50');
  const c2 = request('ipu', '4930', now, { source: { transport: 'udp', ip, port: 5060 } });
  r.billing.calls.authorize(c2);
  r.billing.calls.ended(end(c2, 60));
  const refused = start(3);
  t.is(refused.action, 'drop');
  t.is(refused.rule, 'maxcostperip');
  t.is(r.billing.usage.costMicros('203.0.113.8', now), 0, 'per address');
  await r.billing.ledger.flush();
  t.is(r.store.tables.counters.get(`ipcost:${ip}`)?.count, 2_000_000, 'stored with the CDRs');
});

test('kill -9 while 50 calls at a time end: every acknowledged CDR is there, and the credit agrees with the CDRs', async (t) => {
  const dir = tempDir(t);
  const child = spawn(
    process.execPath,
    [join(import.meta.dirname, '..', '..', 'helpers', 'cdr-writer.ts'), dir],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let acked = 0;
  await new Promise<void>((resolve, reject) => {
    const deadline = setTimeout(
      () => reject(new Error(`only ${acked} acknowledged in time`)),
      120_000,
    );
    let buffered = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      for (const m of buffered.matchAll(/acked (\d+)\n/g)) acked = Math.max(acked, Number(m[1]));
      buffered = buffered.slice(buffered.lastIndexOf('\n') + 1);
      if (acked >= 2000 && child.exitCode === null && !child.killed) {
        clearTimeout(deadline);
        child.kill('SIGKILL');
        t.log(`killed after ${acked} CDRs acknowledged`);
        resolve();
      }
    });
    child.once('exit', (code) => {
      if (acked < 2000) reject(new Error(`writer exited (${code}) after ${acked}`));
    });
  });
  await new Promise((resolve) => child.once('exit', resolve));
  const store = Store.open(dir);
  t.teardown(() => store.close());
  const cdrs = [...store.tables.cdrs.getRange({ start: 'crash\u0000', end: 'crash\u0001' })].map(
    (e) => e.value,
  );
  t.true(cdrs.length >= acked, `${cdrs.length} CDRs stored, ${acked} acknowledged`);
  t.is(new Set(cdrs.map((c) => c.callId)).size, cdrs.length, 'no call recorded twice');
  const charged = cdrs.reduce((sum, c) => sum + c.costMicros, 0);
  const balance = store.tables.balances.get('crash')!;
  t.is(
    balance.creditMicros,
    parseMoney('100000') - charged,
    'the credit is exactly 100000 minus the CDRs',
  );
  t.true(balance.creditMicros >= 0);
  t.is(balance.spentDayMicros + 0 >= 0, true);
  for (const c of cdrs) t.true(Number.isSafeInteger(c.costMicros), 'integer micro-units');
});

test('property: many concurrent prepaid calls never take the credit below zero, and the credit is the top-ups minus the CDRs', async (t) => {
  const r = rig(t, { absolutetimeout: 300 });
  tariffs(r, [
    ['default', '', '0.60', '0.05', '30/6', ''],
    ['default', '44', '1.234567', '0', '1/1', ''],
  ]);
  let run = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.oneof(
          fc.record({ op: fc.constant('start' as const), to: fc.constantFrom('4930', '4420') }),
          fc.record({
            op: fc.constant('end' as const),
            pick: fc.nat(),
            seconds: fc.integer({ min: 0, max: 1000 }),
            answered: fc.boolean(),
          }),
          fc.record({ op: fc.constant('topup' as const), cents: fc.integer({ min: 1, max: 500 }) }),
        ),
        { maxLength: 60 },
      ),
      fc.integer({ min: 0, max: 2000 }),
      async (ops, startCents) => {
        const name = `p${run++}`;
        r.user(name, { maxlines: '1000' });
        r.users.set(name, 'credit', (startCents / 100).toFixed(2));
        let toppedUp = startCents * 10_000;
        const live: ReturnType<typeof request>[] = [];
        for (const o of ops) {
          if (o.op === 'start') {
            const req = request(name, o.to, MONDAY);
            if (r.billing.calls.authorize(req).allow) live.push(req);
            else r.billing.calls.ended(end(req, undefined));
          } else if (o.op === 'end' && live.length > 0) {
            const req = live.splice(o.pick % live.length, 1)[0]!;
            r.billing.calls.ended(end(req, o.answered ? o.seconds : undefined));
          } else if (o.op === 'topup') {
            r.billing.topUp(name, (o.cents / 100).toFixed(2));
            toppedUp += o.cents * 10_000;
          }
          const credit = r.billing.account(name).creditMicros;
          if (credit < 0) return false;
        }
        for (const req of live) r.billing.calls.ended(end(req, 100_000));
        const cdrs = r.billing.cdrs({ user: name });
        const charged = cdrs.reduce((s, c) => s + c.costMicros, 0);
        const credit = r.store.tables.balances.get(name)!.creditMicros;
        return (
          credit >= 0 &&
          credit === toppedUp - charged &&
          r.billing.account(name).reserved === '0.00'
        );
      },
    ),
    { numRuns: 40 },
  );
  t.pass();
});

test('property: the same calls rated twice give the same CDRs and totals; no float reaches a money field', async (t) => {
  const CSV = [
    ['default', '', '0.013', '0.001', '60/60', ''],
    ['default', '49', '0.0177', '0', '30/6', ''],
    ['default', '4915', '0.21', '0.0345', '1/1', ''],
  ];
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({
          to: fc.constantFrom('4930', '4915', '33', '491577'),
          seconds: fc.option(fc.double({ min: 0, max: 5000, noNaN: true }), { nil: undefined }),
        }),
        { maxLength: 40 },
      ),
      async (calls) => {
        const totals: number[] = [];
        const rows: unknown[] = [];
        for (let pass = 0; pass < 2; pass++) {
          const r = rig(t);
          tariffs(r, CSV);
          r.user('twice', { postpaid: 'true', maxlines: '1000' });
          calls.forEach((c, i) => {
            const req = { ...request('twice', c.to, MONDAY + i), callId: `same-${i}` };
            r.billing.calls.authorize(req);
            r.billing.calls.ended(end(req, c.seconds));
          });
          const cdrs = r.billing.cdrs({ user: 'twice' });
          totals.push(cdrs.reduce((s, c) => s + c.costMicros, 0));
          rows.push(cdrs.map((c) => [c.callId, c.costMicros, c.billedSeconds]));
          // Every money field in every stored record is a safe integer.
          for (const { value } of r.store.tables.cdrs.getRange())
            for (const k of ['costMicros', 'carrierCostMicros'] as const)
              if (value[k] !== undefined && !Number.isSafeInteger(value[k])) return false;
          for (const { value } of r.store.tables.balances.getRange())
            for (const k of [
              'creditMicros',
              'spentDayMicros',
              'spentMonthMicros',
              'maxDailyMicros',
              'monthlyRaiseMicros',
            ] as const)
              if (!Number.isSafeInteger(value[k])) return false;
          if (r.billing.account('twice').spentMonthMicros !== totals[pass]) return false;
        }
        t.deepEqual(rows[0], rows[1]);
        return totals[0] === totals[1];
      },
    ),
    { numRuns: 8 },
  );
  t.is(cdrKey('a', 5, 'x'), 'a\u0000000000000000005\u0000x');
});

test('a balance the cache let go while its batch waits for the disk is read from that batch, not the older stored one', async (t) => {
  const dir = tempDir(t);
  const store = Store.open(dir);
  t.teardown(() => store.close());
  // Four balances in memory: a batch seals (MAX_TXN_WRITES, the transaction bound) while
  // later calls push its accounts out of the cache, all before the batch is written.
  const ledger = new Ledger(store, quiet, () => MONDAY, 4);
  const started = ledger.topUp('early', '10');
  const cost = parseMoney('1.5', 'cost');
  const cdrOf = (callId: string, account: string) =>
    minuteCdr({
      callId,
      account,
      endedAt: MONDAY,
      costMicros: cost,
      dialled: '4930123',
      sourceIp: '198.51.100.7',
    });
  const effects = { cost, callerSpeech: 60, monthlyIncrement: parseMoney('0', 'increment') };
  ledger.record(cdrOf('first', 'early'), effects);
  for (let i = 0; ledger.pending < MAX_TXN_WRITES; i++)
    ledger.record(cdrOf(`fill-${i}`, `u${i}`), effects);
  t.true(ledger.pending >= MAX_TXN_WRITES, 'a batch is sealed and not written yet');
  t.is(
    store.tables.balances.get('early')?.creditMicros,
    started,
    'the store still has the old balance',
  );
  // A second call of the same account, while its first is still on its way to the disk.
  ledger.record(cdrOf('second', 'early'), effects);
  t.is(ledger.credit('early'), (started - 2 * cost) as Micros);
  await ledger.flush();
  t.is(store.tables.balances.get('early')?.creditMicros, started - 2 * cost);
});

test('batches sealed while a transaction commits are written together in the next one, in order, each CDR once', async (t) => {
  const store = Store.open(tempDir(t));
  t.teardown(() => store.close());
  const ledger = new Ledger(store, quiet, () => MONDAY);
  const cost = parseMoney('0.25', 'cost');
  const effects = { cost, callerSpeech: 60, monthlyIncrement: parseMoney('0', 'increment') };
  const started = ledger.topUp('busy', '100');
  const before = ledger.transactions;
  // Ten ticks' worth: the first flush starts a commit with batch 1 alone; the nine sealed
  // while it runs must share the next transaction, not take one each.
  const flushes: Promise<void>[] = [];
  for (let i = 0; i < 10; i++) {
    ledger.record(
      minuteCdr({
        callId: `tick-${i}`,
        account: 'busy',
        endedAt: MONDAY + i,
        costMicros: cost,
        dialled: '4930123',
        sourceIp: '198.51.100.7',
      }),
      effects,
    );
    flushes.push(ledger.flush());
  }
  await Promise.all(flushes);
  t.is(ledger.acknowledged, 10);
  t.is(ledger.transactions - before, 2, 'batch 1, then batches 2–10 together');
  const stored = [...store.tables.cdrs.getRange({ snapshot: false })].map(
    ({ value }) => value.callId,
  );
  t.deepEqual(
    stored,
    Array.from({ length: 10 }, (_, i) => `tick-${i}`),
  );
  t.is(store.tables.balances.get('busy')?.creditMicros, started - 10 * cost, 'the last balance');
});

test('CDRs recorded while the last transaction is recent share the next one: transactions start at most every commitInterval', async (t) => {
  const store = Store.open(tempDir(t));
  t.teardown(() => store.close());
  const ledger = new Ledger(store, quiet, () => MONDAY, undefined, 2_000);
  const cost = parseMoney('0.25', 'cost');
  const effects = { cost, callerSpeech: 60, monthlyIncrement: parseMoney('0', 'increment') };
  const acked = (n: number) =>
    new Promise<void>((resolve) => {
      ledger.onAcknowledged = () => ledger.acknowledged >= n && resolve();
    });
  const record = (i: number) =>
    ledger.record(
      minuteCdr({
        callId: `spaced-${i}`,
        account: 'spaced',
        endedAt: MONDAY + i,
        costMicros: cost,
        dialled: '4930123',
        sourceIp: '198.51.100.7',
      }),
      effects,
    );
  // The first after a quiet spell goes at once, alone.
  const first = acked(1);
  record(0);
  await first;
  t.is(ledger.transactions, 1);
  // Four more, each in its own tick a few ms apart (each would have had a transaction of its
  // own): they wait for the interval and go together.
  const rest = acked(5);
  for (let i = 1; i < 5; i++) {
    record(i);
    await new Promise((r) => setTimeout(r, 5));
  }
  await rest;
  t.is(ledger.transactions, 2);
  const stored = [...store.tables.cdrs.getRange({ snapshot: false })].map(
    ({ value }) => value.callId,
  );
  t.deepEqual(
    stored,
    Array.from({ length: 5 }, (_, i) => `spaced-${i}`),
  );
});
