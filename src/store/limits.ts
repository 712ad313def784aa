// How big one LMDB transaction and the map may get (store.ts explains both, at its top).
import { type Database, type Key, lmdbPatches, type RootDatabase } from './lmdb.ts';

/**
 * The most records one write transaction may hold. 1,000 with an LMDB that lacks
 * scripts/lmdb-patches/rpage-purge.patch (the published lmdb-js binary): larger transactions
 * corrupt a large encrypted store (store.ts). 5,000 with the patched build the bootstrap
 * makes: a busy ledger then needs a fifth of the fsyncs (bench:policy: ~12,000 CDRs/s, where
 * 1,000 gave ~4,000), and a ban written meanwhile (Store.durable, which waits for the writer
 * on the main thread) still waits only for a transaction of a few hundred milliseconds at
 * worst; 20,000 wrote no faster.
 */
export const MAX_TXN_WRITES = lmdbPatches.includes('rpage-purge') ? 5000 : 1000;

/** The map size: a ceiling only with encryption (nothing is reserved), ~100 million CDRs. */
export const DEFAULT_MAP_SIZE = 64 * 1024 ** 3;

/**
 * Puts `entries` into `to` (a table of `dest`), MAX_TXN_WRITES per synchronous transaction;
 * `seen` is told of each. For copies into an environment nobody reads until it is complete.
 */
export function copyInChunks(
  dest: RootDatabase,
  to: Database,
  entries: Iterable<{ key: Key; value: unknown }>,
  seen?: (key: Key, value: unknown) => void,
): void {
  let chunk: Array<{ key: Key; value: unknown }> = [];
  const write = () => {
    const writing = chunk;
    chunk = [];
    dest.transactionSync(() => {
      for (const { key, value } of writing) to.putSync(key, value);
    });
  };
  for (const { key, value } of entries) {
    chunk.push({ key, value });
    seen?.(key, value);
    if (chunk.length >= MAX_TXN_WRITES) write();
  }
  if (chunk.length > 0) write();
}
