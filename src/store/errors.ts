// The store's coded errors: what an operator sees when the data directory cannot be used.
import { defineErrors } from '../errors.ts';

export const StoreErrors = defineErrors('store', {
  TG_STORE_UNWRITABLE: 'data directory %s is not writable: %s',
  TG_STORE_FULL: 'data directory %s is full: %s',
  TG_STORE_NEWER_SCHEMA:
    'data in %s has schema version %s, newer than this tollgate understands (%s); upgrade tollgate or restore a backup',
  TG_STORE_LOCKED: 'data directory %s is in use: %s',
  TG_STORE_OPEN_FAILED: 'cannot open the store in %s: %s',
});
