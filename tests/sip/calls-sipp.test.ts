// Calls between two real SIP phones (SIPp as caller and as callee, on loopback) through
// tollgate, ended every way a call ends, each checked as the phones see it (SIPp's scenario
// completes only if every message it expects arrived) and as billing sees it (the
// CallAccounting the proxy reports to: ended() once, with the side and reason):
//
//   completed call       caller hangs up: disconnect side caller, reason BYE
//   CANCEL               the callee's 487 reaches the caller; side caller
//   busy                 486 reaches the caller; side callee
//   no answer            ringtimeout: CANCEL to the callee, 487 to the caller; side proxy
//   maxDurationSeconds   from policy: BYE to both phones; side proxy with policy's rule
//   mediatimeout         the relay sees no RTP (SIPp sends none): BYE to both phones
//   mediatimeout         the relay sees no RTP (SIPp sends none): BYE to both phones
//   session timers       a refreshed call outlives its 90 s interval; an unrefreshed one is
//                        torn down at 90 s (RFC 4028, the RFC's smallest interval: these two
//                        take 100 s of real time, side by side)
//   tollgatectl          `calls` lists the live call, `hangup ID` sends BYE to both phones
//                        (the real daemon; unknown id → exit 1)
//
// The proxy of the first ones runs in this process (SipService with a test CallAccounting);
// the last one is the real daemon with its default policy. Both SIPp runs of a call share
// -cid_str (tests/sipp/answer-register.xml explains). The tests run one at a time: a dozen
// SIPp processes at once on a loaded machine miss their own deadlines.
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import test, { type ExecutionContext } from 'ava';
import { Settings } from '../../src/config/settings.ts';
import { UserService } from '../../src/control/users.ts';
import { createLogger } from '../../src/log.ts';
import type {
  CallAccounting,
  CallDecision,
  CallEnded,
  CallRequest,
} from '../../src/policy-port.ts';
import { DigestAuthenticator } from '../../src/sip/auth/authenticator.ts';
import { NonceManager } from '../../src/sip/auth/nonce.ts';
import { BindingStore } from '../../src/sip/registrar/bindings.ts';
import { SipService } from '../../src/sip/service.ts';
import { Store } from '../../src/store/store.ts';
import { freePort, startDaemon, testConfig } from '../helpers/daemon.ts';
import { runSipp, type SippResult } from '../helpers/sipp.ts';
import { keepBlocks } from '../helpers/sipp-blocks.ts';
import { tempDir } from '../helpers/tmp.ts';

const ALICE = { user: 'alice', password: 'Wonder-land-42' };
const BOB = { user: 'bob', password: 'Build-it-77x' };
const DOMAIN = 'tollgate.test';

class TestAccounting implements CallAccounting {
  decision: CallDecision = { allow: true, maxDurationSeconds: undefined };
  readonly asked: CallRequest[] = [];
  readonly ends: CallEnded[] = [];
  authorize(call: CallRequest): CallDecision {
    this.asked.push(call);
    return this.decision;
  }
  answered() {
    return { maxDurationSeconds: undefined };
  }
  ended(call: CallEnded): void {
    this.ends.push(call);
  }
  trunkUsable(): boolean {
    return true;
  }
}

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 60_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** tollgate's SIP service in this process, on loopback, reporting calls to `accounting`. */
async function proxy(t: ExecutionContext, config: Record<string, unknown> = {}) {
  const dataDir = tempDir(t);
  const log = createLogger({ destination: new Writable({ write: (_c, _e, done) => done() }) });
  const store = Store.open(dataDir);
  t.teardown(() => store.close());
  const port = await freePort();
  const settings = new Settings(
    store,
    {
      sipaddress: '127.0.0.1',
      sipport: port,
      sipsport: await freePort(),
      realm: DOMAIN,
      ...config,
    },
    log,
  );
  const users = new UserService(store, settings, log);
  for (const u of [ALICE, BOB]) users.add(u.user, u.password);
  const bindings = new BindingStore(store);
  const accounting = new TestAccounting();
  const sip = await SipService.start({
    settings,
    dataDir,
    auth: new DigestAuthenticator(users, new NonceManager({ key: randomBytes(32) }), settings),
    bindings,
    trust: { trust: async () => {} },
    log,
    policy: {
      admit: () => true,
      report: () => ({ action: 'pass' }),
      userExists: (name) => users.exists(name),
      ipAuthenticate: () => undefined,
      calls: accounting,
    },
  });
  t.teardown(() => sip.close());
  return { port, bindings, accounting, sip };
}

interface CallPlan {
  /** Blocks of tests/sipp/call-ends.xml the caller keeps, and a further rewrite. */
  caller: string[];
  callerRewrite?: (xml: string) => string;
  /** Blocks of tests/sipp/answer-ends.xml the callee keeps. */
  callee: string[];
  timeoutSeconds?: number;
  /** Runs while both phones are in the call (the daemon test hangs it up). */
  during?: () => Promise<void>;
}

/** bob registers and waits; alice calls him; both SIPp results. */
async function placeCall(
  t: ExecutionContext,
  port: number,
  registered: () => boolean | Promise<boolean>,
  plan: CallPlan,
): Promise<{ caller: SippResult; callee: SippResult; callId: string }> {
  const callIds = `tgends-${randomBytes(4).toString('hex')}-%u`;
  const common = {
    target: { ip: '127.0.0.1', port },
    transport: 'udp' as const,
    timeoutSeconds: plan.timeoutSeconds ?? 30,
  };
  // SIPP_TRACE=DIR keeps both phones' messages (DIR/caller.log, DIR/callee.log) to debug.
  // Ports of our own: SIPp's default search from 5060 binds with SO_REUSEADDR, so two
  // runs side by side could share one and steal each other's messages.
  const answering = runSipp(t, {
    ...common,
    localPort: await freePort(),
    scenario: 'answer-ends.xml',
    account: BOB,
    fields: [BOB.user, DOMAIN],
    rewrite: keepBlocks(...plan.callee),
    extraArgs: [
      '-cid_str',
      callIds,
      ...(process.env.SIPP_TRACE
        ? ['-trace_msg', '-message_file', `${process.env.SIPP_TRACE}/callee.log`]
        : []),
    ],
  });
  await until(registered, 'bob to register');
  const keep = keepBlocks(...plan.caller);
  const calling = runSipp(t, {
    ...common,
    localPort: await freePort(),
    scenario: 'call-ends.xml',
    account: ALICE,
    fields: [ALICE.user, DOMAIN, BOB.user],
    rewrite: (xml) => (plan.callerRewrite ?? ((x) => x))(keep(xml)),
    extraArgs: [
      '-cid_str',
      callIds,
      ...(process.env.SIPP_TRACE
        ? ['-trace_msg', '-message_file', `${process.env.SIPP_TRACE}/caller.log`]
        : []),
    ],
  });
  await plan.during?.();
  const [caller, callee] = await Promise.all([calling, answering]);
  return { caller, callee, callId: callIds.replace('%u', '1') };
}

/** The one ended() of the call, once the proxy has told it. */
async function endOf(accounting: TestAccounting): Promise<CallEnded> {
  await until(() => accounting.ends.length > 0, 'the end of the call told to accounting');
  return accounting.ends[0]!;
}

test.serial(
  'a completed call: both phones finish their scenario; accounting hears answer and one end (caller, BYE)',
  async (t) => {
    const p = await proxy(t);
    const r = await placeCall(t, p.port, () => p.bindings.size === 1, {
      caller: ['answered', 'bye'],
      callee: ['answer', 'byed'],
    });
    t.is(r.caller.exitCode, 0, `caller: ${r.caller.output}`);
    t.is(r.callee.exitCode, 0, `callee: ${r.callee.output}`);
    const end = await endOf(p.accounting);
    t.like(end, {
      account: 'alice',
      dialled: 'bob',
      disconnectSide: 'caller',
      reason: 'BYE',
      status: 200,
    });
    t.truthy(end.answeredAt);
    t.is(p.accounting.ends.length, 1);
    t.is(p.sip.proxy.calls.table.size, 0);
  },
);

test.serial(
  'CANCEL: the callee is cancelled, its 487 reaches the caller; side caller',
  async (t) => {
    const p = await proxy(t);
    const r = await placeCall(t, p.port, () => p.bindings.size === 1, {
      caller: ['cancel'],
      callee: ['ring'],
    });
    t.is(r.caller.exitCode, 0, `caller: ${r.caller.output}`);
    t.is(r.callee.exitCode, 0, `callee: ${r.callee.output}`);
    t.like(await endOf(p.accounting), {
      disconnectSide: 'caller',
      reason: 'CANCEL',
      status: 487,
      answeredAt: undefined,
    });
  },
);

test.serial('busy: the callee says 486, the caller hears 486; side callee', async (t) => {
  const p = await proxy(t);
  const r = await placeCall(t, p.port, () => p.bindings.size === 1, {
    caller: ['final'],
    callerRewrite: (xml) => xml.replace('<recv response="487"/>', '<recv response="486"/>'),
    callee: ['busy'],
  });
  t.is(r.caller.exitCode, 0, `caller: ${r.caller.output}`);
  t.is(r.callee.exitCode, 0, `callee: ${r.callee.output}`);
  t.like(await endOf(p.accounting), { disconnectSide: 'callee', status: 486 });
});

test.serial(
  'no answer: at ringtimeout the callee gets a CANCEL and the caller its final 487; side proxy',
  async (t) => {
    const p = await proxy(t, { ringtimeout: 5 });
    const r = await placeCall(t, p.port, () => p.bindings.size === 1, {
      caller: ['final'],
      callee: ['ring'],
    });
    t.is(r.caller.exitCode, 0, `caller: ${r.caller.output}`);
    t.is(r.callee.exitCode, 0, `callee (the CANCEL): ${r.callee.output}`);
    t.like(await endOf(p.accounting), {
      disconnectSide: 'proxy',
      reason: 'ringtimeout',
      status: 487,
    });
  },
);

test.serial(
  'a call over the maxDurationSeconds policy gave is cut: BYE to both phones, ended() names the proxy and the rule',
  async (t) => {
    const p = await proxy(t);
    p.accounting.decision = { allow: true, maxDurationSeconds: 2, rule: 'test-credit' };
    const r = await placeCall(t, p.port, () => p.bindings.size === 1, {
      caller: ['answered', 'byed'],
      callee: ['answer', 'byed'],
    });
    t.is(r.caller.exitCode, 0, `caller (the BYE): ${r.caller.output}`);
    t.is(r.callee.exitCode, 0, `callee (the BYE): ${r.callee.output}`);
    const end = await endOf(p.accounting);
    t.like(end, { disconnectSide: 'proxy', reason: 'test-credit', status: 200 });
    t.is(p.accounting.ends.length, 1);
  },
);

test.serial(
  'mediatimeout: an answered call whose relay sees no media is cut with BYE to both phones; side proxy',
  async (t) => {
    const p = await proxy(t, { mediatimeout: 3 });
    const r = await placeCall(t, p.port, () => p.bindings.size === 1, {
      caller: ['answered', 'byed'],
      callee: ['answer', 'byed'],
    });
    t.is(r.caller.exitCode, 0, `caller (the BYE): ${r.caller.output}`);
    t.is(r.callee.exitCode, 0, `callee (the BYE): ${r.callee.output}`);
    t.like(await endOf(p.accounting), { disconnectSide: 'proxy', reason: 'mediatimeout' });
  },
);

test.serial(
  'RFC 4028: a refreshed call outlives its session interval; one not refreshed is torn down at its end',
  async (t) => {
    t.timeout(4 * 60_000);
    const timer = (xml: string) =>
      xml.replace(
        'User-Agent: SIPp caller\n      Content-Type',
        'User-Agent: SIPp caller\n      Supported: timer\n      Session-Expires: 90;refresher=uac\n      Content-Type',
      );
    // No RTP flows in these calls: mediatimeout off, so only the session timer can end them.
    const refreshed = (async () => {
      const p = await proxy(t, { mediatimeout: 0 });
      const r = await placeCall(t, p.port, () => p.bindings.size === 1, {
        caller: ['answered', 'session'],
        callerRewrite: timer,
        callee: ['answer', 'refresh', 'byed'],
        timeoutSeconds: 150,
      });
      t.is(r.caller.exitCode, 0, `refreshing caller: ${r.caller.output}`);
      t.is(r.callee.exitCode, 0, `its callee: ${r.callee.output}`);
      const end = await endOf(p.accounting);
      t.like(end, { disconnectSide: 'caller', reason: 'BYE' });
      t.true(end.durationSeconds > 90, `lasted ${end.durationSeconds} s: past the first interval`);
    })();
    const expired = (async () => {
      const p = await proxy(t, { mediatimeout: 0 });
      const r = await placeCall(t, p.port, () => p.bindings.size === 1, {
        caller: ['answered', 'byed'],
        callerRewrite: timer,
        callee: ['answer', 'byed'],
        timeoutSeconds: 150,
      });
      t.is(r.caller.exitCode, 0, `caller (tollgate's BYE): ${r.caller.output}`);
      t.is(r.callee.exitCode, 0, `callee (tollgate's BYE): ${r.callee.output}`);
      t.like(await endOf(p.accounting), { disconnectSide: 'proxy', reason: 'sessionexpires' });
    })();
    await Promise.all([refreshed, expired]);
  },
);

test.serial(
  'tollgatectl calls lists the live call; hangup ID sends BYE to both phones; an unknown id is exit 1',
  async (t) => {
    t.timeout(3 * 60_000);
    const dataDir = tempDir(t);
    const sipport = await freePort();
    const configFile = await testConfig(dataDir, { sipport, realm: DOMAIN });
    const d = await startDaemon(t, { dataDir, configFile });
    for (const u of [ALICE, BOB]) {
      const added = await d.ctl('users', 'add', u.user, '--password', u.password);
      t.is(added.code, 0, added.stderr);
    }
    const empty = await d.ctl('calls');
    t.is(empty.code, 0, empty.stderr);
    t.is(empty.stdout.trim(), 'no calls');
    const registrations = async () =>
      (JSON.parse((await d.ctl('status', '--json')).stdout) as { registrations: number })
        .registrations === 1;
    let listed: Array<Record<string, unknown>> = [];
    const r = await placeCall(t, sipport, registrations, {
      caller: ['answered', 'byed'],
      callee: ['answer', 'byed'],
      timeoutSeconds: 60,
      during: async () => {
        await until(async () => {
          const out = await d.ctl('calls', '--json');
          listed = JSON.parse(out.stdout) as Array<Record<string, unknown>>;
          return listed.some((c) => c.state === 'confirmed');
        }, 'the call to be answered');
        const text = await d.ctl('calls');
        t.regex(text.stdout, /^ID\s+STATE\s+CALLER\s+CALLEE\s+ACCOUNT\s+ROUTE\s+AGE/m);
        t.regex(text.stdout, /confirmed\s+alice\s+bob\s+alice\s+local/);
        const unknown = await d.ctl('hangup', 'no-such-call@nowhere');
        t.is(unknown.code, 1);
        t.regex(unknown.stderr, /no call no-such-call@nowhere/);
        const usage = await d.ctl('hangup');
        t.is(usage.code, 2, 'no id: a usage error');
        const hung = await d.ctl('hangup', String(listed[0]!.id));
        t.is(hung.code, 0, hung.stderr);
        t.regex(hung.stdout, /ended call/);
      },
    });
    t.like(listed[0], { state: 'confirmed', caller: 'alice', callee: 'bob', account: 'alice' });
    const ports = listed[0]!.mediaPorts as number[];
    t.true(ports.length > 0 && ports.every(Number.isInteger), 'the relay ports the call uses');
    t.is(r.caller.exitCode, 0, `caller (the BYE): ${r.caller.output}`);
    t.is(r.callee.exitCode, 0, `callee (the BYE): ${r.callee.output}`);
    const after = JSON.parse((await d.ctl('calls', '--json')).stdout) as unknown[];
    t.deepEqual(after, [], 'the call is gone');
    const all = await d.ctl('hangup', 'all', '--json');
    t.is(all.code, 0);
    t.deepEqual(JSON.parse(all.stdout), { ended: 0 });
    t.is(await d.stop(), 0);
  },
);
