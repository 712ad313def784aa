// The key the store is encrypted with (store.ts says what that protects). Where it comes from,
// first found wins:
//
//   1. a systemd credential: $CREDENTIALS_DIRECTORY/tollgate-store-key (LoadCredential= or
//      LoadCredentialEncrypted= in the unit). The key then never lies in the data directory,
//      so a copy of the data directory (a backup, a stolen disk image of /var) reveals nothing.
//   2. `store.key` in the data directory, mode 0600, made on first start (32 random bytes as
//      64 hex digits). Convenient, but the key lies beside the data: whoever can read the
//      whole directory can decrypt it.
//
// `store.key-id` beside the store names which key made it (the first 16 hex digits of
// SHA-256("tollgate store key id" + key): not secret, says nothing of the key), so a wrong
// key is refused with a clear error instead of LMDB reading noise as pages.
import { createHash, hkdfSync, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { StoreErrors } from './errors.ts';

export const KEY_FILE = 'store.key';
export const KEY_ID_FILE = 'store.key-id';
export const CREDENTIAL_NAME = 'tollgate-store-key';
/** A key file is a few bytes; anything larger is not one (and is not read whole). */
const MAX_KEY_FILE = 1024;

export interface StoreKey {
  readonly key: Buffer;
  /** Where it came from: the credential's path or the key file's. */
  readonly source: string;
  /** True when this start made a new key file. */
  readonly created: boolean;
}

/** 32 raw bytes, or 64 hex digits (whitespace around them ignored). */
export function parseKey(path: string, bytes: Buffer): Buffer {
  if (bytes.length === 32) return bytes;
  const text = bytes.toString('latin1').trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  throw new StoreErrors.TG_STORE_KEY_BAD(path, `${bytes.length} bytes`);
}

function readKey(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(MAX_KEY_FILE + 1);
    const n = readSyncAll(fd, buffer);
    return parseKey(path, buffer.subarray(0, n));
  } finally {
    closeSync(fd);
  }
}

function readSyncAll(fd: number, buffer: Buffer): number {
  let total = 0;
  while (total < buffer.length) {
    const n = readSync(fd, buffer, total, buffer.length - total, null);
    if (n === 0) break;
    total += n;
  }
  return total;
}

/**
 * What LMDB is given: lmdb-js takes the key as a 32-byte string (a Buffer aborts the
 * process, lmdb 3.5), so 24 bytes derived from the key (HKDF-SHA-256) as 32 base64 digits:
 * 192 bits, more than the ChaCha8 it keys can use well.
 */
export function lmdbKey(key: Buffer): string {
  const derived = Buffer.from(
    hkdfSync('sha256', key, Buffer.alloc(0), 'tollgate lmdb page key', 24),
  );
  return derived.toString('base64url');
}

export function keyId(key: Buffer): string {
  return createHash('sha256')
    .update('tollgate store key id\n')
    .update(key)
    .digest('hex')
    .slice(0, 16);
}

/** Writes `data` to `path` with mode 0600, crash-safe (temporary file, fsync, rename, fsync dir). */
export function writePrivateFile(dir: string, name: string, data: string): void {
  const path = join(dir, name);
  const tmp = `${path}.tmp`;
  rmSync(tmp, { force: true });
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  syncDir(dir);
}

export function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * The store key for `dir`. `storeExists`: an encrypted store is already there, so a missing
 * key is an error (a new key would not open it) rather than a reason to make one.
 */
export function loadStoreKey(
  dir: string,
  storeExists: boolean,
  env: NodeJS.ProcessEnv = process.env,
): StoreKey {
  const credentials = env.CREDENTIALS_DIRECTORY;
  if (credentials) {
    const path = join(credentials, CREDENTIAL_NAME);
    if (existsSync(path)) return checked(dir, { key: readKey(path), source: path, created: false });
  }
  const path = join(dir, KEY_FILE);
  if (existsSync(path)) {
    try {
      return checked(dir, { key: readKey(path), source: path, created: false });
    } catch (err) {
      // A key file cut short by a crash while it was first written, before any store used it.
      if (storeExists || (err as { code?: string }).code !== 'TG_STORE_KEY_BAD') throw err;
    }
  }
  if (storeExists) throw new StoreErrors.TG_STORE_KEY_MISSING(dir, `no ${path}`);
  const key = randomBytes(32);
  writePrivateFile(dir, KEY_FILE, `${key.toString('hex')}\n`);
  return { key, source: path, created: true };
}

/** Refuses a key that is not the one the store was made with. */
function checked(dir: string, found: StoreKey): StoreKey {
  const idPath = join(dir, KEY_ID_FILE);
  if (!existsSync(idPath)) return found;
  const wanted = readFileSync(idPath, 'latin1').trim().slice(0, 64);
  const id = keyId(found.key);
  if (wanted !== '' && wanted !== id)
    throw new StoreErrors.TG_STORE_KEY_MISMATCH(found.source, dir, id, wanted);
  return found;
}

/** Records which key the store in `dir` is encrypted with. */
export function recordKeyId(dir: string, key: Buffer): void {
  const idPath = join(dir, KEY_ID_FILE);
  const id = keyId(key);
  if (existsSync(idPath) && readFileSync(idPath, 'latin1').trim() === id) return;
  writePrivateFile(dir, KEY_ID_FILE, `${id}\n`);
}
