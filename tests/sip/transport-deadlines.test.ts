// Connection deadlines, caps and eviction, set through the config keys (sipfirstmsgtimeout,
// sipmsgtimeout, siptlshandshaketimeout, maxtcpconn, maxtcpconnperip, maxtcpconnpersubnet,
// evicttcpconn) and
// observed over real sockets on loopback: 127.0.0.0/8 is all local, so clients bind to
// 127.0.X.Y to come from different addresses and /24s.
import { once } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import test, { type ExecutionContext } from 'ava';
import { Settings } from '../../src/config/settings.ts';
import { createLogger } from '../../src/log.ts';
import type { SipMessage } from '../../src/sip/message/index.ts';
import {
  type ConnectionLimit,
  type LimitEvent,
  SipTransports,
  type Source,
} from '../../src/sip/transport/index.ts';
import { transportOptionsFromSettings } from '../../src/sip/transport/options.ts';
import { Store } from '../../src/store/store.ts';
import { tempDir } from '../helpers/tmp.ts';

const WAIT_MS = 10_000;

interface Harness {
  tr: SipTransports;
  tcp: number;
  tls: number;
  limits: LimitEvent[];
  messages: Array<[SipMessage, Source]>;
  /** The JSON lines the transports logged. */
  lines: Array<Record<string, unknown>>;
}

/** SipTransports built the way the daemon builds them: from settings (a real store). */
async function start(t: ExecutionContext, config: Record<string, string>): Promise<Harness> {
  const dir = tempDir(t);
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
      done();
    },
  });
  const log = createLogger({ destination });
  const store = Store.open(join(dir, 'db'));
  t.teardown(() => store.close());
  const settings = new Settings(store, { sipaddress: '127.0.0.1', ...config }, log);
  const o = transportOptionsFromSettings(settings, { dataDir: dir, log });
  const any = [{ ip: '0.0.0.0', port: 0 }];
  const tr = await SipTransports.start({ ...o, udp: [], tcp: any, tls: any });
  t.teardown(() => tr.close());
  const h: Harness = {
    tr,
    tcp: tr.addresses().find((a) => a.transport === 'tcp')!.port,
    tls: tr.addresses().find((a) => a.transport === 'tls')!.port,
    limits: [],
    messages: [],
    lines,
  };
  tr.on('limit', (ev) => h.limits.push(ev));
  tr.on('message', (m, s) => h.messages.push([m, s]));
  return h;
}

async function eventually(cond: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !cond(); waited += 10) {
    if (waited > WAIT_MS) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Client {
  sock: Socket;
  /** The client's port (the socket forgets it once closed). */
  port: number;
  closed: () => boolean;
}

async function client(
  t: ExecutionContext,
  port: number,
  from = '127.0.0.1',
  to = '127.0.0.1',
): Promise<Client> {
  const sock = netConnect({ port, host: to, localAddress: from });
  t.teardown(() => sock.destroy());
  let closed = false;
  sock.on('close', () => {
    closed = true;
  });
  sock.on('error', () => {});
  sock.on('data', () => {});
  await once(sock, 'connect');
  return { sock, port: sock.localPort!, closed: () => closed };
}

function options(branch: string): string {
  return [
    'OPTIONS sip:tollgate@127.0.0.1 SIP/2.0',
    `Via: SIP/2.0/TCP 192.0.2.10:5060;branch=${branch};rport`,
    'Max-Forwards: 70',
    'From: <sip:alice@example.com>;tag=f1',
    'To: <sip:tollgate@127.0.0.1>',
    `Call-ID: ${branch}@example.com`,
    'CSeq: 1 OPTIONS',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

const limitOf = (h: Harness, limit: ConnectionLimit, port?: number) =>
  h.limits.find((e) => e.limit === limit && (port === undefined || e.source.port === port));

async function sendMessage(h: Harness, c: Client, branch: string): Promise<Source> {
  c.sock.write(options(branch));
  await eventually(
    () => h.messages.some(([m]) => m.topVia()?.branch === branch),
    `the message ${branch}`,
  );
  return h.messages.find(([m]) => m.topVia()?.branch === branch)![1];
}

test('sipmsgtimeout: a message dribbled one octet at a time is cut off at its deadline; a whole one is not', async (t) => {
  const h = await start(t, { sipmsgtimeout: '1', sipfirstmsgtimeout: '0' });
  const fast = await client(t, h.tcp);
  await sendMessage(h, fast, 'z9hG4bKfast');
  // Half a message, then a pause, then the rest: well within the deadline, delivered.
  const text = options('z9hG4bKsplit');
  fast.sock.write(text.slice(0, 40));
  await new Promise((r) => setTimeout(r, 100));
  fast.sock.write(text.slice(40));
  await eventually(
    () => h.messages.some(([m]) => m.topVia()?.branch === 'z9hG4bKsplit'),
    'the split message',
  );

  const slow = await client(t, h.tcp);
  const octets = Buffer.from(options('z9hG4bKslow'));
  let sent = 0;
  const drip = setInterval(() => {
    if (!slow.closed() && sent < octets.length) slow.sock.write(octets.subarray(sent, ++sent));
  }, 50);
  t.teardown(() => clearInterval(drip));
  await eventually(() => slow.closed(), 'the slow connection to be closed');
  const ev = limitOf(h, 'message_timeout', slow.port);
  t.truthy(ev, 'closed by the message deadline');
  t.regex(ev!.detail, /within 1 s of its first octet/);
  t.true(sent < octets.length, `only ${sent} of ${octets.length} octets had come`);
  t.false(fast.closed(), 'the connection that sends whole messages stays');
  t.is(h.tr.stats().limits.message_timeout, 1);
  await eventually(
    () => h.lines.some((l) => l.limit === 'message_timeout' && l.port === slow.port),
    'the log line',
  );
});

test('sipfirstmsgtimeout: a connection that never sends a message is closed; keepalives do not count', async (t) => {
  const h = await start(t, { sipfirstmsgtimeout: '1' });
  const idle = await client(t, h.tcp);
  const pinging = await client(t, h.tcp);
  const talking = await client(t, h.tcp);
  await sendMessage(h, talking, 'z9hG4bKtalk');
  const ping = setInterval(() => pinging.closed() || pinging.sock.write('\r\n\r\n'), 100);
  t.teardown(() => clearInterval(ping));
  await eventually(() => idle.closed() && pinging.closed(), 'both silent connections to close');
  t.truthy(limitOf(h, 'first_message_timeout', idle.port));
  t.truthy(limitOf(h, 'first_message_timeout', pinging.port));
  t.false(talking.closed(), 'the one that sent a message is not subject to it');
  t.is(h.tr.stats().limits.first_message_timeout, 2);
  t.is(h.tr.stats().open, 1);
});

test('siptlshandshaketimeout: a TLS client that never shakes hands is closed', async (t) => {
  const h = await start(t, { siptlshandshaketimeout: '1', sipfirstmsgtimeout: '0' });
  const c = await client(t, h.tls);
  await eventually(() => c.closed(), 'the connection to be closed');
  t.like(limitOf(h, 'tls_handshake'), { source: { transport: 'tls', ip: '127.0.0.1' } });
  t.is(h.tr.stats().limits.tls_handshake, 1);
  await eventually(() => h.tr.stats().open === 0, 'its slot to be free');
});

test('maxtcpconnperip: an address has its own cap; another address is still admitted', async (t) => {
  const h = await start(t, { maxtcpconnperip: '2' });
  await client(t, h.tcp, '127.0.4.1');
  await client(t, h.tcp, '127.0.4.1');
  const third = await client(t, h.tcp, '127.0.4.1');
  await eventually(() => third.closed(), 'the third connection of 127.0.4.1 to be refused');
  t.like(limitOf(h, 'connections_per_ip'), { source: { ip: '127.0.4.1' } });
  const other = await client(t, h.tcp, '127.0.4.2');
  await sendMessage(h, other, 'z9hG4bKotherip');
  t.like(h.tr.stats(), { open: 3, limits: { connections_per_ip: 1 } });
});

test('maxtcpconnpersubnet: a /24 has its own cap; another /24 is still admitted', async (t) => {
  const h = await start(t, { maxtcpconnpersubnet: '2' });
  await client(t, h.tcp, '127.0.5.1');
  await client(t, h.tcp, '127.0.5.2');
  const third = await client(t, h.tcp, '127.0.5.3');
  await eventually(() => third.closed(), 'the third connection of 127.0.5.0/24 to be refused');
  t.like(limitOf(h, 'connections_per_subnet'), { source: { ip: '127.0.5.3' } });
  const other = await client(t, h.tcp, '127.0.6.1');
  await sendMessage(h, other, 'z9hG4bKother');
  t.is(h.tr.stats().limits.connections_per_subnet, 1);
  t.is(h.tr.stats().open, 3);
});

test('maxtcpconn: at the total the least valuable goes first; authenticated and registered ones are never evicted', async (t) => {
  const h = await start(t, { maxtcpconn: '4', sipfirstmsgtimeout: '0' });
  // Four occupants from 127.0.7.0/24, in rising value: registered, authenticated, talking, idle.
  const registered = await client(t, h.tcp, '127.0.7.1');
  const regSource = await sendMessage(h, registered, 'z9hG4bKreg');
  h.tr.markRegistered(regSource, 3600);
  const authenticated = await client(t, h.tcp, '127.0.7.2');
  const authSource = await sendMessage(h, authenticated, 'z9hG4bKauth');
  h.tr.markAuthenticated(authSource.ip, authSource.port);
  const talking = await client(t, h.tcp, '127.0.7.3');
  await sendMessage(h, talking, 'z9hG4bKtalking');
  const idle = await client(t, h.tcp, '127.0.7.4');

  // 1: the idle one goes.
  const n1 = await client(t, h.tcp, '127.0.8.1');
  await eventually(() => idle.closed(), 'the idle connection to be evicted');
  t.like(limitOf(h, 'evicted'), { source: { ip: '127.0.7.4' }, evictedFor: { ip: '127.0.8.1' } });
  // 2: the newcomer, silent so far, is worth less than the one that talks.
  const n2 = await client(t, h.tcp, '127.0.8.2');
  await eventually(() => n1.closed(), 'the silent newcomer to be evicted');
  await sendMessage(h, n2, 'z9hG4bKn2');
  // 3: both talk; the one in the busier /24 (127.0.7.0/24 holds three) goes.
  const n3 = await client(t, h.tcp, '127.0.9.1');
  await eventually(() => talking.closed(), 'the talking one from the busiest /24 to be evicted');
  t.false(n2.closed());
  await sendMessage(h, n3, 'z9hG4bKn3');
  h.tr.markAuthenticated('127.0.8.2', n2.port);
  h.tr.markAuthenticated('127.0.9.1', n3.port);
  // 4: all four have authenticated: a stranger is refused instead.
  const n4 = await client(t, h.tcp, '127.0.9.2');
  await eventually(() => n4.closed(), 'the stranger to be refused');
  t.like(limitOf(h, 'connections'), { source: { ip: '127.0.9.2' } });
  t.false(registered.closed() || authenticated.closed() || n2.closed() || n3.closed());
  t.like(h.tr.stats(), { open: 4, limits: { evicted: 3, connections: 1 } });
  await eventually(() => h.lines.filter((l) => l.limit === 'evicted').length === 3, 'log lines');
  const logged = h.lines.filter((l) => l.limit === 'evicted');
  t.like(logged[0], { ip: '127.0.7.4', for: '127.0.8.1', count: 1, level: 30 });
});

test('evicttcpconn=0: at the total a newcomer is refused, the idle holder stays', async (t) => {
  const h = await start(t, { maxtcpconn: '1', evicttcpconn: '0', sipfirstmsgtimeout: '0' });
  const holder = await client(t, h.tcp);
  const newcomer = await client(t, h.tcp, '127.0.10.1');
  await eventually(() => newcomer.closed(), 'the newcomer to be refused');
  t.like(limitOf(h, 'connections'), { source: { ip: '127.0.10.1' } });
  t.false(holder.closed());
  t.is(h.tr.stats().limits.evicted, 0);
});
