// A billing service over a real store, settings and accounts, driven with explicit times.
import type { ExecutionContext } from 'ava';
import { Settings } from '../../../src/config/settings.ts';
import { BillingService } from '../../../src/control/billing/service.ts';
import { UserService } from '../../../src/control/users.ts';
import { createLogger, type Logger } from '../../../src/log.ts';
import type { CallEnded, CallRequest } from '../../../src/policy-port.ts';
import { Store } from '../../../src/store/store.ts';
import { tempDir } from '../../helpers/tmp.ts';

export const quiet = createLogger({ level: 'silent' });
export const PASSWORD = 'Correct-Horse-Battery-9';
/** Monday 2026-12-07 00:00 UTC. */
export const MONDAY = Date.UTC(2026, 11, 7);
export const DAY = 86_400_000;

export interface Rig {
  store: Store;
  settings: Settings;
  users: UserService;
  billing: BillingService;
  dir: string;
  /** Adds an account with fields (name → text value as the console takes it). */
  user(name: string, fields?: Record<string, string>): void;
}

export function rig(
  t: ExecutionContext,
  config: Record<string, unknown> = {},
  options: { log?: Logger; dir?: string; banIp?: (ip: string) => void } = {},
): Rig {
  const dir = options.dir ?? tempDir(t);
  const store = Store.open(dir);
  const log = options.log ?? quiet;
  const settings = new Settings(store, config, log);
  const users = new UserService(store, settings, log);
  const billing = new BillingService({
    store,
    settings,
    accounts: users,
    log,
    ...(options.banIp ? { banIp: options.banIp } : {}),
  });
  users.useCredit(billing);
  t.teardown(async () => {
    await billing.close();
    await store.close();
  });
  return {
    store,
    settings,
    users,
    billing,
    dir,
    user(name, fields = {}) {
      users.add(name, PASSWORD);
      // Tests that raise maxlines mean it at any hour (MONDAY 00:00 is off-peak).
      if (fields.maxlines && !fields.maxlinesoffpeak)
        fields = { ...fields, maxlinesoffpeak: fields.maxlines };
      for (const [k, v] of Object.entries(fields)) users.set(name, k, v);
    },
  };
}

let seq = 0;

export function request(
  account: string | undefined,
  dialled: string,
  at: number,
  more: Partial<CallRequest> = {},
): CallRequest {
  return {
    callId: `call-${++seq}`,
    source: { transport: 'udp', ip: '10.0.0.5', port: 5060 },
    account,
    accountKind: account ? 'user' : undefined,
    callerId: account,
    dialled,
    destination: 'trunk',
    trunk: 'carrier',
    at,
    ...more,
  };
}

/** The call's end: answered at `at` and talking `seconds` (undefined: never answered). */
export function end(
  call: CallRequest,
  seconds: number | undefined,
  more: Partial<CallEnded> = {},
): CallEnded {
  const answered = seconds !== undefined;
  return {
    ...call,
    startedAt: call.at,
    answeredAt: answered ? call.at : undefined,
    endedAt: call.at + (seconds ?? 0) * 1000,
    durationSeconds: seconds ?? 0,
    disconnectSide: 'caller',
    reason: answered ? 'BYE' : '487',
    status: answered ? 200 : 487,
    ...more,
  };
}

/** Authorizes, and if allowed ends the call after `seconds` of talk: the decision. */
export function call(r: Rig, account: string, dialled: string, at: number, seconds: number) {
  const req = request(account, dialled, at);
  const decision = r.billing.calls.authorize(req);
  r.billing.calls.ended(end(req, decision.allow ? seconds : undefined));
  return decision;
}

/** A tariff file: one line per [tariff, prefix, price, fee, increments, parent]. */
export function tariffs(r: Rig, rows: string[][]): void {
  r.billing.tariffs.importCsv(
    `tariff,prefix,price,connect_fee,increments,parent\n${rows.map((x) => x.join(',')).join('\n')}\n`,
  );
}
