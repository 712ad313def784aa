import { Writable } from 'node:stream';
import test from 'ava';
import { createLogger } from '../src/log.ts';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  return { lines, destination };
}

test('secrets are censored at the top level and one level deep', (t) => {
  const { lines, destination } = capture();
  const log = createLogger({ destination });
  log.info(
    { ip: '10.1.2.3', password: 'hunter2', auth: { response: 'abc123', username: 'bob' } },
    'x',
  );
  const text = JSON.stringify(lines);
  t.false(text.includes('hunter2'));
  t.false(text.includes('abc123'));
  t.is(lines[0]!.ip, '10.1.2.3');
  t.deepEqual(lines[0]!.auth, { response: '[redacted]', username: 'bob' });
});

test('secrets are censored in an error and in a field that is not an object, the caller’s object untouched', (t) => {
  const { lines, destination } = capture();
  const log = createLogger({ destination });
  const err = Object.assign(new Error('bad login'), { token: 's3cret-token', code: 'E1' });
  const fields = { user: 'bob', secret: { nested: 'deep' }, err, n: 3, list: ['a'] };
  log.warn(fields, 'y');
  log.info({ callId: 'c1', seconds: 0 }, 'plain');
  const text = JSON.stringify(lines);
  t.false(text.includes('s3cret-token'));
  t.false(text.includes('deep'));
  t.is(lines[0]!.secret, '[redacted]');
  const logged = lines[0]!.err as Record<string, unknown>;
  t.is(logged.message, 'bad login');
  t.is(logged.code, 'E1');
  t.is(logged.token, '[redacted]');
  t.deepEqual(lines[0]!.list, ['a']);
  t.is(err.token, 's3cret-token', 'the logged error itself is not changed');
  t.deepEqual(fields.secret, { nested: 'deep' });
  t.deepEqual(lines[1], { ...lines[1], callId: 'c1', seconds: 0, msg: 'plain' });
});
