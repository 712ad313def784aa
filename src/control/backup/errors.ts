// Backup and restore from tollgatectl: what the operator sees when one cannot be done.
import { defineErrors } from '../../errors.ts';

export const BackupErrors = defineErrors('backup', {
  TG_BACKUP_USAGE: '%s',
  TG_BACKUP_DAEMON_RUNNING:
    'the daemon is running on %s: stop it first (systemctl stop tollgate), restore, then start it again',
  TG_BACKUP_NO_STORE: 'there is no store in %s to back up',
  TG_BACKUP_EXISTS: '%s already exists; choose another name or remove it first',
});
