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

/** cdrs: `${startMs padded}:${callId}` → one call record. */
export interface CdrRecord {
  callId: string;
  user: string;
  from: string;
  to: string;
  startedAt: number;
  durationMs: number;
  costMicros: number;
}

export interface TableRecords {
  meta: MetaValue;
  config: StoredConfigEntry;
  users: UserRecord;
  bans: BanRecord;
  registrations: RegistrationRecord;
  counters: CounterRecord;
  cdrs: CdrRecord;
}
