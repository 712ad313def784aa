// A guard over the real Settings (temporary LMDB store), a fake clock, and a ban sink that
// records every call, for the guard's tests.
import { Writable } from 'node:stream';
import type { ExecutionContext } from 'ava';
import { Settings } from '../../../src/config/settings.ts';
import {
  type BanEvidence,
  Guard,
  type GuardEvent,
  type GuardOptions,
} from '../../../src/control/guard/guard.ts';
import { createLogger } from '../../../src/log.ts';
import { Store } from '../../../src/store/store.ts';
import { tempDir } from '../../helpers/tmp.ts';

export interface BanCall {
  ip: string;
  ttlSeconds: number;
  reason: string;
  evidence: BanEvidence;
}

export interface PortBanCall extends BanCall {
  port: number;
}

export class FakeClock {
  now = Date.UTC(2025, 0, 1);
  advance(ms: number): void {
    this.now += ms;
  }
}

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;

export function setup(
  t: ExecutionContext,
  config: Record<string, unknown> = {},
  extra: Partial<GuardOptions> = {},
) {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _e, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  const log = createLogger({ destination, level: 'debug' });
  const store = Store.open(tempDir(t));
  t.teardown(() => store.close());
  // The tests use public addresses: LAN trust (on by default) would exempt 10/8.
  const settings = new Settings(store, config, log);
  const clock = new FakeClock();
  const bans: BanCall[] = [];
  const portBans: PortBanCall[] = [];
  const guard = new Guard({
    settings,
    log,
    now: () => clock.now,
    load: () => 0,
    capacity: 4096,
    ban: (ip, ttlSeconds, reason, evidence) => {
      bans.push({ ip, ttlSeconds, reason, evidence });
    },
    portBan: (ip, port, ttlSeconds, reason, evidence) => {
      portBans.push({ ip, port, ttlSeconds, reason, evidence });
    },
    ...extra,
  });
  t.teardown(() => guard.close());
  /** Sends `n` events, each after `gapMs`; returns the last decision. */
  const send = (n: number, event: GuardEvent, gapMs = 0) => {
    let last = guard.observe(event);
    for (let i = 1; i < n; i++) {
      clock.advance(gapMs);
      last = guard.observe(event);
    }
    return last;
  };
  return { guard, settings, clock, bans, portBans, lines, send, store, log };
}

/** A public test address (RFC 5737), never trusted by default. */
export const ATTACKER = '198.51.100.7';
export const OTHER = '203.0.113.20';
