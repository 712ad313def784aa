// `tollgate serve`: wires the modules together in dependency order and takes them down in
// reverse on shutdown, so nothing is half-written when SIGTERM arrives.
//   store → settings → ports → dataplane prepared (lock, BPF loaded; nothing others see)
//   → bans (recorded into the dataplane) → SIP sockets → console → dataplane engaged
// The kernel is touched last: a start that fails on a taken port or a second daemon's
// dataplane lock leaves the kernel exactly as it found it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readConfigFile } from './config/file.ts';
import { Settings } from './config/settings.ts';
import { AdminService } from './control/admins.ts';
import { gatherFacts, runAudit } from './control/audit/audit.ts';
import { BanService } from './control/bans.ts';
import { BillingService } from './control/billing/service.ts';
import {
  assertNotRunning,
  type ConsoleServer,
  startConsoleServer,
} from './control/console/server.ts';
import { StaticFirewall, staticRules } from './control/firewall.ts';
import { admitter, banFloods, createGuard, reporter } from './control/guard-wiring.ts';
import { guardConfigFrom, KERNEL_POLICY_KEYS } from './control/kernel-policy.ts';
import { RoutingService } from './control/routing/routing.ts';
import { UserService } from './control/users.ts';
import { type DataplaneSetup, prepareDataplane } from './dataplane/select.ts';
import { createLogger, droppedLogLines, type Logger } from './log.ts';
import { PACKAGE_ROOT } from './paths.ts';
import type { CallAccounting } from './policy-port.ts';
import { DigestAuthenticator } from './sip/auth/authenticator.ts';
import { NonceManager } from './sip/auth/nonce.ts';
import { StoredRouting } from './sip/proxy/routing/table.ts';
import { BindingStore } from './sip/registrar/bindings.ts';
import { SipService } from './sip/service.ts';
import { tlsCredentialsFromSettings } from './sip/transport/options.ts';
import { udpQueueStats } from './sip/transport/udp-thread.ts';
import { secureDataDir } from './store/permissions.ts';
import { persistentKey } from './store/secret-keys.ts';
import { Store } from './store/store.ts';
import { ACME_KEYS, AcmeManager, acmeEnabled } from './webui/acme/manager.ts';
import { Metrics } from './webui/metrics.ts';
import { startWebServer } from './webui/server.ts';
import { CertificateHolder } from './webui/tls.ts';

export interface DaemonOptions {
  dataDir: string;
  socketPath: string;
  configFile: string;
  /** The operator named the config file (--config, TOLLGATE_CONFIG): it must exist. */
  configRequired?: boolean;
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
/** The keys the dataplane is built from (all read once at start). */
const DATAPLANE_KEYS = [
  'dataplanemode',
  'dataplaneinterfaces',
  'dataplaneexclude',
  'sipaddress',
  'sipport',
  'sipsport',
  'maxtcpconnperip',
] as const;

/** Where the web UI, API and metrics listen (read once at start). */
const WEB_LISTEN_KEYS = ['webaddress', 'webport'] as const;

/** How long autoban 2 bans the address of a caller with bad call statistics. */
const AUTOBAN_SECONDS = 3600;
/** How often expired ban records are swept from the store. */
const BAN_SWEEP_MS = 60_000;

export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const file = readConfigFile(options.configFile, { required: options.configRequired });
  const log = options.log ?? createLogger({ level: file.values.loglevel ?? 'info' });
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
    const settings = new Settings(store, file.values, log, file);
    // loglevel may also have been set from the console (stored): the level in force wins.
    if (!options.log) log.level = String(settings.valueOf('loglevel'));
    for (const warning of settings.startupWarnings())
      log.warn({ key: warning.key }, warning.message);

    const dp = settings.view(DATAPLANE_KEYS);
    const prepared = await prepareDataplane({
      mode: dp.dataplanemode as DataplaneSetup['mode'],
      interfaces: dp.dataplaneinterfaces,
      exclude: dp.dataplaneexclude,
      sipAddress: dp.sipaddress,
      sipTcpPorts: [dp.sipport, dp.sipsport],
      maxConnPerSource: dp.maxtcpconnperip,
      guard: guardConfigFrom(settings),
      dataDir: options.dataDir,
      log,
    });
    const { dataplane, reason: dataplaneReason } = prepared;
    cleanups.push(() => dataplane.close());
    settings.onChange((key) => {
      if ((KERNEL_POLICY_KEYS as readonly string[]).includes(key))
        void dataplane.applyGuardPolicy(guardConfigFrom(settings)).catch((err) => {
          log.warn({ err, key }, 'new kernel guard policy refused');
        });
    });

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
    // Accounts' money: tariffs, balances, CDRs, the call rules (policy.calls) and the
    // per-IP cost the guard's maxcostperip reads.
    const billing = new BillingService({
      store,
      settings,
      accounts: users,
      log,
      banIp: (ip, reason, evidence) =>
        void bans
          .ban(ip, { ttlSeconds: AUTOBAN_SECONDS, reason, origin: 'auto', evidence })
          .catch((err: Error) => log.error({ ip, err }, 'could not ban a caller (autoban)')),
    });
    users.useCredit(billing);
    cleanups.push(() => billing.close());
    const { guard, portBans } = createGuard(settings, bans, log, billing.usage);
    cleanups.push(() => guard.close());
    // The call table exists once SIP has started; until then there are no calls.
    let callsActive = () => 0;
    const metrics = new Metrics({
      store,
      bans,
      dataplane: () => dataplane.stats(),
      callsActive: () => callsActive(),
      udpDropped: udpQueueStats,
    });
    // SIP and the web layer report authentication outcomes to the same guard.
    const guardReport = reporter(guard, log, (name) => users.idOf(name));
    const report: typeof guardReport = (event) => {
      const verdict = guardReport(event);
      if (event.kind === 'call-start' && verdict.action !== 'pass')
        metrics.callRefused(verdict.rule);
      return verdict;
    };
    const sip = await SipService.start({
      settings,
      dataDir: options.dataDir,
      auth: new DigestAuthenticator(users, nonces, settings),
      bindings,
      trust: dataplane,
      mediaKernel: dataplane,
      log,
      routing: new StoredRouting(store),
      observeMessage: (dir, method, status) => metrics.sipMessage(dir, method, status),
      policy: {
        admit: admitter(guard),
        report,
        userExists: (name) => users.exists(name),
        ipAuthenticate: (ip, dialled, port) => users.ipAuthenticate(ip, dialled, port),
        calls: countingRefusals(billing.calls, (rule) => metrics.callRefused(rule)),
      },
    });
    callsActive = () => sip.proxy.calls.table.size;
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
      // Read back from the kernel now, not remembered (DataplaneState says what each is).
      dataplane: await dataplane.state(),
      bans: bans.list().length,
      users: users.count(),
      registrations: bindings.size,
      sip: sip.transports.addresses(),
      restartPending: settings.restartPending(),
    });
    const stats = async () => {
      const s = await dataplane.stats();
      return {
        dataplane: {
          mode: s.mode,
          interfaces: s.interfaces,
          counters: s.counters,
          counted: s.counted,
        },
        drops: s.drops,
        passed: s.passed,
        // SIP connections: open, and refused, evicted or closed by a deadline, per limit.
        connections: sip.transports.stats(),
        // The media relay: sessions, ports, and the packets this process saw and forwarded
        // (in XDP mode none once a stream is latched: the kernel forwards them).
        media: sip.media.stats,
        // The SIP transaction table: live transactions, and what it absorbed or refused.
        transactions: sip.transactions.stats,
        // Datagrams dropped between the UDP thread and the main thread (the queue full, or
        // an address over its fair share of a crowded queue).
        udp: udpQueueStats(),
        // Lines lost because the log's reader (journald) fell 16 MB behind.
        log: { droppedLines: droppedLogLines() },
      };
    };
    const audit = () =>
      runAudit(
        gatherFacts({
          settings,
          dataDir: options.dataDir,
          dataplaneMode: () => dataplane.mode,
          md5Accounts: () => users.md5Accounts().map((account) => account.name),
          postpaidWithoutMonthlyLimit: () => users.postpaidWithoutMonthlyLimit(),
        }),
      );
    const admins = new AdminService(store, log);
    const consoleServer: ConsoleServer = await startConsoleServer(options.socketPath, {
      admins,
      audit,
      bans,
      billing,
      portBans,
      detections: () => guard.detections(),
      settings,
      users,
      routing: new RoutingService(store, log),
      status,
      stats,
      calls: sip.proxy.calls,
      // sshd's failed logins reach the guard through the console (tollgate-sshfeed).
      report,
      log,
    });
    cleanups.push(() => consoleServer.close());

    // The web UI, HTTP API and metrics, over HTTPS with the certificate SIP over TLS presents.
    const webListen = settings.view(WEB_LISTEN_KEYS);
    const sipTls = tlsCredentialsFromSettings(settings, options);
    const webTls = new CertificateHolder({
      key: Buffer.from(sipTls.key),
      cert: Buffer.from(sipTls.cert),
    });
    // ACME (webui/acme): a CA-issued certificate replaces tollgate's own on HTTPS and SIP TLS.
    webTls.onChange((cred) => sip.transports.useTlsCredentials(cred));
    const acmeConfig = settings.view(ACME_KEYS);
    if (acmeEnabled(acmeConfig)) {
      const acmeManager = new AcmeManager({
        config: acmeConfig,
        dataDir: options.dataDir,
        holder: webTls,
        log,
      });
      acmeManager.start();
      cleanups.push(() => acmeManager.close());
    }
    const web = await startWebServer(
      {
        settings,
        store,
        bans,
        portBans,
        detections: () => guard.detections(),
        users,
        admins,
        status,
        stats,
        dataplaneStats: () => dataplane.stats(),
        audit,
        reportAuthFailure: (ip, port, detail) =>
          void report({ kind: 'auth-fail', ip, port, method: 'HTTP', detail }),
        log,
        dataDir: options.dataDir,
        // Live calls and hang-up for the UI and API (what the console's calls/hangup use).
        calls: sip.proxy.calls,
        // Accounts' money, top-ups and CDRs for the UI, the API and the portal.
        billing,
        // Trunks and routes for the UI and API (the same tables the console changes).
        routing: new RoutingService(store, log),
      },
      { address: webListen.webaddress, port: webListen.webport, tls: webTls, metrics },
    );
    cleanups.push(() => web.close());
    log.info({ url: web.url }, 'web UI and API listening');

    // Last: every socket is bound, so from here nothing can fail before the kernel has it.
    await prepared.engage();
    log.info({ mode: dataplane.mode, reason: dataplaneReason }, 'dataplane ready');

    const { summary, findings } = audit();
    log[findings.length === 0 ? 'info' : 'warn'](
      { ...summary, findings: findings.map((f) => f.id) },
      `security audit: ${findings.length} finding(s); see "tollgatectl audit"`,
    );
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

/** Billing's decisions, with each refusal counted per rule (tollgate_calls_refused_total). */
export function countingRefusals(
  accounting: CallAccounting,
  refused: (rule: string) => void,
): CallAccounting {
  return {
    authorize: (call) => {
      const decision = accounting.authorize(call);
      if (!decision.allow) refused(decision.rule);
      return decision;
    },
    answered: (callId, at) => accounting.answered(callId, at),
    ended: (call) => accounting.ended(call),
    trunkUsable: (trunk, at) => accounting.trunkUsable(trunk, at),
  };
}
