import { Writable } from 'node:stream';
import test from 'ava';
import { createLogger } from '../src/log.ts';
import { LogLimiter } from '../src/log-limit.ts';

test('lines pass up to the burst, then at the rate; the rest are counted and summarised', (t) => {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk, _e, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  let now = 0;
  const limiter = new LogLimiter(createLogger({ destination }), {
    perSecond: 10,
    burst: 5,
    now: () => now,
  });
  for (let i = 0; i < 50; i++) limiter.info({ ip: '203.0.113.9', i }, 'SIP wrong');
  t.is(lines.length, 5, 'the burst');
  now += 1000;
  for (let i = 0; i < 50; i++) limiter.info({ ip: '203.0.113.9' }, 'SIP wrong');
  t.is(lines.length, 10, 'a second later: refilled at 10 a second, up to the burst');
  now += 10_000;
  limiter.info({ ip: '198.51.100.1' }, 'SIP auth-fail');
  const summary = lines.find((l) => l.msg === 'log lines left out (too many to write)');
  t.is(summary?.suppressed, 90, 'every left-out line is counted');
  t.is(lines.at(-1)!.msg, 'SIP auth-fail', 'and lines flow again');
});
