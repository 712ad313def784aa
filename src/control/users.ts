// SIP accounts. A record holds the per-user fields of the reference (limits such as maxlines,
// maxdailycredit…, validated against USER_FIELDS) and secrets derived from the password:
// one digest HA1 per algorithm for the realm in force, and an argon2id verifier. The
// password itself is never stored, logged, or shown again (a generated one is shown once).

import { type ConfigValue, USER_FIELDS } from '../config/schema.ts';
import type { ConfigView, Settings } from '../config/settings.ts';
import { parseValue } from '../config/validate.ts';
import { computeHa1, DIGEST_ALGORITHMS, type DigestAlgorithm } from '../crypto/digest.ts';
import { type Cidr, cidrContains, parseCidr } from '../ip.ts';
import type { Logger } from '../log.ts';
import type { IpAccount } from '../policy-port.ts';
import type { UserRecord } from '../store/records.ts';
import type { Store } from '../store/store.ts';
import { ControlErrors } from './errors.ts';
import { generatePassword, hashPassword, passwordWeakness, verifyPassword } from './passwords.ts';

/** SIP user-part characters we accept in account names (a safe subset of RFC 3261 `user`). */
const USERNAME = /^[A-Za-z0-9][A-Za-z0-9._~+-]{0,63}$/;

export interface PublicUser {
  name: string;
  id: number;
  fields: Record<string, ConfigValue>;
  createdAt: number;
  realm: string;
  /** The digest algorithm it last authenticated with, and since when; absent if never. */
  digest?: { algorithm: string; since: number };
}

/** An account whose phone last authenticated with MD5 (`tollgatectl audit` lists them). */
export interface Md5Account {
  name: string;
  /** ms since epoch: when it was first seen using MD5 (since its last other algorithm). */
  since: number;
}

/** The secrets field of each algorithm's HA1 (not built anew on every REGISTER). */
const HA1_FIELD: Record<DigestAlgorithm, string> = {
  MD5: 'ha1:MD5',
  'SHA-256': 'ha1:SHA-256',
  'SHA-512-256': 'ha1:SHA-512-256',
};

/** Accounts whose digest secrets are kept in memory. */
const SECRETS_CACHE = 100_000;

/** authtype (per-user field) → the useshadigestauh level it stands for; 0 = none of its own. */
const AUTHTYPE_LEVEL: Readonly<Record<number, number | undefined>> = {
  0: undefined,
  1: 0, // digest MD5 only
  2: 2, // SHA-256 and SHA-512-256 only
  3: 1, // SHA first, MD5 too
};

interface CachedAccount {
  readonly secrets: Record<string, string>;
  readonly id: number;
  readonly level: number | undefined;
}

/** needauth values that authenticate by address: 1 = IP, 3 = IP + tech prefix, 6 = IP + port. */
const IP_AUTH = new Set([1, 3, 6]);

/**
 * needauth values that prove nothing (0 none, 5 the A number, i.e. a From header anyone can
 * write): refused while enforcestrongauth is on. Accepted with it off, they authenticate
 * nobody by themselves: a caller that proves no account (digest, address) is an
 * unauthenticated caller, which allownoauthcalls governs, and nothing is billed to or routed
 * out in the name of an account a caller only claims (the proxy gives a call an account on
 * proof only).
 */
const UNPROVEN_AUTH = new Set([0, 5]);

interface IpAccountEntry {
  name: string;
  cidrs: Cidr[];
  /** needauth 3: the tech prefix dialled first. */
  prefix: string | undefined;
  /** needauth 6: the source port. */
  port: number | undefined;
}

/**
 * The `credit` field is a balance, not a setting: billing keeps it in its own record, changed
 * only together with the CDRs that spend it. `users set NAME credit X` sets it through here.
 */
export interface CreditLedger {
  setCredit(name: string, text: string): void;
  creditOf(name: string): string | undefined;
  /** An account deleted: its balance goes with it. */
  forget(name: string): void;
}

export interface AddResult {
  user: PublicUser;
  /** Set only when tollgate chose the password: shown once to the operator. */
  generatedPassword?: string;
}

/** The keys accounts read: the realm the HA1s are made for, the password rules. */
const USER_KEYS = [
  'realm',
  'minpwdlength',
  'enforcestrongauth',
  'validatepassword',
  'securepasswords',
  'uauthverifypwd',
  'licensecfg',
] as const;

export class UserService {
  readonly #store: Store;
  readonly #settings: Settings;
  readonly #config: ConfigView<(typeof USER_KEYS)[number]>;
  readonly #log: Logger;
  /** IP-authenticated accounts (usually a few trunks), rebuilt whenever an account changes. */
  #ipAccounts: IpAccountEntry[] | undefined;
  /** Per account: its secrets, its id, and its authtype as a useshadigestauh level (see #credentialsOf). */
  readonly #secretsCache = new Map<string, CachedAccount>();
  /** The digest algorithm last stored per account: a write only when it changes. */
  readonly #digestSeen = new Map<string, string>();
  /** Told the name of every account added, changed or deleted (billing caches profiles). */
  readonly #listeners: Array<(name: string) => void> = [];
  /** Where the `credit` field goes: the balance record billing keeps (see useCredit). */
  #credit: CreditLedger | undefined;

  constructor(store: Store, settings: Settings, log: Logger) {
    this.#store = store;
    this.#settings = settings;
    this.#config = settings.view(USER_KEYS);
    this.#log = log;
    // securepasswords 0 asks for passwords kept in clear: tollgate never keeps one (only
    // HA1s and an argon2id verifier, see #secrets), so 0 behaves as 1, and says so.
    if (this.#config.securepasswords === 0)
      log.warn(
        { key: 'securepasswords' },
        'securepasswords 0 ignored: passwords are always stored hashed',
      );
  }

  /**
   * The account a caller is, by its address (needauth 1), or by its address and the tech
   * prefix it dials (needauth 3, the reference's advice against spoofed addresses), or by its
   * address and source port (needauth 6, a server that always sends from its SIP port). A
   * tech prefix alone (needauth 2) authenticates nobody: anyone can dial a prefix.
   */
  ipAuthenticate(ip: string, dialled: string, port?: number): IpAccount | undefined {
    this.#ipAccounts ??= this.#loadIpAccounts();
    for (const account of this.#ipAccounts) {
      if (!account.cidrs.some((c) => cidrContains(c, ip))) continue;
      if (account.port !== undefined && account.port !== port) continue;
      if (account.prefix === undefined) return { name: account.name, dialled };
      if (dialled.startsWith(account.prefix) && dialled.length > account.prefix.length) {
        return { name: account.name, dialled: dialled.slice(account.prefix.length) };
      }
    }
    return undefined;
  }

  #loadIpAccounts(): IpAccountEntry[] {
    const out: IpAccountEntry[] = [];
    for (const { value } of this.#store.tables.users.getRange()) {
      const needauth = Number(value.fields.needauth ?? 4);
      if (!IP_AUTH.has(needauth)) continue;
      const cidrs = ((value.fields.authip as string[] | undefined) ?? [])
        .map((c) => parseCidr(c))
        .filter((c): c is Cidr => c !== null);
      const prefix = needauth === 3 ? String(value.fields.techprefix ?? '') : undefined;
      const port = needauth === 6 ? Number(value.fields.authport ?? 0) : undefined;
      // Misconfigured (no address, no prefix, no port): authenticates nobody.
      if (cidrs.length === 0 || prefix === '' || port === 0) continue;
      out.push({ name: value.name, cidrs, prefix, port });
    }
    return out;
  }

  onChange(listener: (name: string) => void): void {
    this.#listeners.push(listener);
  }

  /** Billing takes over the `credit` field (see CreditLedger). */
  useCredit(ledger: CreditLedger): void {
    this.#credit = ledger;
  }

  #changed(name: string): void {
    for (const listener of this.#listeners) listener(name);
  }

  get realm(): string {
    return this.#config.realm;
  }

  /** Creates an account; with no password, generates a strong one and returns it once. */
  add(name: string, password: string | undefined): AddResult {
    checkName(name);
    if (this.#store.tables.users.get(name)) throw new ControlErrors.TG_USER_EXISTS(name);
    const maxUsers = licenseLimit(this.#config.licensecfg, 'maxusers');
    if (maxUsers !== undefined && this.count() >= maxUsers)
      throw new ControlErrors.TG_USER_LICENSE(name, maxUsers);
    const chosen = password ?? generatePassword();
    this.#checkPassword(name, chosen);
    const record: UserRecord = {
      name,
      id: 0,
      fields: {},
      secrets: this.#secrets(name, chosen),
      createdAt: Date.now(),
    };
    this.#store.durable(() => {
      const meta = this.#store.tables.meta;
      record.id = Number(meta.get('nextUserId') ?? 1);
      meta.putSync('nextUserId', record.id + 1);
      this.#store.tables.users.putSync(name, record);
    });
    this.#ipAccounts = undefined;
    this.#changed(name);
    this.#log.info({ user: name }, 'user added');
    return {
      user: this.#public(record),
      ...(password === undefined ? { generatedPassword: chosen } : {}),
    };
  }

  list(): PublicUser[] {
    return [...this.#store.tables.users.getRange()].map(({ value }) => this.#public(value));
  }

  get(name: string): PublicUser {
    return this.#public(this.#record(name));
  }

  /** Changes one field (from USER_FIELDS) or the password; bad input changes nothing. */
  set(
    name: string,
    key: string,
    raw: string,
    options: { acceptUnenforced?: boolean } = {},
  ): PublicUser {
    const record = this.#record(name);
    let updated: UserRecord;
    if (key.toLowerCase() === 'password') {
      this.#checkPassword(name, raw);
      updated = { ...record, secrets: this.#secrets(name, raw) };
    } else {
      // The key table Settings runs with (the daemon's: USER_FIELDS).
      const spec = this.#settings.userField(key);
      if (!spec) {
        const known = ['password', ...this.#settings.userFields().map((f) => f.name)].join(', ');
        throw new ControlErrors.TG_USER_BAD_FIELD(key, known);
      }
      const value = parseValue(spec, raw);
      if (
        spec.name === 'needauth' &&
        UNPROVEN_AUTH.has(Number(value)) &&
        this.#config.enforcestrongauth
      )
        throw new ControlErrors.TG_USER_UNSAFE_AUTH(name, String(value));
      // A field this version does not act on yet is refused unless the operator accepts that.
      this.#settings.acceptUserField(spec.name, value, options);
      if (spec.name === 'credit' && this.#credit) {
        // Exact decimal text to the balance record (never through the float parseValue gave).
        this.#credit.setCredit(name, raw);
        this.#changed(name);
        this.#log.info({ user: name, field: 'credit' }, 'user changed');
        return this.#public(record);
      }
      updated = { ...record, fields: { ...record.fields, [spec.name]: value } };
    }
    this.#store.durable(() => this.#store.tables.users.put(name, updated));
    this.#ipAccounts = undefined;
    this.#secretsCache.delete(name);
    this.#changed(name);
    this.#log.info(
      { user: name, field: key.toLowerCase() === 'password' ? 'password' : key },
      'user changed',
    );
    return this.#public(updated);
  }

  del(name: string): void {
    this.#record(name);
    this.#store.durable(() => this.#store.tables.users.remove(name));
    this.#ipAccounts = undefined;
    this.#secretsCache.delete(name);
    this.#digestSeen.delete(name);
    this.#credit?.forget(name);
    this.#changed(name);
    this.#log.info({ user: name }, 'user deleted');
  }

  /** The stored HA1 for digest verification, or undefined (unknown user, or realm changed). */
  ha1(name: string, algorithm: DigestAlgorithm): string | undefined {
    const secrets = this.#credentialsOf(name)?.secrets;
    if (!secrets || secrets.realm !== this.realm) return undefined;
    return secrets[HA1_FIELD[algorithm]];
  }

  /**
   * The account's authtype as the useshadigestauh level the authenticator applies to it
   * (1 MD5 → 0, 2 SHA → 2, 3 both → 1); undefined for authtype 0 or an unknown account.
   */
  digestLevel(name: string): number | undefined {
    return this.#credentialsOf(name)?.level;
  }

  /**
   * Every REGISTER and INVITE needs an account's HA1, and every call its id: kept in memory
   * (bounded, oldest out) rather than read and decoded from LMDB each time. Only this process writes accounts,
   * and each write below drops the entry. Unknown names are not cached, so a guesser walking
   * through names cannot push real accounts out with entries of its own.
   */
  #credentialsOf(name: string): CachedAccount | undefined {
    const cached = this.#secretsCache.get(name);
    if (cached) return cached;
    const record = this.#store.tables.users.get(name);
    if (!record) return undefined;
    const entry = {
      secrets: record.secrets,
      id: record.id,
      level: AUTHTYPE_LEVEL[Number(record.fields.authtype ?? 0)],
    };
    this.#secretsCache.set(name, entry);
    if (this.#secretsCache.size > SECRETS_CACHE) {
      this.#secretsCache.delete(this.#secretsCache.keys().next().value!);
    }
    return entry;
  }

  /**
   * Records the algorithm an account just authenticated with (DigestAccounts). Stored only
   * when it differs from the last one, so a phone re-registering costs no write.
   */
  authenticatedWith(name: string, algorithm: DigestAlgorithm): void {
    if (this.#digestSeen.get(name) === algorithm) return;
    const record = this.#store.tables.users.get(name);
    if (!record) return;
    if (record.digest?.algorithm !== algorithm) {
      const digest = { algorithm, since: Date.now() };
      // Rare (a phone changes algorithm), so written at once: audit and `users show` read
      // it straight back. A failed write must not fail the phone's authentication.
      try {
        this.#store.durable(() => this.#store.tables.users.put(name, { ...record, digest }));
      } catch (err) {
        this.#log.error({ user: name, err }, 'could not record the digest algorithm');
        return;
      }
      if (record.digest !== undefined || algorithm === 'MD5')
        this.#log.info(
          { user: name, algorithm, previous: record.digest?.algorithm },
          'digest algorithm of account changed',
        );
    }
    this.#digestSeen.set(name, algorithm);
    if (this.#digestSeen.size > SECRETS_CACHE) {
      this.#digestSeen.delete(this.#digestSeen.keys().next().value!);
    }
  }

  /** Accounts whose phones last authenticated with MD5, oldest first (for `audit`). */
  md5Accounts(): Md5Account[] {
    const out: Md5Account[] = [];
    for (const { value } of this.#store.tables.users.getRange()) {
      if (value.digest?.algorithm === 'MD5')
        out.push({ name: value.name, since: value.digest.since });
    }
    return out.sort((a, b) => a.since - b.since);
  }

  /** Postpaid accounts whose maxmonthlycredit is 0 (no monthly limit), for `audit`. */
  postpaidWithoutMonthlyLimit(): string[] {
    const out: string[] = [];
    for (const { value } of this.#store.tables.users.getRange()) {
      const monthly = value.fields.maxmonthlycredit;
      if (value.fields.postpaid === true && (monthly === undefined || Number(monthly) === 0))
        out.push(value.name);
    }
    return out;
  }

  /** The account's numeric id (maxcallperuserid), or undefined for an unknown name. */
  exists(name: string): boolean {
    return this.#store.tables.users.get(name) !== undefined;
  }

  /**
   * Whether `password` is the account's (its argon2id verifier; the enduser portal and the
   * user API). An unknown name costs the same work, so timing does not tell names apart.
   */
  verifyPassword(name: string, password: string): boolean {
    const record = typeof name === 'string' ? this.#store.tables.users.get(name) : undefined;
    const ok = verifyPassword(String(password), record?.secrets.argon2id ?? UNKNOWN_USER_HASH);
    return ok && record !== undefined;
  }

  /**
   * A password check for a third party (the reference's API user-auth verify): a password
   * oracle, so refused unless uauthverifypwd is on (the reference recommends 0).
   */
  verifyForThirdParty(name: string, password: string): boolean {
    if (!this.#config.uauthverifypwd) throw new ControlErrors.TG_USER_VERIFY_OFF();
    return this.verifyPassword(name, password);
  }

  count(): number {
    return this.#store.tables.users.getCount();
  }

  /** An account's numeric id (the guard's maxcallperuserid asks at every call's start and end). */
  idOf(name: string): number | undefined {
    return this.#credentialsOf(name)?.id;
  }

  /** Every per-user field of an account, schema defaults for those unset; undefined if unknown. */
  fieldsOf(name: string): Record<string, ConfigValue> | undefined {
    const record = this.#store.tables.users.get(name);
    if (!record) return undefined;
    const out: Record<string, ConfigValue> = {};
    for (const spec of USER_FIELDS)
      out[spec.name] = (record.fields[spec.name] as ConfigValue | undefined) ?? spec.default;
    return out;
  }

  /** A per-user field with its schema default when unset. */
  field(name: string, key: string): ConfigValue | undefined {
    const record = this.#store.tables.users.get(name);
    const spec = USER_FIELDS.find((f) => f.name === key);
    if (!record || !spec) return undefined;
    return (record.fields[key] as ConfigValue | undefined) ?? spec.default;
  }

  #record(name: string): UserRecord {
    const record = typeof name === 'string' ? this.#store.tables.users.get(name) : undefined;
    if (!record) throw new ControlErrors.TG_USER_NOT_FOUND(String(name).slice(0, 64));
    return record;
  }

  #checkPassword(name: string, password: string): void {
    const weakness = passwordWeakness(
      name,
      password,
      this.#config.minpwdlength,
      this.#config.enforcestrongauth,
      this.#config.validatepassword,
    );
    if (weakness) throw new ControlErrors.TG_USER_WEAK_PASSWORD(name, weakness);
  }

  #secrets(name: string, password: string): Record<string, string> {
    const realm = this.realm;
    const secrets: Record<string, string> = { realm, argon2id: hashPassword(password) };
    for (const algorithm of DIGEST_ALGORITHMS) {
      secrets[`ha1:${algorithm}`] = computeHa1(algorithm, name, realm, password);
    }
    return secrets;
  }

  #public(record: UserRecord): PublicUser {
    const credit = this.#credit?.creditOf(record.name);
    return {
      name: record.name,
      id: record.id,
      fields: {
        ...(record.fields as Record<string, ConfigValue>),
        ...(credit !== undefined ? { credit } : {}),
      },
      createdAt: record.createdAt,
      realm: record.secrets.realm ?? '',
      ...(record.digest ? { digest: record.digest } : {}),
    };
  }
}

/** A verifier no password matches, checked for an unknown name (same cost as a known one). */
const UNKNOWN_USER_HASH = hashPassword(generatePassword());

function checkName(name: string): void {
  if (typeof name !== 'string' || !USERNAME.test(name)) {
    throw new ControlErrors.TG_USER_BAD_NAME(
      String(name).slice(0, 64),
      'letters, digits and . _ ~ + - (up to 64, starting with a letter or digit)',
    );
  }
}

/**
 * One limit of licensecfg ("maxcalls=200,maxusers=5000": system level limits, the reference's
 * "License limitations"), or undefined when it sets none. The key's format check has already
 * refused anything but name=integer pairs.
 */
export function licenseLimit(licensecfg: string, name: string): number | undefined {
  for (const pair of licensecfg.split(',')) {
    const [k, v] = pair.split('=');
    if (k?.trim().toLowerCase() === name && v !== undefined) return Number(v.trim());
  }
  return undefined;
}
