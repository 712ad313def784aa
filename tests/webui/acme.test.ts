// ACME against a real pebble on loopback: a certificate is issued over HTTP-01 and over
// TLS-ALPN-01, replaces tollgate's own on the real web server and on a SIP TLS listener
// without a restart, is renewed inside acmerenewdays, and a CA that cannot be reached leaves
// the certificate in use alone (and says so in the log).
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { connect } from 'node:tls';
import test, { type ExecutionContext } from 'ava';
import { createLogger } from '../../src/log.ts';
import { SipTransports } from '../../src/sip/transport/transports.ts';
import { ACME_KEYS, type AcmeEvent, AcmeManager } from '../../src/webui/acme/manager.ts';
import { Http01Responder } from '../../src/webui/acme/responders.ts';
import { startPebble } from '../helpers/pebble.ts';
import { allocatePort } from '../helpers/ports.ts';
import { startTestWeb } from './helpers.ts';

const DEADLINE_MS = 90_000;

interface Peer {
  serial: string;
  authorized: boolean;
  error?: string;
}

/** The certificate a TLS server at 127.0.0.1:port presents to a client asking for `name`. */
function peer(port: number, name: string, ca?: Buffer): Promise<Peer> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: '127.0.0.1',
      port,
      servername: name,
      ca,
      rejectUnauthorized: false,
    });
    socket.setTimeout(10_000, () => socket.destroy(new Error('TLS handshake timed out')));
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate();
      resolve({
        serial: cert.serialNumber,
        authorized: socket.authorized,
        error: socket.authorizationError?.toString(),
      });
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

function nextEvent(manager: AcmeManager): Promise<AcmeEvent> {
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error('no ACME event')), DEADLINE_MS);
    const off = manager.onEvent((event) => {
      clearTimeout(deadline);
      off();
      resolve(event);
    });
  });
}

function capture() {
  const lines: string[] = [];
  const log = createLogger({
    destination: new Writable({
      write(chunk, _e, done) {
        lines.push(chunk.toString());
        done();
      },
    }),
  });
  return { log, lines };
}

/** The web server, a SIP TLS listener following the same holder (as the daemon wires them). */
async function setUp(t: ExecutionContext, config: Record<string, unknown>) {
  const web = await startTestWeb(t, config);
  const sipsPort = await allocatePort();
  const sip = await SipTransports.start({
    tls: [{ ip: '127.0.0.1', port: sipsPort }],
    tlsCredentials: web.tls.current(),
  });
  t.teardown(() => sip.close());
  web.tls.onChange((cred) => sip.useTlsCredentials(cred));
  return { web, sipsPort, httpsPort: web.web.port, dataDir: web.ctx.dataDir };
}

async function issueWith(t: ExecutionContext, challenge: 'http-01' | 'tls-alpn-01') {
  const [httpPort, tlsPort] = [await allocatePort(), await allocatePort()];
  const pebble = await startPebble(t, { httpPort, tlsPort });
  const env = await setUp(t, {
    acmedirectory: pebble.directory,
    acmedomains: ['localhost'],
    acmeemail: 'ops@example.org',
    acmechallenge: challenge,
    acmehttpport: httpPort,
    acmetlsport: tlsPort,
  });
  const before = await peer(env.httpsPort, 'localhost');
  const { log, lines } = capture();
  const manager = new AcmeManager({
    config: env.web.settings.view(ACME_KEYS),
    dataDir: env.dataDir,
    holder: env.web.tls,
    log,
    trust: pebble.trust,
    challengeAddress: '127.0.0.1',
  });
  t.teardown(() => manager.close());
  const issued = nextEvent(manager);
  manager.start();
  const event = await issued;
  t.is(event.kind, 'issued', JSON.stringify(event));
  const root = await pebble.root();
  for (const port of [env.httpsPort, env.sipsPort]) {
    const now = await peer(port, 'localhost', root);
    t.true(now.authorized, `port ${port}: ${now.error}`);
    t.not(now.serial, before.serial);
    t.is(now.serial.toLowerCase(), manager.current()!.serial.toLowerCase());
  }
  t.true(lines.some((l) => l.includes('ACME certificate issued for localhost')));
  for (const file of ['account.pem', 'key.pem', 'cert.pem'])
    t.is(statSync(join(env.dataDir, 'acme', file)).mode & 0o777, 0o600, file);
  return { pebble, env, manager, httpPort, tlsPort, root };
}

test('HTTP-01: pebble issues a certificate that HTTPS and SIP over TLS present at once', async (t) => {
  await issueWith(t, 'http-01');
});

test('TLS-ALPN-01: pebble issues a certificate over an acme-tls/1 handshake', async (t) => {
  await issueWith(t, 'tls-alpn-01');
});

test('renewal: a stored certificate inside acmerenewdays is replaced live on HTTPS and SIP TLS', async (t) => {
  const first = await issueWith(t, 'http-01');
  const old = first.manager.current()!;
  await first.manager.close();
  // pebble's certificates last 5 years: a 3650-day window makes the stored one due now.
  const { log, lines } = capture();
  const config = { ...first.env.web.settings.view(ACME_KEYS), acmerenewdays: 3650 };
  const manager = new AcmeManager({
    config,
    dataDir: first.env.dataDir,
    holder: first.env.web.tls,
    log,
    trust: first.pebble.trust,
    challengeAddress: '127.0.0.1',
  });
  t.teardown(() => manager.close());
  const renewed = nextEvent(manager);
  manager.start();
  t.true(lines.some((l) => l.includes('ACME certificate loaded')));
  t.is((await renewed).kind, 'issued');
  const serial = manager.current()!.serial.toLowerCase();
  t.not(serial, old.serial.toLowerCase());
  for (const port of [first.env.httpsPort, first.env.sipsPort]) {
    const now = await peer(port, 'localhost', first.root);
    t.true(now.authorized, `port ${port}: ${now.error}`);
    t.is(now.serial.toLowerCase(), serial);
  }
});

test('an unreachable ACME server leaves the certificate in use and logs why', async (t) => {
  const deadPort = await allocatePort(); // reserved, nothing listens
  const env = await setUp(t, {
    acmedirectory: `https://127.0.0.1:${deadPort}/dir`,
    acmedomains: ['localhost'],
    acmehttpport: await allocatePort(),
  });
  const before = await peer(env.httpsPort, 'localhost');
  const { log, lines } = capture();
  const manager = new AcmeManager({
    config: env.web.settings.view(ACME_KEYS),
    dataDir: env.dataDir,
    holder: env.web.tls,
    log,
    challengeAddress: '127.0.0.1',
  });
  t.teardown(() => manager.close());
  const failed = nextEvent(manager);
  manager.start();
  const event = await failed;
  t.is(event.kind, 'failed');
  t.true(
    lines.some((l) => l.includes('ACME: no certificate issued') && l.includes('retryInSeconds')),
    lines.join(''),
  );
  t.is(manager.current(), undefined);
  t.is((await peer(env.httpsPort, 'localhost')).serial, before.serial);
  t.is((await peer(env.sipsPort, 'localhost')).serial, before.serial);
});

test.serial('the HTTP-01 listener answers a pending token and nothing else', async (t) => {
  const responder = new Http01Responder();
  const port = await responder.listen(0, '127.0.0.1');
  t.teardown(() => responder.close());
  responder.add('tok_en-1', 'tok_en-1.thumb');
  const get = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`).catch((e) => {
      throw new Error(`${path}: ${e.cause}`);
    });
    return { status: res.status, text: await res.text() };
  };
  t.deepEqual(await get('/.well-known/acme-challenge/tok_en-1'), {
    status: 200,
    text: 'tok_en-1.thumb',
  });
  t.is((await get('/.well-known/acme-challenge/other')).status, 404);
  t.is((await get('/')).status, 404);
  t.is((await get('/.well-known/acme-challenge/../../etc/passwd')).status, 404);
  responder.remove('tok_en-1');
  t.is((await get('/.well-known/acme-challenge/tok_en-1')).status, 404);
});
