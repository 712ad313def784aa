// Administrators of the web UI and the HTTP API: a login name, a strong password kept only
// as an argon2id verifier, and optional two-factor login with a TOTP code (RFC 6238, the
// codes authenticator apps show). Created from the console (`tollgatectl admins add NAME`),
// never over the web: whoever can reach the console already is root.
import { Secret, TOTP } from 'otpauth';
import type { Logger } from '../log.ts';
import type { AdminRecord } from '../store/records.ts';
import type { Store } from '../store/store.ts';
import { ControlErrors } from './errors.ts';
import { generatePassword, hashPassword, passwordWeakness, verifyPassword } from './passwords.ts';

/** An administrator as shown: never the verifier or the TOTP secret. */
export interface PublicAdmin {
  name: string;
  totp: boolean;
  createdAt: number;
}

/** Admin passwords are held to the strong rules whatever minpwdlength says. */
export const ADMIN_MIN_PASSWORD = 12;
const NAME = /^[a-z][a-z0-9._-]{1,31}$/;
/** RFC 6238 §5.2: one step either side of now absorbs clock drift. */
const TOTP_WINDOW = 1;
const TOTP_PERIOD = 30;
/** The most administrators the store keeps (a table with a bound). */
export const MAX_ADMINS = 64;

export interface AdminLogin {
  name: string;
  password: string;
  /** The 6-digit code, required when the admin has TOTP on. */
  totp?: string;
}

export type LoginOutcome =
  | { ok: true; admin: PublicAdmin }
  | { ok: false; why: 'credentials' | 'totp-required' };

export class AdminService {
  readonly #store: Store;
  readonly #log: Logger;
  readonly #now: () => number;

  constructor(store: Store, log: Logger, now: () => number = Date.now) {
    this.#store = store;
    this.#log = log;
    this.#now = now;
  }

  /** Creates an administrator; with no password, generates a strong one and returns it once. */
  add(name: string, password?: string): { admin: PublicAdmin; generatedPassword?: string } {
    checkName(name);
    const table = this.#store.tables.admins;
    if (table.get(name)) throw new ControlErrors.TG_ADMIN_EXISTS(name);
    if (this.count() >= MAX_ADMINS) throw new ControlErrors.TG_ADMIN_TOO_MANY(MAX_ADMINS);
    const chosen = password ?? generatePassword();
    checkPassword(name, chosen);
    const record: AdminRecord = { name, password: hashPassword(chosen), createdAt: this.#now() };
    this.#store.durable(() => table.putSync(name, record));
    this.#log.info({ admin: name }, 'administrator added');
    return {
      admin: publicOf(record),
      ...(password === undefined ? { generatedPassword: chosen } : {}),
    };
  }

  setPassword(name: string, password: string): void {
    const record = this.#get(name);
    checkPassword(name, password);
    this.#store.durable(() =>
      this.#store.tables.admins.putSync(name, { ...record, password: hashPassword(password) }),
    );
    this.#log.info({ admin: name }, 'administrator password changed');
  }

  /**
   * Turns two-factor login on with a new secret and returns the otpauth:// URI to scan (shown
   * once), or off (`enable` false).
   */
  setTotp(name: string, enable: boolean): { uri?: string; secret?: string } {
    const record = this.#get(name);
    if (!enable) {
      const { totp: _t, totpLastStep: _s, ...rest } = record;
      this.#store.durable(() => this.#store.tables.admins.putSync(name, rest));
      this.#log.info({ admin: name }, 'administrator TOTP off');
      return {};
    }
    const secret = new Secret({ size: 20 });
    this.#store.durable(() =>
      this.#store.tables.admins.putSync(name, { ...record, totp: secret.base32 }),
    );
    this.#log.info({ admin: name }, 'administrator TOTP on');
    return { uri: totpOf(name, secret.base32).toString(), secret: secret.base32 };
  }

  del(name: string): void {
    this.#get(name);
    this.#store.durable(() => this.#store.tables.admins.removeSync(name));
    this.#log.info({ admin: name }, 'administrator deleted');
  }

  list(): PublicAdmin[] {
    return [...this.#store.tables.admins.getRange()].map(({ value }) => publicOf(value));
  }

  exists(name: string): boolean {
    return typeof name === 'string' && this.#store.tables.admins.get(name) !== undefined;
  }

  count(): number {
    return this.#store.tables.admins.getCount();
  }

  /**
   * Checks a login. An unknown name costs the same argon2id work as a known one, so the
   * answer's timing does not say which names exist. A TOTP code is accepted once.
   */
  login(attempt: AdminLogin): LoginOutcome {
    const record =
      typeof attempt.name === 'string' ? this.#store.tables.admins.get(attempt.name) : undefined;
    const ok = verifyPassword(String(attempt.password ?? ''), record?.password ?? DUMMY_HASH);
    if (!record || !ok) return { ok: false, why: 'credentials' };
    if (record.totp !== undefined) {
      if (attempt.totp === undefined || attempt.totp === '')
        return { ok: false, why: 'totp-required' };
      const step = this.#acceptedStep(record, attempt.totp);
      if (step === undefined) return { ok: false, why: 'credentials' };
      this.#store.durable(() =>
        this.#store.tables.admins.putSync(record.name, { ...record, totpLastStep: step }),
      );
    }
    return { ok: true, admin: publicOf(record) };
  }

  /** The time step a code matches (within the window, after the last one used), if any. */
  #acceptedStep(record: AdminRecord, code: string): number | undefined {
    if (!/^\d{6}$/.test(code)) return undefined;
    const now = this.#now();
    const delta = totpOf(record.name, record.totp!).validate({
      token: code,
      timestamp: now,
      window: TOTP_WINDOW,
    });
    if (delta === null) return undefined;
    const step = Math.floor(now / 1000 / TOTP_PERIOD) + delta;
    if (record.totpLastStep !== undefined && step <= record.totpLastStep) return undefined;
    return step;
  }

  #get(name: string): AdminRecord {
    const record = typeof name === 'string' ? this.#store.tables.admins.get(name) : undefined;
    if (!record) throw new ControlErrors.TG_ADMIN_NOT_FOUND(String(name).slice(0, 40));
    return record;
  }
}

/** A verifier no password matches, checked when the name is unknown (same cost). */
const DUMMY_HASH = hashPassword(generatePassword());

function totpOf(name: string, secret: string): TOTP {
  return new TOTP({
    issuer: 'tollgate',
    label: name,
    algorithm: 'SHA1', // what every authenticator app supports (RFC 6238 default)
    digits: 6,
    period: TOTP_PERIOD,
    secret: Secret.fromBase32(secret),
  });
}

/** The current code for a secret (tests and the console's confirmation). */
export function totpCode(name: string, secret: string, timestamp = Date.now()): string {
  return totpOf(name, secret).generate({ timestamp });
}

function publicOf(record: AdminRecord): PublicAdmin {
  return { name: record.name, totp: record.totp !== undefined, createdAt: record.createdAt };
}

function checkName(name: string): void {
  if (typeof name !== 'string' || !NAME.test(name))
    throw new ControlErrors.TG_ADMIN_BAD_NAME(String(name).slice(0, 40));
}

function checkPassword(name: string, password: string): void {
  const weak = passwordWeakness(name, password, ADMIN_MIN_PASSWORD, true);
  if (weak !== null) throw new ControlErrors.TG_ADMIN_WEAK_PASSWORD(name, weak);
}
