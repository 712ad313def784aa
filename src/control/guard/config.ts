// The guard's view of the configuration: read from Settings once, kept as a plain object,
// rebuilt on a live change of one of its keys (the hot path never does a key lookup).
import type { ConfigValue } from '../../config/schema.ts';
import { lookupKey } from '../../config/validate.ts';
import { compileUaList, type UaMatcher } from './useragents.ts';

/** What the guard needs from Settings (src/control/settings.ts implements it). */
export interface GuardSettings {
  get<T extends ConfigValue = ConfigValue>(key: string): T;
  onChange(listener: (key: string, value: ConfigValue, previous: ConfigValue) => void): () => void;
}

/** The reference's keys the guard reads. */
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
] as const;

/**
 * Session-level thresholds. The reference says only "dynamically based on frequency and
 * number of requests", so these are tollgate keys. Until the schema has them the defaults
 * below apply; once a key exists in the schema its configured value is used.
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

/** Keys the guard reads that the schema does not have yet (to be added there). */
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

export interface GuardConfig {
  enablefirewall: number;
  autoban: number;
  maxsubsmsgcount: number;
  msgPeriodMs: number;
  maxwrongmsgallowed: number;
  wrongPeriodMs: number;
  maxsubsipauthrequest: number;
  maxwrongauthfromip: number;
  maxfailedauthenabledipport: number;
  maxfailedauthenabledip: number;
  failAuthPeriodMs: number;
  fastauthsubswrongusermsg: number;
  reenableMs: number;
  blockua: UaMatcher;
  allowua: UaMatcher;
  blockscanning_treshold: number;
  trust: {
    allowtrustedip: number;
    trustedip: readonly string[];
    trustlanip: boolean;
    trustsubnet: boolean;
    trustauthip: boolean;
    treatusersasknownip: boolean;
    ownAddresses: readonly string[];
  };
  maxcallperip: number;
  maxdurationperip: number;
  /** maxcostperip in integer micro-units (billing compares micro-units, never floats). */
  maxcostperipMicros: number;
  callPeriodMs: number;
  maxcallperuserid: number;
  /** TCP/TLS connections refused, evicted or closed by a deadline (connection-* reports). */
  maxconnlimithits: number;
  connLimitPeriodMs: number;
  session: Record<SessionKey, number>;
}

function sessionValue(settings: GuardSettings, key: SessionKey): number {
  return lookupKey(key) ? Number(settings.get(key)) : SESSION_DEFAULTS[key];
}

export function readGuardConfig(settings: GuardSettings): GuardConfig {
  const num = (k: string) => Number(settings.get(k));
  const list = (k: string) => settings.get<readonly string[]>(k);
  const sipaddress = String(settings.get('sipaddress'));
  return {
    enablefirewall: num('enablefirewall'),
    autoban: num('autoban'),
    maxsubsmsgcount: num('maxsubsmsgcount'),
    msgPeriodMs: num('maxsubsmsgperiod') * 1000,
    maxwrongmsgallowed: num('maxwrongmsgallowed'),
    wrongPeriodMs: num('maxwrongmsgperiod') * 1000,
    maxsubsipauthrequest: num('maxsubsipauthrequest'),
    maxwrongauthfromip: num('maxwrongauthfromip'),
    maxfailedauthenabledipport: num('maxfailedauthenabledipport'),
    maxfailedauthenabledip: num('maxfailedauthenabledip'),
    failAuthPeriodMs: num('maxsubfailauthperiod') * 1000,
    fastauthsubswrongusermsg: num('fastauthsubswrongusermsg'),
    reenableMs: num('reenabledosblocked') * 1000,
    blockua: compileUaList(list('blockua')),
    allowua: compileUaList(list('allowua')),
    blockscanning_treshold: num('blockscanning_treshold'),
    trust: {
      allowtrustedip: num('allowtrustedip'),
      trustedip: list('trustedip'),
      trustlanip: Boolean(settings.get('trustlanip')),
      trustsubnet: Boolean(settings.get('trustsubnet')),
      trustauthip: Boolean(settings.get('trustauthip')),
      treatusersasknownip: Boolean(settings.get('treatusersasknownip')),
      ownAddresses: sipaddress === '0.0.0.0' || sipaddress === '::' ? [] : [sipaddress],
    },
    maxcallperip: num('maxcallperip'),
    maxdurationperip: num('maxdurationperip'),
    maxcostperipMicros: Math.round(num('maxcostperip') * 1_000_000),
    callPeriodMs: Math.round(num('maxcallperperiod') * 86_400_000),
    maxcallperuserid: num('maxcallperuserid'),
    maxconnlimithits: num('maxconnlimithits'),
    connLimitPeriodMs: num('maxconnlimitperiod') * 1000,
    session: {
      sessionmaxmsg: sessionValue(settings, 'sessionmaxmsg'),
      sessionquickmsgms: sessionValue(settings, 'sessionquickmsgms'),
      sessionmaxquickmsg: sessionValue(settings, 'sessionmaxquickmsg'),
      sessionmaxinvalid: sessionValue(settings, 'sessionmaxinvalid'),
      sessionmaxauthfail: sessionValue(settings, 'sessionmaxauthfail'),
    },
  };
}

/** True when a change of `key` must rebuild the guard's config. */
export function isGuardKey(key: string): boolean {
  return (GUARD_KEYS as readonly string[]).includes(key) || key in SESSION_DEFAULTS;
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
