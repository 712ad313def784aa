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
