// UdpEndpoint.sendNow holds datagrams until the end of the event-loop turn and sends them
// together (one wake-up of the peer per burst). What it is given must all arrive, in order,
// even when the socket is closed in the same turn.
import { createSocket, type Socket } from 'node:dgram';
import test from 'ava';
import { UdpEndpoint } from '../../src/sip/transport/udp.ts';

async function listener(): Promise<{ socket: Socket; port: number; got: string[] }> {
  const socket = createSocket('udp4');
  const got: string[] = [];
  socket.on('message', (m) => got.push(m.toString()));
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  return { socket, port: socket.address().port, got };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
}

test('a burst sent in one turn arrives whole and in order', async (t) => {
  const peer = await listener();
  const ep = new UdpEndpoint({ ip: '127.0.0.1', port: 0 }, () => {});
  await ep.open();
  t.teardown(() => {
    peer.socket.close();
    return ep.close();
  });
  const sent = Array.from({ length: 50 }, (_, i) => `answer ${i}`);
  for (const s of sent) ep.sendNow(Buffer.from(s), '127.0.0.1', peer.port);
  t.deepEqual(peer.got, [], 'nothing leaves before the turn ends');
  await until(() => peer.got.length === sent.length);
  t.deepEqual(peer.got, sent);
});

test('closing the socket sends what was already handed over, and refuses more', async (t) => {
  const peer = await listener();
  t.teardown(() => peer.socket.close());
  const ep = new UdpEndpoint({ ip: '127.0.0.1', port: 0 }, () => {});
  await ep.open();
  ep.sendNow(Buffer.from('last words'), '127.0.0.1', peer.port);
  await ep.close();
  t.throws(() => ep.sendNow(Buffer.from('too late'), '127.0.0.1', peer.port), {
    message: /closed/,
  });
  await until(() => peer.got.length > 0);
  t.deepEqual(peer.got, ['last words']);
});

test('a datagram too large for UDP is refused at once', async (t) => {
  const ep = new UdpEndpoint({ ip: '127.0.0.1', port: 0 }, () => {});
  await ep.open();
  t.teardown(() => ep.close());
  t.throws(() => ep.sendNow(Buffer.alloc(70_000), '127.0.0.1', 9), { instanceOf: RangeError });
});

test('a datagram sent at once does not overtake those held before it (an ACK, then a re-INVITE)', async (t) => {
  const peer = await listener();
  const ep = new UdpEndpoint({ ip: '127.0.0.1', port: 0 }, () => {});
  await ep.open();
  t.teardown(() => {
    peer.socket.close();
    return ep.close();
  });
  ep.sendNow(Buffer.from('ACK'), '127.0.0.1', peer.port);
  await ep.send(Buffer.from('INVITE'), '127.0.0.1', peer.port);
  await until(() => peer.got.length === 2);
  t.deepEqual(peer.got, ['ACK', 'INVITE']);
});
