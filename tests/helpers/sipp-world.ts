// A small telephone network for tests that place real SIPp calls through the real daemon:
// tollgate in one network namespace (SIP on 5060), the phones and the trunks in the other,
// each on an address of its own. Used by the routing tests (tests/sip/routing-sipp.test.ts)
// and the billing tests (tests/control/billing/calls-sipp.test.ts).
//
//   const w = await world(t, [3, 4]);                 // alice and bob exist; hosts .3 and .4
//   const trunk = await answering(t, w, { ip: w.link.hostV4(3), port: 5060 }, 'uas-answer.xml');
//   const r = await call(t, w, '00441234567');        // alice calls, authenticated
//   await trunk.done;
//
// Everything is torn down with the test, pass or fail: the daemon (startDaemon), the
// namespaces (createLink) and every SIPp still running (runSipp).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ExecutionContext } from 'ava';
import { type RunningDaemon, startDaemon, testConfig } from './daemon.ts';
import { createLink, exec, type Link } from './netns.ts';
import { runSipp, type SippResult } from './sipp.ts';
import { tempDir } from './tmp.ts';

export const DOMAIN = 'tollgate.test';
export const PASSWORD = 'Routing-calls-77';
export const ALICE = { user: 'alice', password: PASSWORD };
export const BOB = { user: 'bob', password: PASSWORD };

/** The messages SIPp logged as received (-trace_msg), each as its text. */
export function received(file: string): string[] {
  return readFileSync(file, 'latin1')
    .split(/^-{10,}.*$/m)
    .filter((block) => /message received/.test(block))
    .map((block) => block.slice(block.indexOf('\n\n') + 2).trim());
}

/** What the daemon logged, one object per pino line. */
export function logLines(d: RunningDaemon): Record<string, unknown>[] {
  return d
    .log()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Polls `check` until it holds; `ms` is a safety net, not a measurement. */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  ms = 20_000,
): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export interface World {
  link: Link;
  d: RunningDaemon;
  dir: string;
  target: { ip: string; port: number };
}

/**
 * The daemon in namespace a on 5060 with `users` (alice and bob); `hosts` are further
 * addresses (the nth of the subnet) on the phones' side b, for trunks and phones of their own.
 */
export async function world(
  t: ExecutionContext,
  hosts: number[],
  config: Record<string, string | number> = {},
  users: ReadonlyArray<{ user: string; password: string }> = [ALICE, BOB],
): Promise<World> {
  const link = await createLink(t);
  for (const h of hosts) await link.addAddress(link.b, link.hostV4(h));
  const dir = tempDir(t);
  const configFile = await testConfig(dir, {
    sipaddress: link.a.v4,
    sipport: 5060,
    realm: DOMAIN,
    ...config,
  });
  const d = await startDaemon(t, { dataDir: dir, configFile, netns: link.a.ns });
  for (const u of users) {
    const r = await d.ctl('users', 'add', u.user, '--password', u.password);
    t.is(r.code, 0, r.stderr);
  }
  return { link, d, dir, target: { ip: link.a.v4, port: 5060 } };
}

/** A SIPp in server mode on ip:port of the phones' namespace, bound before this returns. */
export async function answering(
  t: ExecutionContext,
  w: World,
  at: { ip: string; port: number },
  scenario: string,
  o: {
    log?: string;
    rewrite?: (xml: string) => string;
    /** Calls it answers before it exits (default 1). */
    calls?: number;
    signal?: AbortSignal;
    timeoutSeconds?: number;
  } = {},
): Promise<{ done: Promise<SippResult> }> {
  const run = runSipp(t, {
    scenario,
    target: w.target,
    transport: 'udp',
    account: BOB,
    netns: w.link.b.ns,
    localIp: at.ip,
    localPort: at.port,
    timeoutSeconds: o.timeoutSeconds ?? 60,
    fields: ['x'],
    extraArgs: o.log ? ['-trace_msg', '-message_file', o.log] : [],
    ...(o.calls ? { calls: o.calls } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.rewrite ? { rewrite: o.rewrite } : {}),
  });
  await until(async () => {
    const ss = await exec(w.link.b.ns, ['ss', '-Hlun', `sport = :${at.port}`]);
    return ss.stdout.includes(`${at.ip}:${at.port}`);
  }, `SIPp listening on ${at.ip}:${at.port}`);
  // Wrapped: an async function returning the promise itself would wait for SIPp to finish.
  return { done: run };
}

export interface CallOptions {
  log?: string;
  scenario?: string;
  rewrite?: (xml: string) => string;
  /** The From user (default alice); the credentials are alice's all the same. */
  from?: string;
  /** Calls placed (default 1), started at `rate` per second, at most `limit` at once. */
  calls?: number;
  rate?: number;
  limit?: number;
  signal?: AbortSignal;
  timeoutSeconds?: number;
  /** Further SIPp options (e.g. ['-set', 'name', 'value']). */
  extraArgs?: string[];
}

/** alice calls `callee` from the phones' address (b) on 5070: call-auth.xml by default. */
export function call(
  t: ExecutionContext,
  w: World,
  callee: string,
  o: CallOptions = {},
): Promise<SippResult> {
  const callIds = `tgroute-${randomBytes(4).toString('hex')}-%u`;
  return runSipp(t, {
    scenario: o.scenario ?? 'call-auth.xml',
    target: w.target,
    transport: 'udp',
    account: ALICE,
    netns: w.link.b.ns,
    localIp: w.link.b.v4,
    localPort: 5070,
    timeoutSeconds: o.timeoutSeconds ?? 60,
    fields: [o.from ?? ALICE.user, DOMAIN, callee],
    // No IP in the caller's Call-ID: tollgate passes Call-IDs through unchanged.
    extraArgs: [
      '-cid_str',
      callIds,
      ...(o.limit ? ['-l', String(o.limit)] : []),
      ...(o.log ? ['-trace_msg', '-message_file', o.log] : []),
      ...(o.extraArgs ?? []),
    ],
    ...(o.calls ? { calls: o.calls } : {}),
    ...(o.rate ? { rate: o.rate } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.rewrite ? { rewrite: o.rewrite } : {}),
  });
}

/** bob registers from ip:port of the phones' side. */
export async function register(
  t: ExecutionContext,
  w: World,
  at: { ip: string; port: number },
): Promise<void> {
  const r = await runSipp(t, {
    scenario: 'register.xml',
    target: w.target,
    transport: 'udp',
    account: BOB,
    netns: w.link.b.ns,
    localIp: at.ip,
    localPort: at.port,
    fields: [BOB.user, DOMAIN, '300'],
  });
  t.is(r.exitCode, 0, r.output);
}
