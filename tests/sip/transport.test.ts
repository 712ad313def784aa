// SipTransports over real sockets on loopback (127.0.0.1 and ::1), ephemeral ports.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { createServer, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import test, { type ExecutionContext } from 'ava';
import { ensureCertificate } from '../../src/crypto/certificate.ts';
import type { TollgateError } from '../../src/errors.ts';
import {
  parseMessage,
  resolveLimits,
  type SipMessage,
  SipResponse,
  serialize,
} from '../../src/sip/message/index.ts';
import {
  type LimitEvent,
  type RejectEvent,
  SipTransports,
  type Source,
  type TransportName,
  type TransportOptions,
} from '../../src/sip/transport/index.ts';
import { tempDir } from '../helpers/tmp.ts';

const WAIT_MS = 5000;

async function start(t: ExecutionContext, o: TransportOptions): Promise<SipTransports> {
  const tr = await SipTransports.start(o);
  t.teardown(() => tr.close());
  return tr;
}

function portOf(tr: SipTransports, transport: TransportName, ip = '127.0.0.1'): number {
  const a = tr.addresses().find((x) => x.transport === transport && x.ip === ip);
  if (a === undefined) throw new Error(`no ${transport} on ${ip}`);
  return a.port;
}

/** The next `event` from `emitter`, or a rejection after a bounded wait. */
function next<T extends unknown[]>(
  emitter: SipTransports,
  event: 'message' | 'reject' | 'limit',
  ms = WAIT_MS,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, on);
      reject(new Error(`no ${event} event within ${ms} ms`));
    }, ms);
    const on = (...args: unknown[]) => {
      clearTimeout(timer);
      emitter.off(event, on);
      resolve(args as T);
    };
    emitter.on(event, on);
  });
}

/** Polls a condition on server-side state until it holds (bounded). */
async function eventually(cond: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !cond(); waited += 10) {
    if (waited > WAIT_MS) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const nextMessage = (tr: SipTransports) => next<[SipMessage, Source]>(tr, 'message');
const nextReject = (tr: SipTransports) => next<[RejectEvent]>(tr, 'reject').then((a) => a[0]);
const nextLimit = (tr: SipTransports) => next<[LimitEvent]>(tr, 'limit').then((a) => a[0]);

function options(
  branch: string,
  o: { transport?: string; host?: string; rport?: boolean; extra?: string; body?: string } = {},
): string {
  const body = o.body ?? '';
  return [
    'OPTIONS sip:tollgate@127.0.0.1 SIP/2.0',
    `Via: SIP/2.0/${o.transport ?? 'UDP'} ${o.host ?? '192.0.2.10:5060'};branch=${branch}${o.rport === false ? '' : ';rport'}`,
    'Max-Forwards: 70',
    'From: <sip:alice@example.com>;tag=f1',
    'To: <sip:tollgate@127.0.0.1>',
    `Call-ID: ${branch}@example.com`,
    'CSeq: 1 OPTIONS',
    ...(o.extra === undefined ? [] : [o.extra]),
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

/** A 200 OK to `req`, as a UAS would build it (§8.2.6). */
function ok200(req: SipMessage): SipResponse {
  const res = new SipResponse(200, 'OK', [], Buffer.alloc(0));
  for (const v of req.headerValues('via')) res.addHeader('Via', v);
  res.addHeader('From', req.header('from')!);
  res.addHeader('To', `${req.header('to')!};tag=t1`);
  res.addHeader('Call-ID', req.header('call-id')!);
  res.addHeader('CSeq', req.header('cseq')!);
  return res;
}

interface UdpClient {
  socket: UdpSocket;
  port: number;
  send(text: string | Buffer, port: number, host?: string): void;
  /** The next datagram, bounded. */
  receive(): Promise<Buffer>;
}

async function udpClient(t: ExecutionContext, family: 4 | 6 = 4): Promise<UdpClient> {
  const socket = createSocket(family === 4 ? 'udp4' : 'udp6');
  const host = family === 4 ? '127.0.0.1' : '::1';
  socket.bind(0, host);
  await once(socket, 'listening');
  t.teardown(() => socket.close());
  const queue: Buffer[] = [];
  const waiters: Array<(b: Buffer) => void> = [];
  socket.on('message', (m) => {
    const w = waiters.shift();
    if (w) w(m);
    else queue.push(m);
  });
  return {
    socket,
    port: socket.address().port,
    send: (text, port, to = host) => socket.send(Buffer.from(text), port, to),
    receive: () =>
      new Promise((resolve, reject) => {
        const q = queue.shift();
        if (q) return resolve(q);
        const timer = setTimeout(() => reject(new Error('no datagram')), WAIT_MS);
        waiters.push((b) => {
          clearTimeout(timer);
          resolve(b);
        });
      }),
  };
}

/** Collects what a stream client receives; `until` waits (bounded) for a condition on it. */
function collector<S extends Socket>(sock: S) {
  let data = Buffer.alloc(0);
  let closed = false;
  const listeners: Array<() => void> = [];
  const poke = () => {
    for (const l of listeners.splice(0)) l();
  };
  sock.on('data', (d: Buffer) => {
    data = Buffer.concat([data, d]);
    poke();
  });
  sock.on('close', () => {
    closed = true;
    poke();
  });
  sock.on('error', () => {});
  return {
    sock,
    get data() {
      return data;
    },
    get closed() {
      return closed;
    },
    until(cond: () => boolean, what: string): Promise<void> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), WAIT_MS);
        const check = () => {
          if (cond()) {
            clearTimeout(timer);
            resolve();
          } else listeners.push(check);
        };
        check();
      });
    },
  };
}

async function tcpClient(t: ExecutionContext, port: number, host = '127.0.0.1') {
  const sock = netConnect({ port, host });
  t.teardown(() => {
    sock.destroy();
  });
  const c = collector(sock);
  await once(sock, 'connect');
  return c;
}

// ---- UDP

test('UDP: a request is parsed, its real source reported, received/rport stamped', async (t) => {
  const tr = await start(t, { udp: [{ ip: '127.0.0.1', port: 0 }] });
  const client = await udpClient(t);
  const got = nextMessage(tr);
  client.send(options('z9hG4bKudp1'), portOf(tr, 'udp'));
  const [msg, source] = await got;
  t.is(msg.kind, 'request');
  t.like(source, { transport: 'udp', ip: '127.0.0.1', port: client.port });
  t.is(source.connectionId, undefined);
  const top = msg.topVia()!;
  t.is(top.received, '127.0.0.1', 'sent-by 192.0.2.10 is not where it came from');
  t.is(top.rport, client.port);

  // The response goes back to received:rport, i.e. this client, not to 192.0.2.10:5060.
  await tr.respond(ok200(msg), source);
  const res = parseMessage(await client.receive());
  t.true(res.ok);
  if (res.ok && res.message.kind === 'response') {
    t.is(res.message.status, 200);
    t.is(res.message.topVia()!.rport, client.port);
  }
});

test('UDP: a malformed request is rejected, reported and answered with 400', async (t) => {
  const tr = await start(t, { udp: [{ ip: '127.0.0.1', port: 0 }] });
  const client = await udpClient(t);
  const rejected = nextReject(tr);
  client.send(options('z9hG4bKbad', { extra: 'this line has no colon' }), portOf(tr, 'udp'));
  const ev = await rejected;
  t.like(ev, {
    reason: 'bad_header',
    status: 400,
    responded: true,
    source: { transport: 'udp', ip: '127.0.0.1', port: client.port },
  });
  const r = parseMessage(await client.receive());
  t.true(r.ok);
  if (r.ok && r.message.kind === 'response') {
    t.is(r.message.status, 400);
    t.is(r.message.callId(), 'z9hG4bKbad@example.com');
    t.is(r.message.topVia()!.branch, 'z9hG4bKbad');
  }
});

test('UDP: an unsupported SIP version gets 505; an oversized datagram gets 513', async (t) => {
  const tr = await start(t, {
    udp: [{ ip: '127.0.0.1', port: 0 }],
    limits: resolveLimits({ maxMessageBytes: 1500 }),
  });
  const client = await udpClient(t);
  const port = portOf(tr, 'udp');
  let rejected = nextReject(tr);
  client.send(
    options('z9hG4bKv3').replace(
      'OPTIONS sip:tollgate@127.0.0.1 SIP/2.0',
      'OPTIONS sip:tollgate@127.0.0.1 SIP/3.0',
    ),
    port,
  );
  t.like(await rejected, { reason: 'unsupported_version', status: 505, responded: true });
  let r = parseMessage(await client.receive());
  t.true(r.ok && r.message.kind === 'response' && r.message.status === 505);

  rejected = nextReject(tr);
  client.send(options('z9hG4bKbig', { body: 'x'.repeat(3000) }), port);
  t.like(await rejected, { reason: 'message_too_large', status: 513 });
  r = parseMessage(await client.receive());
  t.true(r.ok && r.message.kind === 'response' && r.message.status === 513);
});

test('UDP: a malformed response is reported but never answered', async (t) => {
  const tr = await start(t, { udp: [{ ip: '127.0.0.1', port: 0 }] });
  const client = await udpClient(t);
  const port = portOf(tr, 'udp');
  const rejected = nextReject(tr);
  client.send(
    'SIP/2.0 99 Too Low\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKr\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: r1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n',
    port,
  );
  const ev = await rejected;
  t.is(ev.reason, 'bad_status_code');
  t.is(ev.status, undefined);
  t.false(ev.responded);
  // Order on loopback is kept: if the response had been answered, that answer would arrive
  // before the 400 to this malformed request.
  client.send(options('z9hG4bKafter', { extra: 'no colon here' }), port);
  const first = parseMessage(await client.receive());
  t.true(first.ok);
  if (first.ok) t.is(first.message.callId(), 'z9hG4bKafter@example.com');
});

test('UDP: a CRLFCRLF keepalive ping is answered with a CRLF pong, and is no offence', async (t) => {
  const tr = await start(t, { udp: [{ ip: '127.0.0.1', port: 0 }] });
  const client = await udpClient(t);
  let rejects = 0;
  tr.on('reject', () => rejects++);
  client.send('\r\n\r\n', portOf(tr, 'udp'));
  t.is((await client.receive()).toString('latin1'), '\r\n');
  t.is(rejects, 0);
});

// ---- TCP

test('TCP: framing across split writes and two messages in one write; reply on the same connection', async (t) => {
  const tr = await start(t, { tcp: [{ ip: '127.0.0.1', port: 0 }] });
  const got: Array<[SipMessage, Source]> = [];
  tr.on('message', (m, s) => got.push([m, s]));
  const c = await tcpClient(t, portOf(tr, 'tcp'));
  const one = options('z9hG4bKt1', { transport: 'TCP', body: 'hello body' });
  const cut = one.indexOf('Call-ID') + 3;
  c.sock.write(one.slice(0, cut));
  await new Promise((r) => setTimeout(r, 20));
  c.sock.write(one.slice(cut));
  c.sock.write(
    options('z9hG4bKt2', { transport: 'TCP' }) + options('z9hG4bKt3', { transport: 'TCP' }),
  );
  await eventually(() => got.length === 3, 'three messages');
  t.deepEqual(
    got.map(([m]) => m.topVia()!.branch),
    ['z9hG4bKt1', 'z9hG4bKt2', 'z9hG4bKt3'],
  );
  t.is(got[0]![0].body.toString(), 'hello body');
  const source = got[0]![1];
  t.is(source.transport, 'tcp');
  t.is(source.port, c.sock.localPort ?? -1);
  t.truthy(source.connectionId);
  t.is(got[2]![1].connectionId, source.connectionId);

  // The response goes back over this connection, not to the sent-by address.
  await tr.respond(ok200(got[1]![0]), source);
  await c.until(() => c.data.includes('\r\n\r\n'), 'the 200');
  const r = parseMessage(c.data, { transport: 'stream' });
  t.true(r.ok && r.message.kind === 'response' && r.message.status === 200);
  t.is(tr.connectionCount, 1, 'no second connection was opened');
});

test('TCP: a message over the size limit closes the connection with a reject (and a 513)', async (t) => {
  const tr = await start(t, {
    tcp: [{ ip: '127.0.0.1', port: 0 }],
    limits: resolveLimits({ maxMessageBytes: 2000 }),
  });
  const c = await tcpClient(t, portOf(tr, 'tcp'));
  const rejected = nextReject(tr);
  const head = options('z9hG4bKhuge', { transport: 'TCP' }).replace(
    /Content-Length: 0\r\n\r\n$/,
    '',
  );
  c.sock.write(head);
  for (let i = 0; i < 100 && !c.closed; i++) {
    c.sock.write(`X-Padding-${i}: ${'p'.repeat(40)}\r\n`);
  }
  const ev = await rejected;
  t.is(ev.reason, 'message_too_large');
  t.is(ev.source.transport, 'tcp');
  await c.until(() => c.closed, 'the server to close');
  t.regex(c.data.toString('latin1'), /^SIP\/2\.0 513 /);
  await eventually(() => tr.connectionCount === 0, 'the slot to be freed');
});

test('TCP: a malformed message gets 400 and the connection is closed (framing is lost)', async (t) => {
  const tr = await start(t, { tcp: [{ ip: '127.0.0.1', port: 0 }] });
  const c = await tcpClient(t, portOf(tr, 'tcp'));
  const rejected = nextReject(tr);
  c.sock.write(options('z9hG4bKnocl', { transport: 'TCP' }).replace('Content-Length: 0\r\n', ''));
  t.like(await rejected, { reason: 'missing_content_length', status: 400, responded: true });
  await c.until(() => c.closed, 'close');
  t.regex(c.data.toString('latin1'), /^SIP\/2\.0 400 /);
});

test('TCP: connections beyond the per-source limit are refused; the others keep working', async (t) => {
  const tr = await start(t, { tcp: [{ ip: '127.0.0.1', port: 0 }], maxConnectionsPerIp: 2 });
  const port = portOf(tr, 'tcp');
  const a = await tcpClient(t, port);
  const b = await tcpClient(t, port);
  const limited = nextLimit(tr);
  const third = await tcpClient(t, port);
  const ev = await limited;
  t.is(ev.limit, 'connections_per_ip');
  t.is(ev.source.ip, '127.0.0.1');
  await third.until(() => third.closed, 'the third connection to be closed');
  t.is(tr.connectionCount, 2);
  // The admitted ones still carry messages.
  const got = nextMessage(tr);
  b.sock.write(options('z9hG4bKstill', { transport: 'TCP' }));
  t.is((await got)[0].topVia()!.branch, 'z9hG4bKstill');
  // Closing one frees a slot for a new connection.
  a.sock.destroy();
  await eventually(() => tr.connectionCount === 1, 'slot freed');
  const d = await tcpClient(t, port);
  const got2 = nextMessage(tr);
  d.sock.write(options('z9hG4bKnew', { transport: 'TCP' }));
  t.is((await got2)[0].topVia()!.branch, 'z9hG4bKnew');
});

test('TCP: a silent connection is closed after the idle timeout', async (t) => {
  const tr = await start(t, { tcp: [{ ip: '127.0.0.1', port: 0 }], idleTimeoutMs: 200 });
  const c = await tcpClient(t, portOf(tr, 'tcp'));
  const limited = nextLimit(tr);
  await c.until(() => c.closed, 'the idle connection to be closed');
  t.like(await limited, { limit: 'idle_timeout', source: { transport: 'tcp', ip: '127.0.0.1' } });
  await eventually(() => tr.connectionCount === 0, 'the slot to be freed');
  t.pass();
});

test('TCP: a double-CRLF ping is answered with a CRLF pong', async (t) => {
  const tr = await start(t, { tcp: [{ ip: '127.0.0.1', port: 0 }] });
  const c = await tcpClient(t, portOf(tr, 'tcp'));
  c.sock.write('\r\n\r\n');
  await c.until(() => c.data.length >= 2, 'pong');
  t.is(c.data.toString('latin1'), '\r\n');
});

test('send() opens an outbound TCP connection when none is open, bounded in number', async (t) => {
  const tr = await start(t, { tcp: [{ ip: '127.0.0.1', port: 0 }], maxOutboundConnections: 1 });
  const peers: Array<{ port: number; received: () => Buffer }> = [];
  for (let i = 0; i < 2; i++) {
    let data = Buffer.alloc(0);
    const server = createServer((s) => s.on('data', (d) => (data = Buffer.concat([data, d]))));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    t.teardown(() => server.close());
    const addr = server.address();
    peers.push({ port: typeof addr === 'object' && addr ? addr.port : 0, received: () => data });
  }
  const req = parseMessage(Buffer.from(options('z9hG4bKout', { transport: 'TCP' })));
  if (!req.ok) return t.fail();
  await tr.send(req.message, { transport: 'tcp', ip: '127.0.0.1', port: peers[0]!.port });
  // A second send to the same peer reuses the connection.
  await tr.send(Buffer.from('\r\n\r\n'), {
    transport: 'tcp',
    ip: '127.0.0.1',
    port: peers[0]!.port,
  });
  t.is(tr.connectionCount, 1);
  const err = await t.throwsAsync<TollgateError>(
    tr.send(req.message, { transport: 'tcp', ip: '127.0.0.1', port: peers[1]!.port }),
  );
  t.is(err?.code, 'TG_TRANSPORT_CONNECTION_LIMIT');
  await eventually(() => peers[0]!.received().includes('\r\n\r\n\r\n\r\n'), 'both sends');
  t.true(parseMessage(peers[0]!.received(), { transport: 'stream' }).ok);
});

test('dispatch(): the transaction layer hand-off, synchronous verdict, later failures reported', async (t) => {
  const tr = await start(t, {
    udp: [{ ip: '127.0.0.1', port: 0 }],
    tcp: [{ ip: '127.0.0.1', port: 0 }],
  });
  const client = await udpClient(t);
  const got = nextMessage(tr);
  client.send(options('z9hG4bKdisp'), portOf(tr, 'udp'));
  const [msg, source] = await got;
  // A response is given the request's source and routed per §18.2.2 (here: rport).
  t.true(tr.dispatch(ok200(msg), source));
  const r = parseMessage(await client.receive());
  t.true(r.ok && r.message.kind === 'response' && r.message.status === 200);
  // Known at once: not an address.
  t.false(tr.dispatch(msg, { transport: 'udp', ip: 'nowhere', port: 5060 }));
  // Known later: nobody listens on the TCP port the request is sent to.
  const closed = createServer();
  closed.listen(0, '127.0.0.1');
  await once(closed, 'listening');
  const addr = closed.address();
  const deadPort = typeof addr === 'object' && addr ? addr.port : 0;
  await new Promise<void>((r) => closed.close(() => r()));
  const failure = new Promise<Error>((resolve) => {
    t.true(tr.dispatch(msg, { transport: 'tcp', ip: '127.0.0.1', port: deadPort }, resolve));
  });
  const err = (await failure) as TollgateError;
  t.is(err.code, 'TG_TRANSPORT_SEND_FAILED');
  await eventually(() => tr.connectionCount === 0, 'the failed connection to be released');
});

// ---- TLS

test('TLS: a REGISTER over TLS with the self-signed certificate, answered on the same connection', async (t) => {
  const cert = ensureCertificate(tempDir(t));
  const tr = await start(t, {
    tls: [{ ip: '127.0.0.1', port: 0 }],
    tlsCredentials: cert,
  });
  const sock = tlsConnect({ host: '127.0.0.1', port: portOf(tr, 'tls'), ca: cert.cert });
  t.teardown(() => sock.destroy());
  const c = collector(sock);
  await once(sock, 'secureConnect');
  t.true(sock.authorized, 'the generated certificate verifies for 127.0.0.1');
  t.regex(String(sock.getProtocol()), /^TLSv1\.[23]$/);
  const got = nextMessage(tr);
  sock.write(
    [
      'REGISTER sip:127.0.0.1 SIP/2.0',
      'Via: SIP/2.0/TLS 10.1.1.1:5061;branch=z9hG4bKreg;rport',
      'Max-Forwards: 70',
      'From: <sips:alice@127.0.0.1>;tag=r1',
      'To: <sips:alice@127.0.0.1>',
      'Call-ID: reg1',
      'CSeq: 1 REGISTER',
      'Contact: <sips:alice@10.1.1.1:5061;transport=tls>',
      'Expires: 600',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
  const [msg, source] = await got;
  t.is(msg.kind === 'request' ? msg.method : '', 'REGISTER');
  t.is(source.transport, 'tls');
  t.is(source.port, sock.localPort ?? -1);
  t.is(msg.topVia()!.received, '127.0.0.1');
  await tr.respond(ok200(msg), source);
  await c.until(() => c.data.includes('\r\n\r\n'), '200 over TLS');
  const r = parseMessage(c.data, { transport: 'stream' });
  t.true(r.ok && r.message.kind === 'response' && r.message.status === 200);
});

test('TLS: clients offering only TLS 1.1 or older are refused', async (t) => {
  const cert = ensureCertificate(tempDir(t));
  const tr = await start(t, { tls: [{ ip: '127.0.0.1', port: 0 }], tlsCredentials: cert });
  const sock = tlsConnect({
    host: '127.0.0.1',
    port: portOf(tr, 'tls'),
    rejectUnauthorized: false,
    minVersion: 'TLSv1',
    maxVersion: 'TLSv1.1',
    ciphers: 'DEFAULT@SECLEVEL=0',
  });
  const [err] = (await once(sock, 'error')) as [Error & { code?: string }];
  t.regex(`${err.code} ${err.message}`, /VERSION|PROTOCOL|alert/i);
  t.is(tr.connectionCount, 0);
});

test('TLS: a client that never completes the handshake is cut off', async (t) => {
  const cert = ensureCertificate(tempDir(t));
  const tr = await start(t, {
    tls: [{ ip: '127.0.0.1', port: 0 }],
    tlsCredentials: cert,
    tlsHandshakeTimeoutMs: 200,
  });
  const limited = nextLimit(tr);
  const c = await tcpClient(t, portOf(tr, 'tls'));
  t.like(await limited, { limit: 'tls_handshake', source: { transport: 'tls', ip: '127.0.0.1' } });
  await c.until(() => c.closed, 'the connection to be closed');
  await eventually(() => tr.connectionCount === 0, 'its slot to be released');
});

test('TCP: a peer that stops reading is dropped once too much is queued for it', async (t) => {
  const tr = await start(t, { tcp: [{ ip: '127.0.0.1', port: 0 }] });
  const c = await tcpClient(t, portOf(tr, 'tcp'));
  const got = nextMessage(tr);
  c.sock.write(options('z9hG4bKslow', { transport: 'TCP' }));
  const [, source] = await got;
  c.sock.pause();
  const chunk = Buffer.alloc(64 * 1024, 0x78);
  const errors: string[] = [];
  const sends: Promise<void>[] = [];
  // Far more than the kernel's socket buffers absorb on loopback.
  for (let i = 0; i < 640 && errors.length === 0; i++) {
    sends.push(
      tr.send(chunk, source).catch((e: Error) => {
        errors.push(e.message);
      }),
    );
    if (i % 16 === 15) await new Promise((r) => setImmediate(r));
  }
  await Promise.all(sends);
  t.true(
    errors.some((m) => /does not read/.test(m)),
    errors[0],
  );
  await eventually(() => tr.connectionCount === 0, 'the connection to be dropped');
});

test('TCP: without eviction the total connection limit refuses newcomers', async (t) => {
  const tr = await start(t, {
    tcp: [{ ip: '127.0.0.1', port: 0 }],
    maxConnections: 1,
    evictConnections: false,
  });
  await tcpClient(t, portOf(tr, 'tcp'));
  const limited = nextLimit(tr);
  const second = await tcpClient(t, portOf(tr, 'tcp'));
  t.is((await limited).limit, 'connections');
  await second.until(() => second.closed, 'the second connection to be closed');
  t.like(tr.stats(), { open: 1, limits: { connections: 1, evicted: 0 } });
});

test('TCP: at the total, a connection that never sent a message is evicted for a newcomer', async (t) => {
  const tr = await start(t, { tcp: [{ ip: '127.0.0.1', port: 0 }], maxConnections: 1 });
  const idle = await tcpClient(t, portOf(tr, 'tcp'));
  const idlePort = idle.sock.localPort!;
  const limited = nextLimit(tr);
  const second = await tcpClient(t, portOf(tr, 'tcp'));
  const ev = await limited;
  t.is(ev.limit, 'evicted');
  t.is(ev.source.port, idlePort);
  t.is(ev.evictedFor?.port, second.sock.localPort);
  await idle.until(() => idle.closed, 'the idle connection to be evicted');
  const got = nextMessage(tr);
  second.sock.write(options('z9hG4bKnewcomer', { transport: 'TCP' }));
  t.is((await got)[0].topVia()!.branch, 'z9hG4bKnewcomer');
  t.like(tr.stats(), { open: 1, limits: { evicted: 1, connections: 0 } });
});

test('TLS: listeners without credentials are a configuration error', (t) => {
  const err = t.throws<TollgateError>(
    () => new SipTransports({ tls: [{ ip: '127.0.0.1', port: 0 }] }),
  );
  t.is(err?.code, 'TG_TRANSPORT_NO_TLS_CREDENTIALS');
});

// ---- IPv6

test('IPv6 on ::1: UDP and TCP messages with their source, received in IPv6 form', async (t) => {
  const tr = await start(t, { udp: [{ ip: '::1', port: 0 }], tcp: [{ ip: '::1', port: 0 }] });
  const client = await udpClient(t, 6);
  let got = nextMessage(tr);
  client.send(options('z9hG4bKv6u', { host: '[2001:db8::10]:5060' }), portOf(tr, 'udp', '::1'));
  let [msg, source] = await got;
  t.like(source, { transport: 'udp', ip: '::1', port: client.port });
  t.is(msg.topVia()!.received, '::1');
  await tr.respond(ok200(msg), source);
  const r = parseMessage(await client.receive());
  t.true(r.ok && r.message.kind === 'response');

  const c = await tcpClient(t, portOf(tr, 'tcp', '::1'), '::1');
  got = nextMessage(tr);
  c.sock.write(options('z9hG4bKv6t', { transport: 'TCP', host: '[::1]:5060', rport: false }));
  [msg, source] = await got;
  t.like(source, { transport: 'tcp', ip: '::1' });
  t.is(msg.topVia()!.received, undefined, 'sent-by [::1] is the source: nothing to add');
});

test('dual stack on "::": an IPv4 client appears with its plain IPv4 address and gets its answer', async (t) => {
  const tr = await start(t, { udp: [{ ip: '::', port: 0 }] });
  const client = await udpClient(t, 4);
  const got = nextMessage(tr);
  client.send(options('z9hG4bKdual'), portOf(tr, 'udp', '::'));
  const [msg, source] = await got;
  t.is(source.ip, '127.0.0.1', 'not ::ffff:127.0.0.1');
  t.is(msg.topVia()!.received, '127.0.0.1');
  await tr.respond(ok200(msg), source);
  const r = parseMessage(await client.receive());
  t.true(r.ok && r.message.kind === 'response' && r.message.status === 200);
});

// ---- life cycle

test('a port already in use fails with an error naming the port', async (t) => {
  const blocker = createServer();
  blocker.listen(0, '127.0.0.1');
  await once(blocker, 'listening');
  t.teardown(() => blocker.close());
  const addr = blocker.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const tr = new SipTransports({
    udp: [{ ip: '127.0.0.1', port: 0 }],
    tcp: [{ ip: '127.0.0.1', port }],
  });
  const err = await t.throwsAsync<TollgateError>(tr.listen());
  t.is(err?.code, 'TG_TRANSPORT_PORT_IN_USE');
  t.regex(err!.message, new RegExp(`TCP on 127\\.0\\.0\\.1 port ${port}.*sipport`));
  t.deepEqual(tr.addresses(), [], 'what was bound before the failure is released');
});

test('close() stops listening and closes open connections', async (t) => {
  const tr = await SipTransports.start({
    udp: [{ ip: '127.0.0.1', port: 0 }],
    tcp: [{ ip: '127.0.0.1', port: 0 }],
  });
  const tcpPort = portOf(tr, 'tcp');
  const udpPort = portOf(tr, 'udp');
  const c = await tcpClient(t, tcpPort);
  await eventually(() => tr.connectionCount === 1, 'accepted');
  await tr.close();
  await c.until(() => c.closed, 'the client connection to be closed');
  // Both ports can be bound again.
  const again = await start(t, {
    udp: [{ ip: '127.0.0.1', port: udpPort }],
    tcp: [{ ip: '127.0.0.1', port: tcpPort }],
  });
  t.is(portOf(again, 'tcp'), tcpPort);
  const err = await t.throwsAsync<TollgateError>(
    tr.send(Buffer.from('x'), { transport: 'udp', ip: '127.0.0.1', port: 9 }),
  );
  t.is(err?.code, 'TG_TRANSPORT_CLOSED');
});

test('send() refuses destinations that are not IP addresses', async (t) => {
  const tr = await start(t, { udp: [{ ip: '127.0.0.1', port: 0 }] });
  const err = await t.throwsAsync<TollgateError>(
    tr.send(Buffer.from('x'), { transport: 'udp', ip: 'evil.example', port: 5060 }),
  );
  t.is(err?.code, 'TG_TRANSPORT_BAD_DESTINATION');
  const err6 = await t.throwsAsync<TollgateError>(
    tr.send(Buffer.from('x'), { transport: 'udp', ip: '::1', port: 5060 }),
  );
  t.is(err6?.code, 'TG_TRANSPORT_NOT_LISTENING', 'no IPv6 socket to send from');
});

test('serialize is what goes on the wire', (t) => {
  // Guard against a response built by ok200 failing to serialize (keeps the helpers honest).
  const r = parseMessage(Buffer.from(options('z9hG4bKser')));
  t.true(r.ok);
  if (r.ok) t.true(parseMessage(serialize(ok200(r.message))).ok);
});
