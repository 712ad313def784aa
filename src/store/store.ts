// The appliance's state: one LMDB environment in the data directory (store.mdb), one named
// database per table. LMDB gives crash safety (copy-on-write B-tree: a kill -9 mid-write
// leaves the last committed transaction readable) and lets tollgatectl or a backup read while
// the daemon writes.
//
// Writes are asynchronous and batched per event-loop turn (lmdb-js default). Anything about
// money or bans goes through `durable()`, which also waits for the fsync, so a power loss
// right after a ban or a charge cannot forget it.
//
// Secrets at rest. Copy-on-write means a changed record's old page is freed, not erased: it
// keeps its bytes (an old password's HA1 and argon2id verifier, say) until LMDB happens to
// reuse the page, which it does not promise. So the environment is encrypted (lmdb-js
// `encryptionKey`, ChaCha8 on every page it writes, freed pages included; key.ts says where
// the key comes from). What that guarantees, and what it does not:
//   - store.mdb, and any copy of it, never holds a record in clear: no current or past
//     secret can be read from it, or found by searching its bytes, without the key.
//     lock.mdb holds only LMDB's reader table.
//   - With the key in a systemd credential, the data directory alone reveals nothing, old
//     secrets included. With the key in store.key beside the store (the default), whoever
//     can read the whole directory (root, a backup of it) holds the key too, and can decrypt
//     freed pages as well as live ones: the encryption then protects copies of store.mdb
//     made without the key, not the directory as a whole. The directory is 0700 and every
//     file in it 0600 (permissions.ts), so that is root or the daemon's own user.
//   - Not covered: the daemon's memory (it holds the HA1s it verifies with), swap, and the
//     blocks of a plaintext store from an older version, which migrate-plaintext.ts
//     overwrites before removing but which a copy-on-write file system or an SSD may keep.
// The cipher runs on every page a write transaction reads or writes, so its speed is the
// write rate: lmdb-js's native part is loaded from the optimized build the bootstrap makes
// (lmdb.ts, scripts/build-lmdb.sh), not the unoptimized published binary (~3× the CPU).
//
// Transactions are bounded: at most MAX_TXN_WRITES records each. An encrypted lmdb-js
// environment (3.5.6, LMDB 1.0 with MDB_REMAP_CHUNKS) reads pages through a cache of decrypted
// 16-page chunks. When one write transaction touches more than its chunk list holds (4,096; a
// store over 128 MiB written at random places: one big batch of CDRs across many accounts),
// LMDB's purge drops chunks from the list without forgetting which of their pages it had
// decrypted (only mdb_txn_end clears that), so a later transaction is served the old
// cleartext of a page since rewritten: a corrupt free list or B-tree, then a segfault
// (measured: 100,000 accounts, then 10,000 CDRs per transaction, crashed at 540,000 CDRs,
// 360 MiB). The build the bootstrap makes carries the fix (scripts/lmdb-patches/
// rpage-purge.patch) and allows 5,000 records; the published binary, a fallback only, keeps
// 1,000, where a write's one leaf page and few shared branch pages stay well inside the list
// whatever the store's size (limits.ts). The ledger seals its CDR batches at that size and
// bulk writers split theirs, backups and conversions included (tests/store/large-store.test.ts).
//
// The map size is only a ceiling: with encryption lmdb-js maps the file in chunks as it needs
// them (remapChunks), so nothing of it is reserved, and a store grows past a too small
// mapSize (tests/store/large-store.test.ts). The default is large enough for tens of millions
// of CDRs.
import { accessSync, constants, existsSync, mkdirSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../log.ts';
import { StoreErrors } from './errors.ts';
import { lmdbKey, loadStoreKey, recordKeyId } from './key.ts';
import { DEFAULT_MAP_SIZE, MAX_TXN_WRITES } from './limits.ts';
import { type Database, lmdbBuild, open, type RootDatabase } from './lmdb.ts';
import { convertPlaintextStore, hasPlaintextStore, STORE_FILE } from './migrate-plaintext.ts';
import { migrate, SCHEMA_VERSION } from './migrations.ts';
import type { TableRecords } from './records.ts';
import { type BackupHeader, writeBackup } from './snapshot.ts';

export { DEFAULT_MAP_SIZE, MAX_TXN_WRITES };

export type TableName = keyof TableRecords;
export const TABLE_NAMES: readonly TableName[] = [
  'meta',
  'config',
  'users',
  'bans',
  'registrations',
  'counters',
  'cdrs',
  'balances',
  'tariffs',
  'blacklist',
  'trunks',
  'routes',
  'admins',
];

export type Table<V> = Database<V, string>;

export interface StoreOptions {
  /** LMDB map size: a ceiling, not a reservation (see the top of the file). */
  mapSize?: number;
  /**
   * Page size of a new store (an existing one keeps its own). Tests use small pages to reach,
   * with a small store, the number of pages a large one has; the default is the OS page.
   */
  pageSize?: number;
  /** Where a one-time conversion of an unencrypted store is reported. */
  log?: Logger;
  /** The environment the store key's systemd credential is looked up in (tests). */
  env?: NodeJS.ProcessEnv;
}

const MAX_DBS = 16;
/** Where the backups taken before a schema migration go, inside the data directory. */
export const BACKUP_DIR = 'backups';

export class Store {
  readonly dir: string;
  readonly tables: { readonly [K in TableName]: Table<TableRecords[K]> };
  readonly #root: RootDatabase;
  readonly #key: Buffer;
  /** In-process change counts by topic (see changed()). */
  readonly #generations = new Map<string, number>();

  private constructor(dir: string, root: RootDatabase, key: Buffer) {
    this.dir = dir;
    this.#root = root;
    this.#key = key;
    const tables = {} as Record<TableName, Table<unknown>>;
    for (const name of TABLE_NAMES) tables[name] = root.openDB({ name });
    this.tables = tables as Store['tables'];
  }

  /** Opens (creating if needed) the store in dir and brings its schema up to date. */
  static open(dir: string, options: StoreOptions = {}): Store {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      accessSync(dir, constants.W_OK);
    } catch (err) {
      throw new StoreErrors.TG_STORE_UNWRITABLE(dir, describe(err));
    }
    const path = join(dir, STORE_FILE);
    const mapSize = options.mapSize ?? DEFAULT_MAP_SIZE;
    let root: RootDatabase;
    let key: Buffer;
    try {
      ({ key } = loadStoreKey(dir, existsSync(path), options.env));
      if (hasPlaintextStore(dir))
        convertPlaintextStore(dir, key, TABLE_NAMES, { maxDbs: MAX_DBS, mapSize }, options.log);
      root = open({
        path,
        maxDbs: MAX_DBS,
        mapSize,
        encryptionKey: lmdbKey(key),
        ...(options.pageSize ? { pageSize: options.pageSize } : {}),
      });
      recordKeyId(dir, key);
    } catch (err) {
      throw translateError(dir, err);
    }
    const store = new Store(dir, root, key);
    if (lmdbBuild === 'published')
      options.log?.warn(
        { dir },
        "store: lmdb-js's published native binary is in use (unoptimized: an encrypted write costs ~3× the CPU); scripts/build-lmdb.sh builds the optimized one",
      );
    try {
      // An upgrade's schema migration rewrites records: a backup of the store as it was
      // comes first, in DIR/backups (restore it with `tollgatectl restore FILE`).
      migrate(store, (from, to) => {
        const file = join(dir, BACKUP_DIR, `pre-migration-v${from}-to-v${to}-${Date.now()}.tgbak`);
        mkdirSync(join(dir, BACKUP_DIR), { recursive: true, mode: 0o700 });
        const header = store.backup(file);
        options.log?.warn(
          { file, from, to, records: header.records },
          'store schema migration: backup taken first',
        );
      });
    } catch (err) {
      store.closeSync();
      throw err;
    }
    return store;
  }

  /**
   * A consistent copy of every table to `file` while writes go on (snapshot.ts): still
   * encrypted with this store's key, which the file names but does not hold.
   */
  backup(file: string): BackupHeader {
    try {
      return writeBackup(this.#root, TABLE_NAMES, this.#key, file);
    } catch (err) {
      if (err instanceof Error && 'code' in err && String(err.code).startsWith('TG_')) throw err;
      throw new StoreErrors.TG_STORE_BACKUP_FAILED(this.dir, file, describe(err));
    }
  }

  /**
   * Tells the readers in this process that what `topic` names was written (the routing
   * tables, say). A reader that keeps a decoded copy compares generation() instead of
   * reading (and decrypting) a version record from LMDB on every use. Only the daemon writes
   * its store while it runs (tollgatectl goes through it; restore needs it stopped).
   */
  changed(topic: string): void {
    this.#generations.set(topic, this.generation(topic) + 1);
  }

  /** How many times changed(topic) was called in this process. */
  generation(topic: string): number {
    return this.#generations.get(topic) ?? 0;
  }

  get schemaVersion(): number {
    return this.tables.meta.get('schemaVersion') as number;
  }

  static get codeSchemaVersion(): number {
    return SCHEMA_VERSION;
  }

  /**
   * Runs write operations in one transaction that is committed and synced to disk before
   * this returns. Use for bans, money and anything an operator would be upset to lose.
   * Synchronous on purpose: the write error (disk full, I/O error) surfaces right here, at
   * the caller, instead of in a later, unrelated promise.
   */
  durable<T>(writes: () => T): T {
    let result: T;
    try {
      // The callback returns nothing so lmdb-js commits now: if it returned a promise (as
      // `put` does), the commit would silently become asynchronous.
      this.#root.transactionSync(() => {
        result = writes();
      });
      return result!;
    } catch (err) {
      throw translateError(this.dir, err);
    }
  }

  /**
   * Runs write operations in one asynchronous transaction (lmdb-js commits it off the main
   * thread, so the event loop is not held during the fsync) and resolves once it is committed
   * and synced to disk. For high-rate records that must survive a kill -9 once acknowledged
   * (CDRs with the balances they change): acknowledge after the promise resolves.
   */
  async batch<T>(writes: () => T): Promise<T> {
    try {
      const result = await this.#root.transaction(writes);
      await this.#root.flushed;
      return result;
    } catch (err) {
      throw translateError(this.dir, err);
    }
  }

  /**
   * Runs write operations in one asynchronous transaction and resolves once it is committed,
   * before it is synced: the caller may start its next transaction while this one's fsync
   * runs, and waits for `synced()` before acknowledging anything. Two transactions started
   * before either has begun may be merged by lmdb-js into one: await each before the next.
   */
  async commit<T>(writes: () => T): Promise<T> {
    try {
      return await this.#root.transaction(writes);
    } catch (err) {
      throw translateError(this.dir, err);
    }
  }

  /** Resolves when every transaction committed so far is on disk. */
  async synced(): Promise<void> {
    try {
      await this.#root.flushed;
    } catch (err) {
      throw translateError(this.dir, err);
    }
  }

  /** Waits for every pending write to reach the disk, then closes the environment. */
  async close(): Promise<void> {
    await this.#root.flushed;
    await this.#root.close();
  }

  closeSync(): void {
    void this.#root.close();
  }
}

/** LMDB reports a full disk as a bare I/O error on write; ask the file system instead. */
function diskIsFull(dir: string): boolean {
  try {
    const fs = statfsSync(dir);
    return fs.bavail * fs.bsize < 64 * 1024;
  } catch {
    return false;
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Maps OS/LMDB failures to errors that say what the operator should fix. */
function translateError(dir: string, err: unknown): Error {
  if (err instanceof Error && 'code' in err && String(err.code).startsWith('TG_')) return err;
  const text = describe(err);
  if (/ENOSPC|No space left|MDB_MAP_FULL/i.test(text) || diskIsFull(dir)) {
    return new StoreErrors.TG_STORE_FULL(dir, text);
  }
  if (/EACCES|EROFS|EPERM|Permission denied|Read-only file system/i.test(text)) {
    return new StoreErrors.TG_STORE_UNWRITABLE(dir, text);
  }
  if (/EAGAIN|Resource temporarily unavailable|lock/i.test(text)) {
    return new StoreErrors.TG_STORE_LOCKED(dir, text);
  }
  return new StoreErrors.TG_STORE_OPEN_FAILED(dir, text);
}
