// `tollgatectl backup FILE` and `tollgatectl restore FILE`, run on the appliance itself (as
// root or the service user), without the daemon's help: a backup must be possible while the
// daemon runs (a hot copy, src/store/snapshot.ts) and a restore only while it does not.
//
// The key. The backup is encrypted with the store key and never contains it. The key is found
// as the daemon finds it (src/store/key.ts), with one addition for a command run from a login
// shell, which has no $CREDENTIALS_DIRECTORY: the directory the packaged unit loads the
// credential from, /etc/tollgate/credentials (TOLLGATE_CREDENTIALS overrides it).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CREDENTIAL_NAME, lmdbKey, loadStoreKey } from '../../store/key.ts';
import { open } from '../../store/lmdb.ts';
import { STORE_FILE } from '../../store/migrate-plaintext.ts';
import { SCHEMA_VERSION } from '../../store/migrations.ts';
import { type BackupHeader, restoreBackup, writeBackup } from '../../store/snapshot.ts';
import { TABLE_NAMES } from '../../store/store.ts';
import { assertNotRunning } from '../console/server.ts';
import { ControlErrors } from '../errors.ts';
import { BackupErrors } from './errors.ts';

export const PACKAGED_CREDENTIALS = '/etc/tollgate/credentials';

/** The environment the store key is looked up in (see above). */
export function keyEnvironment(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  if (env.CREDENTIALS_DIRECTORY) return env;
  const dir = env.TOLLGATE_CREDENTIALS ?? PACKAGED_CREDENTIALS;
  return existsSync(join(dir, CREDENTIAL_NAME)) ? { ...env, CREDENTIALS_DIRECTORY: dir } : env;
}

export interface BackupResult extends BackupHeader {
  file: string;
}

/** A hot copy of the store in dataDir to file (refused if file exists: nothing is overwritten). */
export function backupStore(
  dataDir: string,
  file: string,
  env: NodeJS.ProcessEnv = process.env,
): BackupResult {
  const target = resolve(file);
  if (existsSync(target)) throw new BackupErrors.TG_BACKUP_EXISTS(target);
  const path = join(dataDir, STORE_FILE);
  if (!existsSync(path)) throw new BackupErrors.TG_BACKUP_NO_STORE(dataDir);
  const { key } = loadStoreKey(dataDir, true, keyEnvironment(env));
  // Opened beside the daemon (LMDB is multi-process): no migration, no write to the store.
  const root = open({ path, maxDbs: 16, mapSize: 2 * 1024 ** 3, encryptionKey: lmdbKey(key) });
  try {
    return { file: target, ...writeBackup(root, TABLE_NAMES, key, target) };
  } finally {
    void root.close();
  }
}

/** Replaces the store in dataDir with the backup in file; refused while a daemon answers. */
export async function restoreStore(
  dataDir: string,
  socketPath: string,
  file: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<BackupResult> {
  try {
    await assertNotRunning(socketPath);
  } catch (err) {
    if ((err as { code?: string }).code === ControlErrors.TG_CONSOLE_ALREADY_RUNNING.code)
      throw new BackupErrors.TG_BACKUP_DAEMON_RUNNING(socketPath);
    throw err;
  }
  // As if a store existed: a missing key is an error naming where to put it, never a new key.
  const { key } = loadStoreKey(dataDir, true, keyEnvironment(env));
  const target = resolve(file);
  return { file: target, ...restoreBackup(dataDir, target, key, SCHEMA_VERSION) };
}

/** One line for the operator: what was saved or restored, and which key it needs. */
export function describeBackup(verb: string, r: BackupResult): string {
  return [
    `${verb} ${r.file}: ${r.records} records, schema v${r.schemaVersion}, ${r.bytes} bytes, sha256 ${r.sha256.slice(0, 16)}…`,
    `encrypted with the store key ${r.keyId} (not in the file: keep the key, e.g. ${join(PACKAGED_CREDENTIALS, CREDENTIAL_NAME)}, apart from the backup)`,
  ].join('\n');
}
