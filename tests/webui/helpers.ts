// A web server on loopback over the real services (LMDB store, settings, bans, users,
// admins) without the rest of the daemon, and an HTTPS client that trusts tollgate's CA.
import { Agent, request } from 'node:https';
import { Writable } from 'node:stream';
import type { ExecutionContext } from 'ava';
import { Settings } from '../../src/config/settings.ts';
import { AdminService } from '../../src/control/admins.ts';
import { BanService } from '../../src/control/bans.ts';
import { UserService } from '../../src/control/users.ts';
import { certificateNames, ensureCertificate } from '../../src/crypto/certificate.ts';
import { OffDataplane } from '../../src/dataplane/off.ts';
import { createLogger } from '../../src/log.ts';
import { udpQueueStats } from '../../src/sip/transport/udp-thread.ts';
import { Store } from '../../src/store/store.ts';
import type { WebContext } from '../../src/webui/context.ts';
import { Metrics } from '../../src/webui/metrics.ts';
import { startWebServer, type WebServer } from '../../src/webui/server.ts';
import { CertificateHolder } from '../../src/webui/tls.ts';
import { allocatePort } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';

export const ADMIN = 'admin';
export const ADMIN_PASSWORD = 'Correct-Horse-9-Battery';

export interface Failure {
  ip: string;
  detail: string;
}

export interface TestWeb {
  web: WebServer;
  ctx: WebContext;
  settings: Settings;
  store: Store;
  failures: Failure[];
  metrics: Metrics;
  ca: Buffer;
  /** The certificate the server presents; `set` switches it (as ACME does). */
  tls: CertificateHolder;
  call(method: string, path: string, options?: CallOptions): Promise<Answer>;
}

export interface CallOptions {
  headers?: Record<string, string>;
  body?: unknown;
  /** Raw body text (with its content-type in headers). */
  raw?: string;
  /** Connect from this local address (a loopback alias such as 127.0.0.2). */
  from?: string;
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: a test reads whatever JSON came back
  json: any;
}

const quiet = () =>
  createLogger({ destination: new Writable({ write: (_c, _e, done) => done() }) });

export async function startTestWeb(
  t: ExecutionContext,
  config: Record<string, unknown> = {},
  address = '127.0.0.1',
): Promise<TestWeb> {
  const dir = tempDir(t);
  const log = quiet();
  const store = Store.open(dir);
  const settings = new Settings(store, config, log);
  const bans = new BanService(store, new OffDataplane('test'), log);
  const users = new UserService(store, settings, log);
  const admins = new AdminService(store, log);
  admins.add(ADMIN, ADMIN_PASSWORD);
  const cert = ensureCertificate(dir, certificateNames(address));
  const failures: Failure[] = [];
  const ctx: WebContext = {
    settings,
    store,
    bans,
    users,
    admins,
    status: async () => ({
      version: 'test',
      uptimeSeconds: 1,
      dataplane: {},
      bans: 0,
      users: 0,
      registrations: 0,
    }),
    stats: async () => ({ dataplane: { mode: 'off' }, drops: {}, passed: 0 }),
    dataplaneStats: () => new OffDataplane('test').stats(),
    audit: () => ({ findings: [], unavailable: [], summary: { high: 0, medium: 0, low: 0 } }),
    reportAuthFailure: (ip, _port, detail) => failures.push({ ip, detail }),
    log,
    dataDir: dir,
  };
  const port = await allocatePort();
  const metrics = new Metrics({
    store,
    bans,
    dataplane: ctx.dataplaneStats,
    udpDropped: udpQueueStats,
  });
  const tls = new CertificateHolder({ key: cert.key, cert: cert.cert });
  const web = await startWebServer(ctx, { address, port, metrics, tls });
  t.teardown(async () => {
    await web.close();
    store.close();
  });
  const agent = new Agent({ ca: cert.ca, keepAlive: false });
  const call = (method: string, path: string, o: CallOptions = {}) =>
    new Promise<Answer>((resolve, reject) => {
      const body = o.raw ?? (o.body === undefined ? undefined : JSON.stringify(o.body));
      const headers: Record<string, string> = { ...(o.headers ?? {}) };
      if (body !== undefined && o.raw === undefined) headers['content-type'] = 'application/json';
      // Always framed: Node sends a DELETE body without it (neither length nor chunked).
      if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
      const req = request(
        {
          host: address,
          port,
          method,
          path,
          headers,
          agent,
          servername: undefined,
          ...(o.from ? { localAddress: o.from } : {}),
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            text += c;
          });
          res.on('end', () => {
            let json: unknown;
            try {
              json = JSON.parse(text);
            } catch {
              json = undefined;
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
          });
        },
      );
      req.on('error', reject);
      req.setTimeout(20_000, () => req.destroy(new Error(`${method} ${path}: no answer in 20 s`)));
      req.end(body);
    });
  return { web, ctx, settings, store, failures, metrics, ca: cert.ca, tls, call };
}

export function basic(name: string, password: string): string {
  return `Basic ${Buffer.from(`${name}:${password}`).toString('base64')}`;
}

/** Logs in and returns the cookie and CSRF token to send. */
export async function login(
  w: TestWeb,
  username = ADMIN,
  password = ADMIN_PASSWORD,
  kind: 'admin' | 'user' = 'admin',
): Promise<{ cookie: string; csrf: string; answer: Answer }> {
  const answer = await w.call('POST', '/api/v1/session', { body: { username, password, kind } });
  const set = answer.headers['set-cookie'];
  const cookie = (Array.isArray(set) ? set : [set ?? '']).map((c) => c.split(';')[0]).join('; ');
  return { cookie, csrf: answer.json?.csrfToken, answer };
}
