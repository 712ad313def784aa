// The dashboard's live stream (src/webui/ui/live.ts) over a real socket: server-sent events a
// browser's EventSource reads, one sampler shared by every stream, a bound on streams, and a
// server close that does not wait for open dashboards.
import { get, type IncomingMessage } from 'node:http';
import test from 'ava';
import Fastify, { type FastifyInstance } from 'fastify';
import { LiveFeed, type LiveSample, liveRoute } from '../../src/webui/ui/live.ts';

interface Stream {
  response: IncomingMessage;
  /** Resolves with the next `sample` event's data. */
  next(): Promise<LiveSample>;
  close(): void;
}

function open(url: string): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = get(url, { headers: { accept: 'text/event-stream' } }, (response) => {
      let buffer = '';
      const queue: LiveSample[] = [];
      const waiting: Array<(s: LiveSample) => void> = [];
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffer += chunk;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (!/^event: sample$/m.test(block)) continue;
          const data = JSON.parse(/^data: (.*)$/m.exec(block)![1]!) as LiveSample;
          const w = waiting.shift();
          if (w) w(data);
          else queue.push(data);
        }
      });
      resolve({
        response,
        next: () =>
          new Promise((r) => {
            const s = queue.shift();
            if (s) r(s);
            else waiting.push(r);
          }),
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
  });
}

async function serve(
  t: import('ava').ExecutionContext,
  feed: LiveFeed,
  authenticate: Parameters<typeof liveRoute>[2] = () => undefined,
): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify();
  liveRoute(app, feed, authenticate);
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  const { port } = app.server.address() as { port: number };
  return { app, url: `http://127.0.0.1:${port}/api/v1/events` };
}

test('samples stream as text/event-stream, one kernel read per tick whatever the number of dashboards', async (t) => {
  let reads = 0;
  let flood = 0;
  const feed = new LiveFeed(
    {
      stats: async () => {
        reads++;
        flood += 500;
        return { dataplane: { mode: 'xdp' }, drops: { flood, banned: 0 }, passed: 10 };
      },
      registrations: () => 3,
      bans: () => 7,
      calls: () => 2,
      spendTodayMicros: () => 1_500_000,
    },
    { intervalMs: 50 },
  );
  const { url } = await serve(t, feed);
  const a = await open(url);
  const b = await open(url);
  t.is(a.response.statusCode, 200);
  t.regex(String(a.response.headers['content-type']), /^text\/event-stream/);
  t.is(a.response.headers['cache-control'], 'no-store');
  const first = await a.next();
  t.like(first, {
    mode: 'xdp',
    passed: 10,
    registrations: 3,
    bans: 7,
    calls: 2,
    spendTodayMicros: 1_500_000,
  });
  const second = await a.next();
  t.true(second.drops.flood! > first.drops.flood!, 'totals rise between samples');
  t.true(second.at >= first.at);
  // The second dashboard gets the very samples the first gets (every read raises the total
  // by 500, so a read of its own would show a total the first never saw).
  const fromB = [await b.next(), await b.next(), await b.next()].map((s) => s.drops.flood!);
  const fromA = new Set([first.drops.flood, second.drops.flood]);
  for (let s = second; s.drops.flood! < Math.max(...fromB); ) {
    s = await a.next();
    fromA.add(s.drops.flood);
  }
  for (const total of fromB) t.true(fromA.has(total), `${total} seen by both streams`);
  t.true(reads >= 3);
  t.is(feed.streams, 2);
  a.close();
  b.close();
  // The sampler stops once nobody listens.
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      if (feed.streams === 0) {
        clearInterval(timer);
        resolve();
      }
    }, 10);
  });
  const stopped = reads;
  await new Promise((r) => setTimeout(r, 200));
  t.true(reads - stopped <= 1, 'no reads once every stream is closed');
});

test('streams past the bound are refused with 503, and the route is behind its access check', async (t) => {
  const feed = new LiveFeed(
    {
      stats: async () => ({ drops: {}, passed: 0 }),
      registrations: () => 0,
      bans: () => 0,
    },
    { intervalMs: 50, maxStreams: 1 },
  );
  const { url } = await serve(t, feed, (req) => {
    if (req.headers['x-test-key'] !== 'ok')
      throw Object.assign(new Error('no'), { statusCode: 401 });
  });
  const refused = await open(url);
  t.is(refused.response.statusCode, 401, 'no stream without the access check passing');
  refused.close();
  const withKey = (u: string) =>
    new Promise<IncomingMessage>((resolve, reject) => {
      get(u, { headers: { 'x-test-key': 'ok' } }, resolve).on('error', reject);
    });
  const first = await withKey(url);
  t.is(first.statusCode, 200);
  const second = await withKey(url);
  t.is(second.statusCode, 503);
  t.is(second.headers['retry-after'], '10');
  first.destroy();
});

test('closing the server ends open streams instead of waiting for them', async (t) => {
  const feed = new LiveFeed(
    { stats: async () => ({ drops: {}, passed: 0 }), registrations: () => 0, bans: () => 0 },
    { intervalMs: 50 },
  );
  const { app, url } = await serve(t, feed);
  const s = await open(url);
  await s.next();
  const ended = new Promise<void>((resolve) => s.response.on('end', resolve));
  await app.close();
  await ended;
  t.is(feed.streams, 0);
});
