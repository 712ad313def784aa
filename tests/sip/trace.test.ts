// loglevel=debug: the daemon writes one line per request and response (method, Call-ID,
// source, transport, outcome), and never a secret from them.
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import test from 'ava';
import { startDaemon, testConfig } from '../helpers/daemon.ts';
import { tempDir } from '../helpers/tmp.ts';

function register(port: number, callId: string, authorization?: string): Buffer {
  return Buffer.from(
    [
      'REGISTER sip:127.0.0.1 SIP/2.0',
      `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK${callId};rport`,
      'Max-Forwards: 70',
      'From: <sip:alice@127.0.0.1>;tag=t1',
      'To: <sip:alice@127.0.0.1>',
      `Call-ID: ${callId}`,
      'CSeq: 1 REGISTER',
      `Contact: <sip:alice@127.0.0.1:${port}>`,
      ...(authorization ? [`Authorization: ${authorization}`] : []),
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
}

async function exchange(sipPort: number, make: (localPort: number) => Buffer): Promise<string> {
  const sock = createSocket('udp4');
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  try {
    const reply = new Promise<string>((resolve) => sock.once('message', (m) => resolve(String(m))));
    sock.send(make(sock.address().port), sipPort, '127.0.0.1');
    return await reply;
  } finally {
    sock.close();
  }
}

async function waitFor(read: () => string, pattern: RegExp): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!pattern.test(read())) {
    if (Date.now() > deadline) throw new Error(`no log line matching ${pattern}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const SECRET_RESPONSE = '0123456789abcdef0123456789abcdef';

test('loglevel=debug: one line per request and response, with Call-ID, source, transport and outcome; no secret', async (t) => {
  const dataDir = tempDir(t);
  const configFile = await testConfig(dataDir, { loglevel: 'debug' });
  const daemon = await startDaemon(t, { dataDir, configFile });
  const sipPort = Number(/^sipport = (\d+)/m.exec(readFileSync(configFile, 'utf8'))![1]);
  const reply = await exchange(sipPort, (p) => register(p, 'trace-call-1'));
  t.regex(reply, /^SIP\/2\.0 401/);
  const auth = `Digest username="alice", realm="tollgate", nonce="x", uri="sip:127.0.0.1", response="${SECRET_RESPONSE}"`;
  await exchange(sipPort, (p) => register(p, 'trace-call-2', auth));
  await waitFor(daemon.log, /"callId":"trace-call-2".*"SIP 4\d\d sent"/);

  const lines = daemon
    .log()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const about = (callId: string) => lines.filter((l) => l.callId === callId);
  const first = about('trace-call-1');
  t.like(first[0], {
    level: 20,
    msg: 'SIP REGISTER received',
    dir: 'in',
    method: 'REGISTER',
    ip: '127.0.0.1',
    transport: 'udp',
    outcome: 'accepted',
  });
  t.like(first[1], { msg: 'SIP 401 sent', dir: 'out', status: 401, transport: 'udp' });
  t.is(first.length, 2, 'one line each way');
  t.true(about('trace-call-2').length >= 2);
  t.false(daemon.log().includes(SECRET_RESPONSE), 'the digest response is never logged');
});

test('loglevel=info: no per-request lines', async (t) => {
  const dataDir = tempDir(t);
  const configFile = await testConfig(dataDir);
  const daemon = await startDaemon(t, { dataDir, configFile });
  const sipPort = Number(/^sipport = (\d+)/m.exec(readFileSync(configFile, 'utf8'))![1]);
  await exchange(sipPort, (p) => register(p, 'quiet-call'));
  t.false(daemon.log().includes('quiet-call'));
});
