// Stores made before encryption at rest (an unencrypted LMDB environment in data.mdb and
// lock.mdb) are converted once, crash-safe, at the first start of a version that encrypts:
//
//   1. every table is copied into a new encrypted environment, store.mdb.converting, in one
//      transaction, synced, and the environment closed;
//   2. store.mdb.converting is renamed to store.mdb (atomic; the directory is synced): from
//      here on the encrypted store is the store;
//   3. data.mdb is overwritten with zeros, synced and removed, and lock.mdb removed.
//
// A crash before 2 leaves the old store as it was; the next start removes the half-made copy
// and converts again. A crash after 2 leaves data.mdb beside a complete store.mdb; the next
// start only does step 3. No backup of the plaintext file is kept: a backup would keep the
// old password hashes this conversion exists to remove. Overwriting before unlinking removes
// them from the file; on a copy-on-write file system (btrfs, ZFS) or an SSD the old blocks
// may survive below the file system, which no program can promise to erase.
import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../log.ts';
import { StoreErrors } from './errors.ts';
import { lmdbKey, syncDir } from './key.ts';
import { copyInChunks } from './limits.ts';
import { open } from './lmdb.ts';

export const PLAINTEXT_DATA = 'data.mdb';
export const PLAINTEXT_LOCK = 'lock.mdb';
export const STORE_FILE = 'store.mdb';
export const CONVERTING_FILE = 'store.mdb.converting';

/** True when an unencrypted store made by an older version is in `dir`. */
export function hasPlaintextStore(dir: string): boolean {
  return existsSync(join(dir, PLAINTEXT_DATA));
}

/**
 * Converts the unencrypted store in `dir` into the encrypted store.mdb (see above). `tables`:
 * every named database to carry over. Returns the number of records copied.
 */
export function convertPlaintextStore(
  dir: string,
  key: Buffer,
  tables: readonly string[],
  open_: { maxDbs: number; mapSize: number },
  log?: Logger,
): number {
  const target = join(dir, STORE_FILE);
  if (existsSync(target)) {
    // Step 2 happened: only the plaintext remains to be erased.
    erasePlaintext(dir);
    log?.warn({ dir }, 'removed the unencrypted store left over from an interrupted conversion');
    return 0;
  }
  const converting = join(dir, CONVERTING_FILE);
  rmSync(converting, { force: true });
  rmSync(`${converting}-lock`, { force: true });
  let copied = 0;
  try {
    const source = open({ path: dir, ...open_, readOnly: false });
    const dest = open({ path: converting, ...open_, encryptionKey: lmdbKey(key) });
    try {
      // In chunks (store.ts says why); the copy is renamed into place only once complete.
      for (const name of tables) {
        const to = dest.openDB({ name });
        copyInChunks(dest, to, source.openDB({ name }).getRange(), () => {
          copied++;
        });
      }
    } finally {
      source.close();
      dest.close();
    }
    fsyncFile(converting);
    rmSync(`${converting}-lock`, { force: true });
    renameSync(converting, target);
    syncDir(dir);
  } catch (err) {
    throw new StoreErrors.TG_STORE_MIGRATION_FAILED(dir, (err as Error).message ?? String(err));
  }
  erasePlaintext(dir);
  log?.warn(
    { dir, records: copied },
    'converted the unencrypted store to an encrypted one; the plaintext file was overwritten and removed',
  );
  return copied;
}

function fsyncFile(path: string): void {
  const fd = openSync(path, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Overwrites data.mdb with zeros (synced), then removes it and lock.mdb. */
function erasePlaintext(dir: string): void {
  const data = join(dir, PLAINTEXT_DATA);
  if (existsSync(data)) {
    const size = statSync(data).size;
    const fd = openSync(data, 'r+');
    try {
      const zeros = Buffer.alloc(Math.min(size, 1024 * 1024));
      for (let at = 0; at < size; at += zeros.length)
        writeSync(fd, zeros, 0, Math.min(zeros.length, size - at), at);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    rmSync(data);
  }
  rmSync(join(dir, PLAINTEXT_LOCK), { force: true });
  syncDir(dir);
}
