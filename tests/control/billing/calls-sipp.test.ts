// Billing on real calls: SIPp phones and trunks through the real daemon (tests/helpers/
// sipp-world.ts: tollgate in one namespace, alice's phone and a SIPp UAS per trunk in the
// other), each limit set up and read back with tollgatectl as an operator would:
//
//   prepaid cut        credit for 6 s of its tariff (0.60/min, 1/1): cut at 6 s with BYE to
//                      both sides, billed 6 s, the balance exactly 0.00; the next call 402
//   daily limit        maxdailycredit reached: the next call gets quotadiscreason (480 here)
//                      "Daily credit limit reached"; the refusal is a CDR with its rule
//   maxlines           2 lines: of 3 calls at once one is refused 486, the other two complete
//   premium number     blockpremiumnumbers: 403, never reaches the trunk
//   maxslperday        a SIP server over its daily speech is skipped: the next call goes to
//                      the route's second trunk
//   kill -9            during 50 concurrent calls: after restart every CDR and balance
//                      tollgate had acknowledged is there, sum of CDR costs = credit spent,
//                      no Call-ID twice, nothing charged for the calls cut by the crash
//
// Nothing here waits on wall-clock time: each step waits for what tollgatectl shows (a CDR,
// a live call) or for SIPp to finish its scenario. Serial: each test runs a daemon and a few
// SIPp processes, and several at once on a loaded machine miss their own retransmit timers.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import type { CdrRecord } from '../../../src/store/records.ts';
import { startDaemon } from '../../helpers/daemon.ts';
import { keepBlocks } from '../../helpers/sipp-blocks.ts';
import {
  ALICE,
  answering,
  call,
  logLines,
  received,
  until,
  type World,
  world,
} from '../../helpers/sipp-world.ts';

/** 0.60 per minute, billed per second: 0.01 (10,000 µ) a second. */
const PER_SECOND = 10_000;

interface Billing {
  creditMicros: number;
  credit: string;
  spentTodayMicros: number;
  speechTodaySeconds: number;
  linesInUse: number;
  lastRefusal: { rule: string; reason: string } | null;
}

async function ctl(t: ExecutionContext, w: World, ...args: string[]): Promise<string> {
  const r = await w.d.ctl(...args);
  t.is(r.code, 0, `tollgatectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function billingOf(t: ExecutionContext, w: World, user: string): Promise<Billing> {
  return (JSON.parse(await ctl(t, w, 'users', 'show', user, '--json')) as { billing: Billing })
    .billing;
}

async function cdrsOf(t: ExecutionContext, w: World, user = 'alice'): Promise<CdrRecord[]> {
  return JSON.parse(await ctl(t, w, 'cdrs', '--user', user, '--json')) as CdrRecord[];
}

/**
 * A world with trunks (name → host number) routed for 0044 in the order given, the tariff
 * `retail` (44: 0.60/min, `fee` connect fee, 1/1) as alice's, and her credit topped up.
 */
async function billingWorld(
  t: ExecutionContext,
  o: {
    trunks: Record<string, number>;
    config?: Record<string, string | number>;
    fee?: string;
    credit: string;
    alice?: Record<string, string>;
  },
): Promise<World & { trunkAt: (name: string) => { ip: string; port: number } }> {
  const w = await world(t, Object.values(o.trunks), o.config, [ALICE]);
  const trunkAt = (name: string) => ({ ip: w.link.hostV4(o.trunks[name]!), port: 5060 });
  for (const [i, name] of Object.keys(o.trunks).entries()) {
    await ctl(t, w, 'trunks', 'add', name, '--host', trunkAt(name).ip);
    await ctl(t, w, 'routes', 'add', '0044', '--trunk', name, '--priority', String(i + 1));
  }
  const csv = join(w.dir, 'tariffs.csv');
  writeFileSync(
    csv,
    `tariff,prefix,price,connect_fee,increments\nretail,44,0.60,${o.fee ?? '0'},1/1\n`,
  );
  await ctl(t, w, 'tariffs', 'import', csv);
  for (const [field, value] of Object.entries({ tariff: 'retail', ...o.alice }))
    await ctl(t, w, 'users', 'set', 'alice', field, value);
  await ctl(t, w, 'topup', 'alice', o.credit);
  return { ...w, trunkAt };
}

/** call-refused.xml expecting `status` instead of 403. */
const refusedWith = (status: number) => (xml: string) =>
  xml.replace('<recv response="403"/>', `<recv response="${status}"/>`);

/** The final response line the caller's SIPp received (its -trace_msg log). */
function finalLine(log: string): string | undefined {
  return received(log)
    .map((m) => m.split(/\r?\n/, 1)[0]!)
    .findLast((l) => /^SIP\/2\.0 [3-6]\d\d /.test(l) && !l.startsWith('SIP/2.0 407'));
}

test.serial(
  'prepaid: credit for 6 s of its tariff is cut at 6 s (BYE to both sides), billed 6 s, the balance ends at exactly 0.00; the next call is 402',
  async (t) => {
    t.timeout(3 * 60_000);
    const w = await billingWorld(t, { trunks: { carrier: 3 }, credit: '0.06' });
    const callerLog = join(w.dir, 'caller.log');
    const trunkLog = join(w.dir, 'trunk.log');
    // The trunk answers and waits for a BYE; so does the caller: only tollgate hangs up.
    const trunk = await answering(t, w, w.trunkAt('carrier'), 'uas-answer.xml', { log: trunkLog });
    const caller = await call(t, w, '00441234567', {
      scenario: 'call-ends.xml',
      rewrite: keepBlocks('answered', 'byed'),
      log: callerLog,
    });
    t.is(caller.exitCode, 0, `caller (tollgate's BYE): ${caller.output}`);
    t.is((await trunk.done).exitCode, 0, 'the trunk got tollgate’s BYE too');
    for (const log of [callerLog, trunkLog]) {
      const bye = received(log).find((m) => m.startsWith('BYE '));
      t.regex(bye ?? '', /^Reason: SIP;cause=200;text="credit"$/m, `the BYE in ${log}`);
    }

    const [cdr, ...more] = await cdrsOf(t, w);
    t.is(more.length, 0);
    t.like(cdr, {
      trunk: 'carrier',
      tariff: 'retail',
      prefix: '44',
      status: 200,
      disconnectSide: 'proxy',
      reason: 'credit',
      refused: false,
      billedSeconds: 6,
      costMicros: 6 * PER_SECOND,
    });
    const after = await billingOf(t, w, 'alice');
    t.is(after.creditMicros, 0);
    t.is(after.credit, '0.00');
    t.is(after.spentTodayMicros, 6 * PER_SECOND);

    const next = await call(t, w, '00441234567', {
      scenario: 'call-refused.xml',
      rewrite: refusedWith(402),
    });
    t.is(next.exitCode, 0, `the next call is refused 402: ${next.output}`);
    const cdrs = await cdrsOf(t, w);
    t.like(cdrs[1], { refused: true, reason: 'credit', status: 402, costMicros: 0 });
    t.is((await billingOf(t, w, 'alice')).creditMicros, 0, 'never below zero');
    t.is(await w.d.stop(), 0);
  },
);

test.serial(
  'daily limit: once maxdailycredit is spent the next call is refused with quotadiscreason (480) and its reason; the refusal is a CDR with the rule',
  async (t) => {
    t.timeout(3 * 60_000);
    // A connect fee of 0.10 and a daily limit of 0.10: the first call reaches the limit.
    const w = await billingWorld(t, {
      trunks: { carrier: 3 },
      config: { quotadiscreason: 480 },
      fee: '0.10',
      credit: '10',
      alice: { maxdailycredit: '0.10' },
    });
    const trunk = await answering(t, w, w.trunkAt('carrier'), 'uas-answer.xml');
    const first = await call(t, w, '00441234567');
    t.is(first.exitCode, 0, `the first call: ${first.output}`);
    t.is((await trunk.done).exitCode, 0);
    await until(async () => (await cdrsOf(t, w)).length === 1, 'the first CDR');
    let cdrs = await cdrsOf(t, w);
    const cost = cdrs[0]!.costMicros;
    t.is(cost, 100_000 + cdrs[0]!.billedSeconds * PER_SECOND, 'fee + billed seconds');
    t.is((await billingOf(t, w, 'alice')).spentTodayMicros, cost);

    const log = join(w.dir, 'refused.log');
    const second = await call(t, w, '00441234567', {
      scenario: 'call-refused.xml',
      rewrite: refusedWith(480),
      log,
    });
    t.is(second.exitCode, 0, `the second call gets 480: ${second.output}`);
    t.is(finalLine(log), 'SIP/2.0 480 Daily credit limit reached');
    cdrs = await cdrsOf(t, w);
    t.is(cdrs.length, 2);
    t.like(cdrs[1], {
      refused: true,
      reason: 'maxdailycredit',
      status: 480,
      costMicros: 0,
      billedSeconds: 0,
    });
    const b = await billingOf(t, w, 'alice');
    t.like(b.lastRefusal, { rule: 'maxdailycredit', reason: 'Daily credit limit reached' });
    t.is(b.spentTodayMicros, cost, 'the refusal cost nothing');
    t.true(
      logLines(w.d).some(
        (l) =>
          l.msg === 'call refused by policy' && l.rule === 'maxdailycredit' && l.user === 'alice',
      ),
      'the refusal is logged with its rule',
    );
    t.is(await w.d.stop(), 0);
  },
);

test.serial(
  'maxlines 2: of three calls at once one is refused 486 (maxlines), the other two are answered and complete',
  async (t) => {
    t.timeout(3 * 60_000);
    // Never off-peak (the default makes weekends and nights so, where maxlinesoffpeak
    // applies); credit for three calls at once (each holds what absolutetimeout would cost).
    const w = await billingWorld(t, {
      trunks: { carrier: 3 },
      config: { offpeakhours: '' },
      credit: '1000',
      alice: { maxlines: '2' },
    });
    const trunk = await answering(t, w, w.trunkAt('carrier'), 'uas-answer.xml', { calls: 2 });
    // tests/sipp/call-lines.xml: the answered calls hold until the refused one is over.
    const calls = await call(t, w, '00441234567', {
      scenario: 'call-lines.xml',
      calls: 3,
      limit: 3,
      extraArgs: ['-set', 'released', '0'],
    });
    t.is(calls.exitCode, 0, `the three calls: ${calls.output}`);
    t.is(calls.successful, 3, 'two answered and hung up, one refused as expected');
    t.is((await trunk.done).exitCode, 0, 'the trunk answered two calls and got both BYEs');

    const cdrs = await cdrsOf(t, w);
    t.is(cdrs.length, 3);
    const refused = cdrs.filter((c) => c.refused);
    t.is(refused.length, 1);
    t.like(refused[0], { reason: 'maxlines', status: 486, costMicros: 0 });
    const answered = cdrs.filter((c) => !c.refused);
    for (const c of answered) {
      t.like(c, { status: 200, disconnectSide: 'caller', reason: 'BYE' });
      t.truthy(c.answeredAt);
      t.true(c.startedAt <= refused[0]!.startedAt, 'the answered calls were up when it came');
    }
    const b = await billingOf(t, w, 'alice');
    t.is(b.linesInUse, 0, 'every line is free again');
    t.like(b.lastRefusal, { rule: 'maxlines' });
    t.is(await w.d.stop(), 0);
  },
);

test.serial(
  'blockpremiumnumbers: a premium-rate number is refused 403 and never reaches the trunk; an ordinary one does',
  async (t) => {
    t.timeout(3 * 60_000);
    const w = await billingWorld(t, {
      trunks: { carrier: 3 },
      credit: '10',
    });
    const trunkLog = join(w.dir, 'trunk.log');
    const trunk = await answering(t, w, w.trunkAt('carrier'), 'uas-answer.xml', { log: trunkLog });
    const callerLog = join(w.dir, 'premium.log');
    // +44 871: a UK shared-cost number (libphonenumber's PREMIUM_RATE/SHARED_COST).
    const premium = await call(t, w, '00448712345678', {
      scenario: 'call-refused.xml',
      log: callerLog,
    });
    t.is(premium.exitCode, 0, `the premium number is 403: ${premium.output}`);
    t.is(finalLine(callerLog), 'SIP/2.0 403 Forbidden (premium rate number)');
    const ordinary = await call(t, w, '00442079460000');
    t.is(ordinary.exitCode, 0, `an ordinary number goes through: ${ordinary.output}`);
    t.is((await trunk.done).exitCode, 0);
    const invites = received(trunkLog).filter((m) => m.startsWith('INVITE '));
    t.is(invites.length, 1, 'the trunk got one INVITE: the ordinary number');
    t.regex(invites[0]!, /^INVITE sip:00442079460000@/);

    const cdrs = await cdrsOf(t, w);
    t.like(cdrs[0], {
      dialled: '00448712345678',
      refused: true,
      reason: 'blockpremiumnumbers',
      status: 403,
      costMicros: 0,
    });
    t.like(cdrs[1], { dialled: '00442079460000', refused: false, trunk: 'carrier' });
    t.is(await w.d.stop(), 0);
  },
);

test.serial(
  'maxslperday: a SIP server over its daily speech time is skipped in routing; the next call goes to the second trunk',
  async (t) => {
    t.timeout(3 * 60_000);
    const w = await billingWorld(t, { trunks: { 'carrier-a': 3, 'carrier-b': 4 }, credit: '10' });
    // The SIP server account of carrier-a (named like the trunk): 1 s of speech a day.
    await ctl(t, w, 'users', 'add', 'carrier-a', '--password', 'Sip-server-a-2026');
    await ctl(t, w, 'users', 'set', 'carrier-a', 'type', '2');
    await ctl(t, w, 'users', 'set', 'carrier-a', 'maxslperday', '1');

    // The first call talks 1.5 s (over the limit) through carrier-a, the route's first trunk.
    const a1 = await answering(t, w, w.trunkAt('carrier-a'), 'uas-answer.xml');
    const first = await call(t, w, '00441234567', {
      rewrite: (xml) => xml.replace('<pause milliseconds="300"/>', '<pause milliseconds="1500"/>'),
    });
    t.is(first.exitCode, 0, `the first call: ${first.output}`);
    t.is((await a1.done).exitCode, 0, 'carrier-a answered the first call');
    await until(async () => (await cdrsOf(t, w)).length === 1, 'the first CDR');
    const speech = (await billingOf(t, w, 'carrier-a')).speechTodaySeconds;
    t.true(speech >= 1, `carrier-a terminated ${speech} s today`);

    // Both trunks listen now; only carrier-b may get the call.
    const stopA = new AbortController();
    const aLog = join(w.dir, 'carrier-a.log');
    const bLog = join(w.dir, 'carrier-b.log');
    const a2 = await answering(t, w, w.trunkAt('carrier-a'), 'uas-answer.xml', {
      log: aLog,
      signal: stopA.signal,
    });
    const b = await answering(t, w, w.trunkAt('carrier-b'), 'uas-answer.xml', { log: bLog });
    const second = await call(t, w, '00441234567');
    t.is(second.exitCode, 0, `the second call: ${second.output}`);
    t.is((await b.done).exitCode, 0, 'carrier-b answered the second call');
    stopA.abort();
    await a2.done;
    t.false(
      existsSync(aLog) && received(aLog).some((m) => m.startsWith('INVITE ')),
      'carrier-a got no INVITE',
    );
    const cdrs = await cdrsOf(t, w);
    t.deepEqual(
      cdrs.map((c) => c.trunk),
      ['carrier-a', 'carrier-b'],
    );
    t.is(await w.d.stop(), 0);
  },
);

test.serial(
  'kill -9 during 50 concurrent calls: after restart every acknowledged CDR and balance change is there, CDR costs add up to the credit spent, no call twice',
  async (t) => {
    t.timeout(5 * 60_000);
    const CREDIT = 100_000_000; // 100.00
    // absolutetimeout 60: each call holds 0.60 of the credit while up, 50 of them 30.00.
    const w = await billingWorld(t, {
      trunks: { carrier: 3 },
      config: { absolutetimeout: 60 },
      credit: '100',
      alice: { maxlines: '60', maxlinesoffpeak: '60' },
    });
    const stop = new AbortController();
    const trunk = await answering(t, w, w.trunkAt('carrier'), 'uas-answer.xml', {
      calls: 50,
      signal: stop.signal,
      timeoutSeconds: 120,
    });
    // 50 calls started at once, each talking 2 to 30 s: they end one after another.
    const calls = call(t, w, '00441234567', {
      calls: 50,
      rate: 50,
      limit: 50,
      timeoutSeconds: 90,
      rewrite: (xml) =>
        xml.replace(
          '<pause milliseconds="300"/>',
          '<pause distribution="uniform" min="2000" max="30000"/>',
        ),
    });

    // Some calls over, then what tollgate acknowledged: the balance it shows, then the CDRs
    // (reading them writes everything queued, that balance included, durably) — and kill.
    await until(async () => (await cdrsOf(t, w)).length >= 5, '5 calls over', 120_000);
    const balance = await billingOf(t, w, 'alice');
    const committed = await cdrsOf(t, w);
    t.log(`killed with ${committed.length} CDRs acknowledged`);
    w.d.process.kill('SIGKILL');
    await new Promise((resolve) =>
      w.d.process.exitCode !== null || w.d.process.signalCode !== null
        ? resolve(undefined)
        : w.d.process.once('close', resolve),
    );

    const d = await startDaemon(t, {
      dataDir: w.dir,
      configFile: w.d.configFile,
      netns: w.link.a.ns,
    });
    const again: World = { ...w, d };
    const restarted = await cdrsOf(t, again);
    t.log(`after restart: ${restarted.length} CDRs`);
    t.true(restarted.length < 50, 'the kill came while calls were up');
    const byId = new Map(restarted.map((c) => [c.callId, c]));
    t.is(byId.size, restarted.length, 'no Call-ID twice');
    for (const c of committed) t.deepEqual(byId.get(c.callId), c, `CDR ${c.callId} kept as it was`);
    const after = await billingOf(t, again, 'alice');
    t.true(after.creditMicros <= balance.creditMicros, 'no acknowledged charge undone');
    const spent = restarted.reduce((sum, c) => sum + c.costMicros, 0);
    t.is(CREDIT - after.creditMicros, spent, 'credit spent = sum of the CDRs’ costs');
    t.is(after.spentTodayMicros, spent);
    for (const c of restarted) {
      t.false(c.refused, `${c.callId} was not refused`);
      t.is(c.costMicros, c.billedSeconds * PER_SECOND, `${c.callId} rated by its seconds`);
    }

    // The calls the crash cut: their phones' BYEs reach a daemon that never saw them. They
    // must not be charged (no CDR, no credit) now or ever.
    const callers = await calls;
    t.log(`caller: ${callers.successful} calls completed, ${callers.failed} failed`);
    stop.abort();
    await trunk.done;
    const final = await cdrsOf(t, again);
    t.deepEqual(final, restarted, 'no CDR for a call the crash cut');
    t.is((await billingOf(t, again, 'alice')).creditMicros, after.creditMicros);
    t.is(await d.stop(), 0);
  },
);
