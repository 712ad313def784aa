// `tollgate serve`: wires the modules together in dependency order and takes them down in
// reverse on shutdown, so nothing is half-written when SIGTERM arrives.
//   store → settings → dataplane → bans (restored into the dataplane) → ports → console
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BanService } from './control/bans.ts';
import { loadConfigFile } from './control/config/file.ts';
import { type ConsoleServer, startConsoleServer } from './control/console/server.ts';
import { checkPortsFree } from './control/ports.ts';
import { Settings } from './control/settings.ts';
import { Store } from './control/store/store.ts';
import { UserService } from './control/users.ts';
import { OffDataplane } from './dataplane/off.ts';
import type { Dataplane } from './dataplane/types.ts';
import { createLogger, type Logger } from './log.ts';
import { PACKAGE_ROOT } from './paths.ts';

export interface DaemonOptions {
  dataDir: string;
  socketPath: string;
  configFile: string;
  log?: Logger;
}

export interface Daemon {
  readonly dataDir: string;
  readonly socketPath: string;
  close(): Promise<void>;
}

const VERSION = (
  JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }
).version;
/** How often expired ban records are swept from the store. */
const BAN_SWEEP_MS = 60_000;

export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const fileValues = loadConfigFile(options.configFile);
  const log = options.log ?? createLogger({ level: String(fileValues.loglevel ?? 'info') });
  const startedAt = Date.now();
  const cleanups: Array<() => Promise<void> | void> = [];
  const close = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  };

  try {
    const store = Store.open(options.dataDir);
    cleanups.push(() => store.close());
    const settings = new Settings(store, fileValues, log);

    const dataplane: Dataplane = new OffDataplane(
      'kernel enforcement is not wired in yet: bans are stored records only',
    );
    cleanups.push(() => dataplane.close());

    const users = new UserService(store, settings, log);
    const bans = new BanService(store, dataplane, log);
    await bans.restore();
    const sweep = setInterval(() => bans.sweep(), BAN_SWEEP_MS);
    sweep.unref();
    cleanups.push(() => clearInterval(sweep));

    await checkPortsFree(settings);

    const status = async () => ({
      version: VERSION,
      pid: process.pid,
      uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
      dataDir: options.dataDir,
      socket: options.socketPath,
      configFile: options.configFile,
      schemaVersion: store.schemaVersion,
      dataplane: {
        mode: dataplane.mode,
        enforcing: dataplane.mode !== 'off',
        note: dataplane instanceof OffDataplane ? dataplane.reason : '',
      },
      bans: bans.list().length,
      users: store.tables.users.getCount(),
      restartPending: settings.restartPending(),
    });
    const stats = async () => {
      const s = await dataplane.stats();
      return {
        dataplane: { mode: s.mode, interfaces: s.interfaces },
        drops: s.drops,
        passed: s.passed,
      };
    };
    const consoleServer: ConsoleServer = await startConsoleServer(options.socketPath, {
      bans,
      settings,
      users,
      status,
      stats,
      log,
    });
    cleanups.push(() => consoleServer.close());

    log.info(
      {
        dataDir: options.dataDir,
        socket: options.socketPath,
        dataplane: dataplane.mode,
        version: VERSION,
      },
      'tollgate started',
    );
    return { dataDir: options.dataDir, socketPath: options.socketPath, close };
  } catch (err) {
    await close();
    throw err;
  }
}
