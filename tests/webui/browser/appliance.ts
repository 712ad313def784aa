// One appliance for the browser tests: the real daemon in its own network namespace with the
// kernel dataplane (XDP on the veth), an administrator, and the other namespace for the phones
// and the attackers:
//
//   side a (phones, attackers)  ── veth ──  side b (tollgate: SIP 5060; HTTPS on 127.0.0.1)
//
// The web UI listens where it does by default, on the appliance's loopback (webaddress
// 127.0.0.1, remoteadmin 1: administration from localhost only), so the operator's browser
// runs in side b too, as it would through an SSH tunnel to the appliance.
//
// Shared by the serial tests of a file (set up in test.before, torn down in test.after.always),
// because a daemon with XDP takes tens of seconds to start on the shared machine.
import type { ExecutionContext } from 'ava';
import { freePort, type RunningDaemon, startDaemon, testConfig } from '../../helpers/daemon.ts';
import { createLink, type Link } from '../../helpers/netns.ts';
import { tempDir } from '../../helpers/tmp.ts';

export const ADMIN = { name: 'operator', password: 'Granite-Harbour-4417' };
export const SIP_PORT = 5060;

export interface Appliance {
  link: Link;
  d: RunningDaemon;
  /** https://127.0.0.1:<webport>, inside side b. */
  origin: string;
  /** A second address on side a that attacks come from (tools that bind it: svmap, SIPp). */
  attacker: string;
  /** Registers teardowns that run at cleanup() (for what the serial tests share). */
  t: ExecutionContext;
  cleanup(): Promise<void>;
}

/** A stand-in for ava's t in test.before: teardowns run in reverse at cleanup(). */
export function sharedContext(): { t: ExecutionContext; run(): Promise<void> } {
  const teardowns: Array<() => unknown> = [];
  const t = {
    teardown: (fn: () => unknown) => teardowns.push(fn),
    log: (...values: unknown[]) => console.log(...values),
  } as unknown as ExecutionContext;
  return {
    t,
    run: async () => {
      for (const fn of teardowns.splice(0).reverse()) {
        try {
          await fn();
        } catch {
          // best effort: the rest still runs
        }
      }
    },
  };
}

export async function startAppliance(overrides: Record<string, string | number> = {}) {
  const shared = sharedContext();
  const t = shared.t;
  try {
    const link = await createLink(t);
    const attacker = link.hostV4(66);
    await link.addAddress(link.a, attacker);
    // No routeFrom(attacker) here: it would make the browser's connections come from the
    // attacker's address too (and be banned with it). svmap binds its own source (-b).
    const webport = await freePort();
    const dataDir = tempDir(t);
    const configFile = await testConfig(dataDir, {
      sipaddress: link.b.v4,
      sipport: SIP_PORT,
      sipsport: SIP_PORT + 1,
      dataplanemode: 'auto',
      trustlanip: 'false',
      webport,
      ...overrides,
    });
    const d = await startDaemon(t, { dataDir, configFile, netns: link.b.ns });
    const added = await d.ctl('admins', 'add', ADMIN.name, '--password', ADMIN.password);
    if (added.code !== 0) throw new Error(`admins add: ${added.stderr}`);
    return {
      link,
      d,
      origin: `https://127.0.0.1:${webport}`,
      attacker,
      t,
      cleanup: shared.run,
    } satisfies Appliance;
  } catch (err) {
    await shared.run();
    throw err;
  }
}

/** Polls fn until it returns something other than undefined (a safety-net deadline only). */
export async function eventually<T>(
  what: string,
  fn: () => Promise<T | undefined> | T | undefined,
  deadlineMs = 60_000,
): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
