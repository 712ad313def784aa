// The guard's view of the configuration: the typed, read-only view of its keys (Settings.view),
// copied into a plain object once and again on a live change of one of its keys, so the hot
// path reads fields, never a key lookup or a getter.
import type { ConfigKey, ConfigShape, ConfigValue } from '../../config/schema.ts';
import type { ConfigView } from '../../config/settings.ts';
import { lookupKey } from '../../config/validate.ts';
import type { SessionLimits } from './sessions.ts';
import type { TrustConfig } from './trust.ts';
import { compileUaList, type UaMatcher } from './useragents.ts';

/**
 * Every key the guard reads. A rule in rules.ts names the keys that drive it; a new rule's
 * keys are added here (the type of a row's `keys` is this list).
 */
export const GUARD_KEYS = [
  'enablefirewall',
  'autoban',
  'maxsubsmsgcount',
  'maxsubsmsgperiod',
  'maxwrongmsgallowed',
  'maxwrongmsgperiod',
  'maxsubsipauthrequest',
  'maxwrongauthfromip',
  'maxfailedauthenabledipport',
  'maxfailedauthenabledip',
  'maxsubfailauthperiod',
  'fastauthsubswrongusermsg',
  'autofinetune',
  'reenabledosblocked',
  'blockua',
  'allowua',
  'blockscanning_treshold',
  'allowtrustedip',
  'trustedip',
  'trustlanip',
  'trustsubnet',
  'trustauthip',
  'treatusersasknownip',
  'maxcallperip',
  'maxdurationperip',
  'maxcostperip',
  'maxcallperperiod',
  'maxcallperuserid',
  'maxconnlimithits',
  'maxconnlimitperiod',
  'sipaddress',
  'sessionmaxmsg',
  'sessionquickmsgms',
  'sessionmaxquickmsg',
  'sessionmaxinvalid',
  'sessionmaxauthfail',
] as const satisfies readonly ConfigKey[];

export type GuardKey = (typeof GUARD_KEYS)[number];
export type GuardView = ConfigView<GuardKey>;

/** What the guard needs from Settings (src/config/settings.ts implements it). */
export interface GuardSettings {
  view<const K extends ConfigKey>(keys: readonly K[]): ConfigView<K>;
  onChange(listener: (key: string, value: ConfigValue, previous: ConfigValue) => void): () => void;
}

/**
 * Session-level thresholds (keys/bootstrap.ts, section "session"). The reference says only
 * "dynamically based on frequency and number of requests", so these are tollgate keys:
 *
 *   sessionmaxmsg 1000       messages in one dialog (call-id). A 4 h call refreshed every
 *                            90 s (RFC 4028) is ~500 messages with DTMF INFOs; 1000 is
 *                            only reached by a loop or a flood inside a dialog.
 *   sessionquickmsgms 5      two messages of one dialog closer than this are "quick"; SIP
 *                            retransmissions are ≥ T1 = 500 ms apart (RFC 3261 §17.1.1.2).
 *   sessionmaxquickmsg 20    this many quick messages in one dialog close it; a
 *                            100/180/183/200 burst from a fast UAS stays well below.
 *   sessionmaxinvalid 5      consecutive invalid messages in one dialog (a valid one resets).
 *   sessionmaxauthfail 3     failed authentications within one call-id (a phone with a wrong
 *                            password retrying forever, or a guesser reusing its dialog).
 */
export const SESSION_DEFAULTS = {
  sessionmaxmsg: 1000,
  sessionquickmsgms: 5,
  sessionmaxquickmsg: 20,
  sessionmaxinvalid: 5,
  sessionmaxauthfail: 3,
} as const;

export type SessionKey = keyof typeof SESSION_DEFAULTS;

/** Session keys the schema does not declare (none since they moved to keys/bootstrap.ts). */
export function missingSessionKeys(): SessionKey[] {
  return (Object.keys(SESSION_DEFAULTS) as SessionKey[]).filter((k) => !lookupKey(k));
}

/**
 * maxsubsipauthrequest = -1: "automatically calculated based on server load". Load is the
 * event loop utilisation (0..1, perf_hooks eventLoopUtilization over the last seconds): an
 * idle server tolerates long unanswered challenge runs, a busy one cuts them sooner.
 *
 *   limit = round(AUTO_AUTH_MAX − (AUTO_AUTH_MAX − AUTO_AUTH_MIN) × load)
 *
 * 500 at idle, 300 at half load, 100 at full load. The count is "challenges and failures
 * from the address since its last success", so an office behind one NAT address whose phones
 * authenticate keeps resetting it; only a source that never answers a challenge correctly
 * climbs. 100 is still 50 full REGISTER attempts.
 */
export const AUTO_AUTH_MAX = 500;
export const AUTO_AUTH_MIN = 100;

export function derivedAuthRequestLimit(load: number): number {
  const l = Number.isFinite(load) ? Math.min(1, Math.max(0, load)) : 0;
  return Math.round(AUTO_AUTH_MAX - (AUTO_AUTH_MAX - AUTO_AUTH_MIN) * l);
}

/** fastauthsubswrongusermsg's window: fixed by the reference ("in 90 sec"). */
export const FAST_AUTH_WINDOW_MS = 90_000;

/** The keys' values as they were read, plus what is derived from them once per change. */
export type GuardConfig = { readonly [K in GuardKey]: ConfigShape[K] } & {
  readonly reenableMs: number;
  readonly blockuaList: UaMatcher;
  readonly allowuaList: UaMatcher;
  readonly trust: TrustConfig;
  /** maxcostperip in integer micro-units (billing compares micro-units, never floats). */
  readonly maxcostperipMicros: number;
  /** maxcallperperiod (days) in ms. */
  readonly callPeriodMs: number;
  readonly session: SessionLimits;
};

export function readGuardConfig(view: GuardView): GuardConfig {
  const values = {} as Record<GuardKey, ConfigValue>;
  for (const key of GUARD_KEYS) values[key] = view[key];
  const v = values as { [K in GuardKey]: ConfigShape[K] };
  const sipaddress = v.sipaddress;
  return {
    ...v,
    reenableMs: v.reenabledosblocked * 1000,
    blockuaList: compileUaList(v.blockua),
    allowuaList: compileUaList(v.allowua),
    trust: {
      allowtrustedip: v.allowtrustedip,
      trustedip: v.trustedip,
      trustlanip: v.trustlanip,
      trustsubnet: v.trustsubnet,
      trustauthip: v.trustauthip,
      treatusersasknownip: v.treatusersasknownip,
      ownAddresses: sipaddress === '0.0.0.0' || sipaddress === '::' ? [] : [sipaddress],
    },
    maxcostperipMicros: Math.round(v.maxcostperip * 1_000_000),
    callPeriodMs: Math.round(v.maxcallperperiod * 86_400_000),
    session: {
      sessionmaxmsg: v.sessionmaxmsg,
      sessionquickmsgms: v.sessionquickmsgms,
      sessionmaxquickmsg: v.sessionmaxquickmsg,
      sessionmaxinvalid: v.sessionmaxinvalid,
      sessionmaxauthfail: v.sessionmaxauthfail,
    },
  };
}

/** True when a change of `key` must rebuild the guard's config. */
export function isGuardKey(key: string): boolean {
  return (GUARD_KEYS as readonly string[]).includes(key);
}

/**
 * The reference's "Stress-test" section as one set of changes, for a console command to
 * apply in one step (each through Settings.set, so each is validated and stored):
 * no firewall, no scan blocking, no auto ban, no pending-session limit.
 */
export function stressTestProfile(): Readonly<Record<string, ConfigValue>> {
  return Object.freeze({
    enablefirewall: 0,
    blockscanning_treshold: 0,
    autoban: 0,
    blocktoomuchpendingsession: false,
  });
}
