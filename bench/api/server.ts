// The server side of bench/api (run as a child so its CPU can be read apart from the load):
// tollgate's web server over a store holding 100,000 bans, and beside it a bare fastify
// HTTPS server with one route answering the same first page of bans, precomputed. Prints
// {"apiPort", "barePort", "key", "ca"} on stdout once both listen; exits on stdin close.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Fastify from 'fastify';
import { Settings } from '../../src/config/settings.ts';
import { AdminService } from '../../src/control/admins.ts';
import { BanService } from '../../src/control/bans.ts';
import { UserService } from '../../src/control/users.ts';
import { certificateNames, ensureCertificate } from '../../src/crypto/certificate.ts';
import { OffDataplane } from '../../src/dataplane/off.ts';
import { createLogger } from '../../src/log.ts';
import { Store } from '../../src/store/store.ts';
import { Metrics } from '../../src/webui/metrics.ts';
import { startWebServer } from '../../src/webui/server.ts';
import { CertificateHolder } from '../../src/webui/tls.ts';

const BANS = Number(process.argv[2] ?? 100_000);
const KEY = 'bench-Key-7f3a9c21d4e8b6a0';
const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-api-'));
const log = createLogger({ destination: new Writable({ write: (_c, _e, done) => done() }) });
const store = Store.open(dir);
// apidefneedlogin 0: the API key alone (what a monitoring client sends); no rate limit.
const settings = new Settings(store, { apidefneedlogin: 0, httpapikey: KEY, webratelimit: 0 }, log);
const dataplane = new OffDataplane('bench');
const bans = new BanService(store, dataplane, log);
const now = Date.now();
await store.durable(() => {
  for (let i = 0; i < BANS; i++) {
    const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    store.tables.bans.put(ip, {
      ip,
      reason: 'maxfailedauthenabledip',
      origin: 'auto',
      evidence: {
        rule: 'maxfailedauthenabledip',
        count: 800,
        threshold: 800,
        windowSeconds: 3600,
        sample: 'REGISTER sip:x',
      },
      createdAt: now - i * 1000,
      expiresAt: now + 86_400_000,
    });
  }
});
const users = new UserService(store, settings, log);
const admins = new AdminService(store, log);
const cert = ensureCertificate(dir, certificateNames('127.0.0.1'));
const tls = new CertificateHolder({ key: cert.key, cert: cert.cert });
const ctx = {
  settings,
  store,
  bans,
  users,
  admins,
  status: async () => ({}),
  stats: async () => ({}),
  dataplaneStats: () => dataplane.stats(),
  audit: () => ({ findings: [], unavailable: [], summary: { high: 0, medium: 0, low: 0 } }),
  reportAuthFailure: () => {},
  log,
  dataDir: dir,
};
const metrics = new Metrics({ store, bans, dataplane: ctx.dataplaneStats });
const api = await startWebServer(ctx, { address: '127.0.0.1', port: 0, tls, metrics });

// The bare route: plain fastify, same TLS, the same JSON the API's first page holds.
const page = {
  total: BANS,
  offset: 0,
  limit: 100,
  items: bans
    .list()
    .slice(0, 100)
    .map((b) => ({ ...b, scope: 'ip', enforced: false })),
};
const bare = Fastify({ https: { key: cert.key, cert: cert.cert } });
bare.get('/bare', async () => page);
await bare.listen({ host: '127.0.0.1', port: 0 });
const barePort = (bare.server.address() as { port: number }).port;

process.stdout.write(
  `${JSON.stringify({ apiPort: api.port, barePort, key: KEY, ca: cert.ca.toString() })}\n`,
);
process.stdin.resume();
process.stdin.on('end', async () => {
  await api.close();
  await bare.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
});
