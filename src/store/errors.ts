// The store's coded errors: what an operator sees when the data directory cannot be used.
import { defineErrors } from '../errors.ts';

export const StoreErrors = defineErrors('store', {
  TG_STORE_UNWRITABLE: 'data directory %s is not writable: %s',
  TG_STORE_FULL: 'data directory %s is full: %s',
  TG_STORE_NEWER_SCHEMA:
    'data in %s has schema version %s, newer than this tollgate understands (%s); upgrade tollgate or restore a backup',
  TG_STORE_LOCKED: 'data directory %s is in use: %s',
  TG_STORE_OPEN_FAILED: 'cannot open the store in %s: %s',
  TG_STORE_KEY_MISSING:
    'the store in %s is encrypted but its key is missing (%s); restore the key file or the systemd credential, or move the data directory away to start empty',
  TG_STORE_KEY_MISMATCH:
    'the store key from %s does not match the store in %s (key id %s, the store wants %s); use the key the store was created with',
  TG_STORE_KEY_BAD: 'store key %s is not 32 bytes (raw) or 64 hex digits: %s',
  TG_STORE_MIGRATION_FAILED: 'could not encrypt the existing store in %s: %s',
  TG_STORE_BACKUP_BAD: 'backup %s cannot be used: %s',
  TG_STORE_BACKUP_KEY:
    'backup %s was made with the store key %s, not this one (%s); restore with the key it was made with',
  TG_STORE_BACKUP_FAILED: 'could not back up the store in %s to %s: %s',
});
