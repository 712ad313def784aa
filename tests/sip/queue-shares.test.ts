// QueueShares: in a crowded queue of received datagrams, an address holding more than its
// share is refused and the others still get in; what the reader consumed is given back.
import test from 'ava';
import { QueueShares } from '../../src/sip/transport/queue-shares.ts';

test('while the queue is not crowded, everything gets in', (t) => {
  const shares = new QueueShares();
  for (let i = 0; i < 1000; i++) {
    t.true(shares.admits('192.0.2.1', false));
    shares.queued('192.0.2.1');
  }
});

test('in a crowded queue a flooding address is held to its share, a newcomer gets in', (t) => {
  const shares = new QueueShares();
  for (let i = 0; i < 100; i++) shares.queued('192.0.2.66');
  t.false(shares.admits('192.0.2.66', true), 'it holds the whole queue');
  t.true(shares.admits('198.51.100.7', true));
  for (let i = 0; i < 10; i++) shares.queued('198.51.100.7');
  t.true(shares.admits('198.51.100.7', true), '10 of 110 is below its share');
  t.false(shares.admits('192.0.2.66', true), '100 of 110 is above its share');
});

test('several addresses share evenly: the one above the average waits', (t) => {
  const shares = new QueueShares();
  for (const [address, n] of [
    ['a', 30],
    ['b', 30],
    ['c', 40],
  ] as const)
    for (let i = 0; i < n; i++) shares.queued(address);
  t.true(shares.admits('a', true), '30 of 100, three addresses: under a third');
  t.false(shares.admits('c', true), '40 of 100: over a third');
});

test('what the reader consumed no longer counts against its address', (t) => {
  const shares = new QueueShares();
  for (let i = 0; i < 100; i++) shares.queued('192.0.2.66');
  shares.queued(undefined); // an answer to the main thread: no address
  shares.queued('198.51.100.7');
  t.false(shares.admits('192.0.2.66', true));
  shares.settle(100); // the flood's 100 are read
  t.is(shares.sources, 1, 'only the last datagram is still queued');
  t.true(shares.admits('192.0.2.66', true));
  shares.settle(102);
  t.is(shares.sources, 0);
});
