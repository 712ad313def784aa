// What each table holds. Keys are strings; the comment on each says how keys are formed.
// Money is integer micro-units (1 unit of currency = 1_000_000), never floats.

/** meta: 'schemaVersion' → number, and other facts about the store itself. */
export type MetaValue = number | string;

/** A config value as the schema types it. */
export type StoredConfigValue = number | boolean | string | readonly string[];

/**
 * config: key name → live value set from the console, UI or API (over the config file), with
 * when it was set. Stores written before `setAt` existed hold the bare value.
 */
export type StoredConfigEntry = StoredConfigValue | { value: StoredConfigValue; setAt: number };

/** bans: the address in canonical form ("10.0.0.1", "2001:db8::1") → the ban. */
export interface BanRecord {
  ip: string;
  reason: string;
  /** 'manual' from console/UI/API, 'auto' from the guard. */
  origin: 'manual' | 'auto';
  /** What tripped it (counter, window, sample), for `tollgatectl bans`. */
  evidence?: Record<string, unknown>;
  /** ms since epoch. */
  createdAt: number;
  /** ms since epoch; 0 = until lifted. */
  expiresAt: number;
}

/** users: username → account. Passwords only as hashes. */
export interface UserRecord {
  name: string;
  /** A stable number (the reference's user ID, e.g. for maxcallperuserid); never reused. */
  id: number;
  /** Per-user limits and settings (validated against USER_FIELDS). */
  fields: Record<string, StoredConfigValue>;
  /** Digest HA1 values per algorithm, and an argon2id verifier; never the password itself. */
  secrets: Record<string, string>;
  createdAt: number;
  /** The digest algorithm the account last authenticated with, and since when (ms). */
  digest?: { algorithm: string; since: number };
}

/** registrations: `${aor}\n${contact}` → one binding (RFC 3261 §10.3). */
export interface RegistrationRecord {
  /** The account name: tollgate serves one domain, so the user part is the AOR. */
  aor: string;
  /** The Contact URI as registered. */
  contact: string;
  /** ms since epoch. */
  expiresAt: number;
  /** q-value ×1000 (integer), or -1 when the client gave none. */
  q: number;
  callId: string;
  cseq: number;
  /** Where the REGISTER came from: the proxy sends requests for this binding there. */
  transport: 'udp' | 'tcp' | 'tls';
  ip: string;
  port: number;
  userAgent?: string;
}

/** counters: `${kind}:${subject}` → a windowed counter the guard keeps across restarts. */
export interface CounterRecord {
  count: number;
  windowStart: number;
}

/**
 * cdrs: `${account}\u0000${endedAt as 15 digits}\u0000${callId}` → one call record, answered,
 * failed or refused (account '' when the caller was never identified). Keyed by account
 * first so `cdrs --user U --since T` is one range read. Money fields are integer micro-units.
 */
export interface CdrRecord {
  callId: string;
  account: string;
  accountKind?: 'user' | 'trunk';
  callerId?: string;
  dialled: string;
  destination: 'local' | 'trunk';
  route?: string;
  trunk?: string;
  sourceIp: string;
  /** ms since epoch. */
  startedAt: number;
  answeredAt?: number;
  endedAt: number;
  /** Seconds from the answer to the end (0 for a call never answered). */
  durationSeconds: number;
  /** Seconds the tariff billed (its increments), 0 for a call never answered. */
  billedSeconds: number;
  status: number;
  disconnectSide: 'caller' | 'callee' | 'proxy';
  /** The rule (config key or per-user field) that ended or refused the call, or the SIP outcome. */
  reason: string;
  refused: boolean;
  /** Charged to the account. */
  costMicros: number;
  /** What the trunk's tariff says the carrier charges us (profitability), when known. */
  carrierCostMicros?: number;
  tariff?: string;
  prefix?: string;
}

/**
 * balances: account name → its money and usage counters, changed only in the transaction
 * that stores the CDR (or the top-up) that changes them. Day and month are UTC day numbers
 * (days since the epoch) and UTC months (year × 12 + month).
 */
export interface BalanceRecord {
  /** Prepaid credit (postpaid accounts keep it too, it only limits prepaid ones). */
  creditMicros: number;
  day: number;
  spentDayMicros: number;
  /** Seconds of speech today: initiated calls (users), terminated calls (SIP servers). */
  speechDaySeconds: number;
  month: number;
  spentMonthMicros: number;
  speechMonthSeconds: number;
  /** The highest daily spend seen (the dynamic daily limit learns it). */
  maxDailyMicros: number;
  /** Added to maxmonthlycredit so far: maxmonthlycreditinc per active month. */
  monthlyRaiseMicros: number;
  /** The last call refused, for `tollgatectl users`. */
  lastRefusal?: { rule: string; reason: string; at: number; dialled: string };
  updatedAt: number;
}

/** tariffs: tariff name → its rates (amounts in micro-units). */
export interface TariffRecord {
  name: string;
  parent?: string;
  rates: Array<{
    prefix: string;
    priceMicros: number;
    connectFeeMicros: number;
    first: number;
    next: number;
    description?: string;
  }>;
  updatedAt: number;
}

/**
 * blacklist: `${kind}:${number}` → a blocked dialled number (kind 'fixed': set by the
 * operator; 'dynamic': with an expiry; 'smart': learned from call statistics).
 */
export interface BlacklistRecord {
  number: string;
  kind: 'fixed' | 'dynamic' | 'smart';
  reason: string;
  createdAt: number;
  /** ms since epoch; 0 = until removed. */
  expiresAt: number;
}

/** trunks: name → a SIP server calls are routed to (and accepted from, by address). */
export interface TrunkRecord {
  name: string;
  /** An IP literal: tollgate does no DNS for routing. */
  host: string;
  port: number;
  transport: 'udp' | 'tcp' | 'tls';
  /** Addresses/CIDRs its inbound calls come from (the trunk is then the calling account). */
  inboundIps: string[];
  /** Inbound calls must dial with this prefix (removed before routing); '' = none. */
  techprefix: string;
  /** No answer at all (not even 100 Trying) within this many seconds: the next trunk. */
  timeoutSeconds: number;
  createdAt: number;
}

/** meta key bumped by every change of trunks or routes: readers reload when it moves. */
export const ROUTING_VERSION_KEY = 'routingVersion';

/** routes: `${prefix}\n${trunk}` → a dial prefix sent to a trunk. */
export interface RouteRecord {
  /** Digits (and + * #) the dialled number starts with; '' matches every number. */
  prefix: string;
  trunk: string;
  /** Lower is tried first. */
  priority: number;
  /** Share of calls among routes of the same prefix and priority. */
  weight: number;
  /** Leading characters removed from the number before it is sent, then `prepend` put. */
  strip: number;
  prepend: string;
  createdAt: number;
}

/**
 * admins: login name → an administrator of the web UI and API. The password only as an
 * argon2id verifier; the TOTP secret (RFC 6238) so codes can be checked.
 */
export interface AdminRecord {
  name: string;
  /** argon2id PHC string (control/passwords.ts). */
  password: string;
  /** Base32 TOTP secret once two-factor login is on; absent = password only. */
  totp?: string;
  /** The last TOTP time step accepted, so a code is never accepted twice (RFC 6238 §5.2). */
  totpLastStep?: number;
  createdAt: number;
}

export interface TableRecords {
  meta: MetaValue;
  config: StoredConfigEntry;
  users: UserRecord;
  bans: BanRecord;
  registrations: RegistrationRecord;
  counters: CounterRecord;
  cdrs: CdrRecord;
  balances: BalanceRecord;
  tariffs: TariffRecord;
  blacklist: BlacklistRecord;
  trunks: TrunkRecord;
  routes: RouteRecord;
  admins: AdminRecord;
}
