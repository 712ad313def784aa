// The UDP thread receives while the main thread is busy, and queues what it receives for it.
// When that queue is crowded, an address flooding it is held to its fair share and every other
// address's datagrams still get through; what was dropped, and why, shows in the counters.
import { spawn, spawnSync } from 'node:child_process';
import test from 'ava';
import { UdpEndpoint } from '../../src/sip/transport/udp.ts';
import { udpQueueStats } from '../../src/sip/transport/udp-thread.ts';

/** A child process sending datagrams from `from` to 127.0.0.1:`port`. */
function senderScript(from: string, port: number, body: string): string {
  return `
    import { createSocket } from 'node:dgram';
    const s = createSocket('udp4');
    s.bind(0, '${from}', () => { ${body} });
    const send = (data, done) => s.send(data, ${port}, '127.0.0.1', done);`;
}

test('a flood from one address is held to its share of the queue; another address still gets through', async (t) => {
  const received = new Map<string, number>();
  const bodies: string[] = [];
  const ep = new UdpEndpoint({ ip: '127.0.0.1', port: 0 }, (data, address) => {
    received.set(address, (received.get(address) ?? 0) + 1);
    if (address === '127.0.0.3') bodies.push(data.toString());
  });
  await ep.open();
  t.teardown(() => ep.close());
  const port = ep.local.port;
  const before = udpQueueStats();

  // 20,000 datagrams of 1,000 octets a second: the UDP thread keeps up with it, the main
  // thread (blocked below) does not read any of them.
  const flood = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      senderScript(
        '127.0.0.2',
        port,
        `const data = Buffer.alloc(1000, 97);
         const burst = () => { for (let i = 0; i < 100; i++) send(data); setTimeout(burst, 5); };
         burst();`,
      ),
    ],
    { stdio: 'ignore' },
  );
  t.teardown(() => flood.kill('SIGKILL'));

  // The main thread is busy (this loop) until the flood has filled half of the queue and is
  // being refused: the counter says so, read across threads.
  const deadline = Date.now() + 60_000;
  while (udpQueueStats().receivedOverShare === before.receivedOverShare) {
    if (Date.now() > deadline) {
      t.fail('the flood was never held to its share');
      return;
    }
  }
  // Still busy: another address sends 20 datagrams while the flood goes on.
  const other = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      senderScript(
        '127.0.0.3',
        port,
        `let left = 20;
         for (let i = 0; i < 20; i++) send(Buffer.from('INVITE ' + i), () => { if (--left === 0) s.close(); });`,
      ),
    ],
    { encoding: 'utf8' },
  );
  t.is(other.status, 0, other.stderr);
  flood.kill('SIGKILL');

  // Back to the event loop: everything queued is read.
  for (let i = 0; i < 1000 && (received.get('127.0.0.3') ?? 0) < 20; i++)
    await new Promise((r) => setTimeout(r, 10));
  t.deepEqual(
    bodies,
    Array.from({ length: 20 }, (_, i) => `INVITE ${i}`),
    'every datagram of the other address arrived, in order',
  );
  const after = udpQueueStats();
  t.true(
    after.receivedOverShare > before.receivedOverShare,
    'the flood was refused past its share',
  );
  t.is(after.receivedQueueFull, before.receivedQueueFull, 'the queue itself never overflowed');
  t.true((received.get('127.0.0.2') ?? 0) > 1000, 'the flood had its share read');
});
