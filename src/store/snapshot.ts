// Backups of the store: one file, taken hot (the daemon keeps writing meanwhile), still
// encrypted, restorable only with the store's key.
//
// Why not LMDB's own copy (mdb_env_copy, lmdb-js `backup()`): on an encrypted environment it
// fails with EFAULT and leaves an empty file (lmdb 3.5.6, measured). So the copy is made the
// portable way: one read transaction (an MVCC snapshot: every table as of one instant, while
// writers go on) is copied record by record into a fresh environment encrypted with the same
// key, MAX_TXN_WRITES records per write transaction (store.ts says why; nobody sees the copy
// before it is complete), and that environment's file is what the backup carries.
//
// File format, so a restore can check everything before it touches the data directory:
//
//   {"format":"tollgate-backup","version":1,"keyId":…,"schemaVersion":…,"records":…,
//    "createdAt":…,"bytes":…,"sha256":…}\n      ← one JSON line, at most HEADER_MAX bytes
//   <the LMDB data file, `bytes` long, pages encrypted with the store key>
//
// The key is never in the backup: keyId (store key.ts) names it without revealing it, so a
// restore with the wrong key is refused by name instead of LMDB reading noise as pages (which
// can crash the process: a bus error, measured).
import { createHash } from 'node:crypto';
import {
  chownSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { StoreErrors } from './errors.ts';
import { keyId, lmdbKey, syncDir, writePrivateFile } from './key.ts';
import { copyInChunks, DEFAULT_MAP_SIZE } from './limits.ts';
import { open, type RootDatabase } from './lmdb.ts';
import { STORE_FILE } from './migrate-plaintext.ts';

export const BACKUP_FORMAT = 'tollgate-backup';
export const BACKUP_VERSION = 1;
/** The header is a few hundred bytes; a longer first line is not a tollgate backup. */
const HEADER_MAX = 4096;
/** What a restore keeps of the store it replaces (one step of undo). */
export const REPLACED_SUFFIX = '.before-restore';
const OPEN = { maxDbs: 16, mapSize: DEFAULT_MAP_SIZE } as const;

export interface BackupHeader {
  format: typeof BACKUP_FORMAT;
  version: number;
  keyId: string;
  schemaVersion: number;
  records: number;
  createdAt: number;
  bytes: number;
  sha256: string;
}

/**
 * Writes a backup of `root` (an open store environment, encrypted with `key`) to `file`:
 * crash-safe (a temporary file beside it, fsync, rename), mode 0600. Returns its header.
 */
export function writeBackup(
  root: RootDatabase,
  tables: readonly string[],
  key: Buffer,
  file: string,
): BackupHeader {
  const dir = dirname(file);
  const work = mkdtempSync(join(dir, `.${basename(file)}.`));
  try {
    const copy = join(work, STORE_FILE);
    let records = 0;
    let schemaVersion = 0;
    const dest = open({ path: copy, ...OPEN, encryptionKey: lmdbKey(key) });
    // The tables are opened before the snapshot starts: a table handle opened later is not
    // valid in an older read transaction (LMDB answers EINVAL).
    const sources = tables.map((name) => ({ name, from: root.openDB({ name }) }));
    const snapshot = root.useReadTransaction();
    try {
      for (const { name, from } of sources) {
        const to = dest.openDB({ name });
        copyInChunks(dest, to, from.getRange({ transaction: snapshot }), (k, value) => {
          records++;
          if (name === 'meta' && k === 'schemaVersion') schemaVersion = value as number;
        });
      }
    } finally {
      snapshot.done();
      void dest.close();
    }
    const body = readFileSync(copy);
    const header: BackupHeader = {
      format: BACKUP_FORMAT,
      version: BACKUP_VERSION,
      keyId: keyId(key),
      schemaVersion,
      records,
      createdAt: Date.now(),
      bytes: body.length,
      sha256: createHash('sha256').update(body).digest('hex'),
    };
    const tmp = join(work, 'backup');
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, `${JSON.stringify(header)}\n`);
      writeSync(fd, body);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
    syncDir(dir);
    return header;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Reads and checks a backup's header and body (format, size, checksum); nothing is written. */
export function readBackup(file: string): { header: BackupHeader; body: Buffer } {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (err) {
    throw new StoreErrors.TG_STORE_BACKUP_BAD(file, (err as Error).message);
  }
  const newline = data.subarray(0, HEADER_MAX).indexOf(0x0a);
  if (newline < 0) throw new StoreErrors.TG_STORE_BACKUP_BAD(file, 'not a tollgate backup');
  let header: BackupHeader;
  try {
    header = JSON.parse(data.subarray(0, newline).toString('utf8')) as BackupHeader;
  } catch {
    throw new StoreErrors.TG_STORE_BACKUP_BAD(file, 'not a tollgate backup');
  }
  if (header?.format !== BACKUP_FORMAT || header.version !== BACKUP_VERSION)
    throw new StoreErrors.TG_STORE_BACKUP_BAD(file, 'not a tollgate backup (format or version)');
  const body = data.subarray(newline + 1);
  if (body.length !== header.bytes)
    throw new StoreErrors.TG_STORE_BACKUP_BAD(
      file,
      `cut short: ${body.length} of ${header.bytes} bytes`,
    );
  if (createHash('sha256').update(body).digest('hex') !== header.sha256)
    throw new StoreErrors.TG_STORE_BACKUP_BAD(file, 'checksum mismatch: the file is damaged');
  return { header, body };
}

/**
 * Replaces the store in `dataDir` with the backup in `file`. The caller has made sure no
 * daemon has the store open. The backup is checked whole first (readBackup, the key, the
 * schema), the current store is kept as store.mdb.before-restore, and files get the data
 * directory's owner (a restore run as root must leave a store the service user can open).
 */
export function restoreBackup(
  dataDir: string,
  file: string,
  key: Buffer,
  codeSchemaVersion: number,
): BackupHeader {
  const { header, body } = readBackup(file);
  const id = keyId(key);
  if (header.keyId !== id) throw new StoreErrors.TG_STORE_BACKUP_KEY(file, header.keyId, id);
  if (header.schemaVersion > codeSchemaVersion)
    throw new StoreErrors.TG_STORE_NEWER_SCHEMA(file, header.schemaVersion, codeSchemaVersion);
  const target = join(dataDir, STORE_FILE);
  const incoming = `${target}.restoring`;
  rmSync(incoming, { force: true });
  rmSync(`${incoming}-lock`, { force: true });
  const fd = openSync(incoming, 'wx', 0o600);
  try {
    writeSync(fd, body);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  // Open it before it replaces anything: the pages must decrypt and the tables be there.
  const check = open({ path: incoming, ...OPEN, encryptionKey: lmdbKey(key), readOnly: true });
  try {
    const version = check.openDB({ name: 'meta' }).get('schemaVersion');
    if (version !== header.schemaVersion)
      throw new StoreErrors.TG_STORE_BACKUP_BAD(file, 'the data does not match its header');
  } finally {
    void check.close();
  }
  rmSync(`${incoming}-lock`, { force: true });
  const owner = statSync(dataDir);
  if (existsSync(target)) renameSync(target, `${target}${REPLACED_SUFFIX}`);
  rmSync(`${target}-lock`, { force: true });
  renameSync(incoming, target);
  writePrivateFile(dataDir, 'store.key-id', `${id}\n`);
  for (const name of [STORE_FILE, 'store.key-id', `${STORE_FILE}${REPLACED_SUFFIX}`]) {
    const path = join(dataDir, name);
    if (existsSync(path)) chownSync(path, owner.uid, owner.gid);
  }
  syncDir(dataDir);
  return header;
}

/** The first bytes of a file, bounded (for tests and tools that sniff a backup). */
export function readHeaderLine(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(HEADER_MAX);
    const n = readSync(fd, buffer, 0, HEADER_MAX, 0);
    const text = buffer.subarray(0, n).toString('utf8');
    return text.slice(0, Math.max(0, text.indexOf('\n')));
  } finally {
    closeSync(fd);
  }
}
