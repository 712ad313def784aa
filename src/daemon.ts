// `tollgate serve`: wires the modules together in dependency order and takes them down in
// reverse on shutdown, so nothing is half-written when SIGTERM arrives.
//   store → settings → ports → dataplane → bans (restored into the dataplane) → console
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigFile } from './config/file.ts';
import { Settings } from './config/settings.ts';
import { BanService } from './control/bans.ts';
import {
  assertNotRunning,
  type ConsoleServer,
  startConsoleServer,
} from './control/console/server.ts';
import { StaticFirewall, staticRules } from './control/firewall.ts';
import { admitter, banFloods, createGuard, reporter } from './control/guard-wiring.ts';
import { guardConfigFrom, KERNEL_POLICY_KEYS } from './control/kernel-policy.ts';
import { checkPortsFree } from './control/ports.ts';
import { UserService } from './control/users.ts';
import { LayeredDataplane, openDataplane } from './dataplane/select.ts';
import { createLogger, type Logger } from './log.ts';
import { PACKAGE_ROOT } from './paths.ts';
import { DigestAuthenticator } from './sip/auth/authenticator.ts';
import { NonceManager } from './sip/auth/nonce.ts';
import { BindingStore } from './sip/registrar/bindings.ts';
import { SipService } from './sip/service.ts';
import { secureDataDir } from './store/permissions.ts';
import { persistentKey } from './store/secret-keys.ts';
import { Store } from './store/store.ts';

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
    await assertNotRunning(options.socketPath);
    // Nothing the daemon creates is for other users: the store, its key, the socket.
    process.umask(0o077);
    for (const fix of secureDataDir(options.dataDir))
      log.warn(fix, 'data directory: mode was too open, fixed');
    const store = Store.open(options.dataDir, { log });
    cleanups.push(() => store.close());
    const settings = new Settings(store, fileValues, log);

    await checkPortsFree(settings);

    const { dataplane, reason: dataplaneReason } = await openDataplane({
      mode: settings.get('dataplanemode'),
      interfaces: settings.get<string[]>('dataplaneinterfaces'),
      sipAddress: settings.get<string>('sipaddress'),
      sipTcpPorts: [settings.get<number>('sipport'), settings.get<number>('sipsport')],
      maxConnPerSource: settings.get<number>('maxtcpconnperip'),
      guard: guardConfigFrom(settings),
      log,
    });
    cleanups.push(() => dataplane.close());
    log.info({ mode: dataplane.mode, reason: dataplaneReason }, 'dataplane ready');
    if (dataplane instanceof LayeredDataplane) {
      const xdp = dataplane.xdp.guard;
      settings.onChange((key) => {
        if ((KERNEL_POLICY_KEYS as readonly string[]).includes(key))
          xdp.configure(guardConfigFrom(settings));
      });
    }

    const users = new UserService(store, settings, log);
    const nonces = new NonceManager({ key: persistentKey(store, 'nonceKey') });
    const bindings = new BindingStore(store);
    const restoredBindings = bindings.load();
    const bindingSweep = setInterval(() => bindings.sweep(), BAN_SWEEP_MS);
    bindingSweep.unref();
    cleanups.push(() => clearInterval(bindingSweep));
    const bans = new BanService(store, dataplane, log);
    bans.useStaticRules(() => staticRules(settings));
    await bans.restore();
    const sweep = setInterval(() => bans.sweep(), BAN_SWEEP_MS);
    sweep.unref();
    cleanups.push(() => clearInterval(sweep));

    banFloods(dataplane, bans, settings, log);
    await new StaticFirewall(settings, dataplane, log, (c) => bans.holdsRange(c)).apply();
    const { guard, portBans } = createGuard(settings, bans, log);
    cleanups.push(() => guard.close());
    const sip = await SipService.start({
      settings,
      dataDir: options.dataDir,
      auth: new DigestAuthenticator(users, nonces, settings),
      bindings,
      trust: dataplane,
      log,
      policy: {
        admit: admitter(guard),
        report: reporter(guard, log, (name) => users.idOf(name)),
        userExists: (name) => users.exists(name),
        ipAuthenticate: (ip, dialled) => users.ipAuthenticate(ip, dialled),
      },
    });
    cleanups.push(() => sip.close());
    log.info(
      { addresses: sip.transports.addresses(), bindings: restoredBindings },
      'SIP listening',
    );

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
        reason: dataplaneReason,
      },
      bans: bans.list().length,
      users: users.count(),
      registrations: bindings.size,
      sip: sip.transports.addresses(),
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
      portBans,
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
