// Schema versions of the store. A migration runs once, in one synced transaction, when a
// store older than SCHEMA_VERSION is opened; a store newer than this code is refused (we
// cannot know what a later version's records mean, and guessing could corrupt them).
import { StoreErrors } from './errors.ts';
import type { Store } from './store.ts';

interface Migration {
  to: number;
  why: string;
  up(store: Store): void;
}

const MIGRATIONS: readonly Migration[] = [
  {
    to: 1,
    why: 'first schema: tables config, users, bans, registrations, counters, cdrs',
    up: () => {},
  },
  {
    to: 2,
    why: 'accounts get a stable numeric id (the reference keys user limits by id: maxcallperuserid)',
    up: (store) => {
      const users = [...store.tables.users.getRange()].map((e) => e.value);
      users.sort((a, b) => a.createdAt - b.createdAt || a.name.localeCompare(b.name));
      let next = 1;
      for (const user of users) store.tables.users.putSync(user.name, { ...user, id: next++ });
      store.tables.meta.putSync('nextUserId', next);
    },
  },
  {
    to: 3,
    why: 'billing: balances, tariffs and blacklist tables; CDRs keyed by account then end time',
    // The cdrs table was never written before this version: nothing to convert.
    up: () => {},
  },
];

export const SCHEMA_VERSION = MIGRATIONS.at(-1)!.to;

/**
 * `before(from, to)` runs once, before the first migration, when a store that already has a
 * schema (not a new, empty one) is about to be rewritten: the daemon takes a backup there.
 */
export function migrate(store: Store, before?: (from: number, to: number) => void): void {
  const stored = (store.tables.meta.get('schemaVersion') as number | undefined) ?? 0;
  if (stored > SCHEMA_VERSION) {
    throw new StoreErrors.TG_STORE_NEWER_SCHEMA(store.dir, stored, SCHEMA_VERSION);
  }
  if (stored > 0 && stored < SCHEMA_VERSION) before?.(stored, SCHEMA_VERSION);
  for (const migration of MIGRATIONS) {
    if (migration.to <= stored) continue;
    store.durable(() => {
      migration.up(store);
      store.tables.meta.putSync('schemaVersion', migration.to);
    });
  }
}
