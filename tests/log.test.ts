import { spawn } from 'node:child_process';
import { type AddressInfo, connect, createServer } from 'node:net';
import { Writable } from 'node:stream';
import test from 'ava';
import { createLogger, droppedLogLines, isoTime, StreamDestination } from '../src/log.ts';

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

// The default destination when stdout is a pipe (journald, a supervisor): a libuv stream.
const LOG_MODULE = new URL('../src/log.ts', import.meta.url).href;

/** A node process that logs `count` lines through the default destination, then runs `then`. */
function logger(count: number, then: string) {
  const code = `import { createLogger } from ${JSON.stringify(LOG_MODULE)};
    const log = createLogger();
    for (let i = 0; i < ${count}; i++) log.info({ i, pad: 'x'.repeat(200) }, 'line');
    ${then}`;
  return spawn(process.execPath, ['--input-type=module', '-e', code], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

function untilStderr(child: ReturnType<typeof logger>, text: string): Promise<string> {
  return new Promise((resolve) => {
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
      if (stderr.includes(text)) resolve(stderr);
    });
    child.on('close', () => resolve(stderr));
  });
}

test('stdout as a pipe: a reader that falls behind gets every line, in order, before the process exits', async (t) => {
  // 20,000 lines of ~270 octets, all logged while nobody reads: far more than a pipe holds,
  // so most wait in the stream, and the process waits for them.
  const child = logger(20_000, "console.error('logged');");
  child.stdout.pause();
  const stderr = await untilStderr(child, 'logged');
  t.true(stderr.includes('logged'), stderr);
  t.is(child.exitCode, null);
  let text = '';
  child.stdout.setEncoding('utf8').on('data', (c) => (text += c));
  child.stdout.resume();
  const code = await new Promise((r) => child.on('close', r));
  t.is(code, 0);
  const lines = text.trimEnd().split('\n');
  t.is(lines.length, 20_000);
  t.true(lines.every((l, i) => JSON.parse(l).i === i));
});

test('stdout as a pipe whose reader is gone: logging stops, the process carries on', async (t) => {
  // The parent closes the pipe, then the child's stdin: the child then logs on, and lives.
  const child = logger(
    1,
    "process.stdin.resume().on('end', () => { for (let i = 0; i < 1000; i++) log.info('after'); console.error('alive'); });",
  );
  const stderr = untilStderr(child, 'alive');
  child.stdout.once('data', () => {
    child.stdout.destroy();
    child.stdin.end();
  });
  const code = await new Promise((r) => child.on('close', r));
  t.is(code, 0, await stderr);
  t.true((await stderr).includes('alive'));
});
test('a stream destination past its bound drops lines and counts them', async (t) => {
  const server = createServer((s) => s.pause()); // a reader that never reads
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const { port } = server.address() as AddressInfo;
  const socket = connect(port, '127.0.0.1');
  t.teardown(() => socket.destroy());
  await new Promise((r) => socket.once('connect', r));
  const dest = new StreamDestination(socket, 64 * 1024);
  const droppedBefore = droppedLogLines();
  const line = `${'x'.repeat(1023)}\n`;
  const turnEnd = () => new Promise((r) => setImmediate(r));
  // Turn after turn (a turn's lines are written at its end) until the kernel's buffers are
  // full, then 64 KB more: everything after is dropped.
  for (let turn = 0; turn < 20_000 && dest.dropped === 0; turn++) {
    for (let i = 0; i < 16 && dest.dropped === 0; i++) dest.write(line);
    await turnEnd();
  }
  t.true(dest.dropped > 0);
  t.true(socket.writableLength >= 64 * 1024 && socket.writableLength < 64 * 1024 + 2048);
  const before = socket.writableLength;
  for (let i = 0; i < 10; i++) dest.write(line);
  await turnEnd();
  t.is(socket.writableLength, before);
  t.is(dest.dropped, 11);
  t.is(droppedLogLines() - droppedBefore, 11, 'counted for stats and /metrics');
});

test('a stream destination writes the lines of one event-loop turn together, in order', async (t) => {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const { port } = server.address() as AddressInfo;
  const received = new Promise<string>((resolve) =>
    server.once('connection', (s) => {
      let text = '';
      s.setEncoding('utf8').on('data', (c: string) => {
        text += c;
        if (text.split('\n').length > 300) resolve(text);
      });
    }),
  );
  const socket = connect(port, '127.0.0.1');
  t.teardown(() => socket.destroy());
  await new Promise((r) => socket.once('connect', r));
  const writes: number[] = [];
  const write = socket.write.bind(socket);
  socket.write = ((chunk: string) => {
    writes.push(chunk.split('\n').length - 1);
    return write(chunk);
  }) as typeof socket.write;
  const dest = new StreamDestination(socket);
  for (let turn = 0; turn < 3; turn++) {
    for (let i = 0; i < 100; i++) dest.write(`${turn * 100 + i}\n`);
    t.deepEqual(writes.length, turn, 'nothing written before the turn ends');
    await new Promise((r) => setImmediate(r));
  }
  t.deepEqual(writes, [100, 100, 100], 'one write per turn');
  const lines = (await received).trimEnd().split('\n');
  t.deepEqual(lines.map(Number), [...Array(300).keys()]);
});

test('stdout as a pipe: the lines of the last turn reach the reader when the process exits at once', async (t) => {
  const child = logger(50, 'process.exit(0);');
  let text = '';
  child.stdout.setEncoding('utf8').on('data', (c) => (text += c));
  const code = await new Promise((r) => child.on('close', r));
  t.is(code, 0);
  const lines = text.trimEnd().split('\n');
  t.is(lines.length, 50);
  t.true(lines.every((l, i) => JSON.parse(l).i === i));
});

test('the time of a line is the ISO 8601 text pino writes, for any millisecond', (t) => {
  const base = Date.UTC(2026, 11, 31, 23, 59, 58, 0);
  for (let now = base; now < base + 3000; now += 1)
    t.is(isoTime(now), `,"time":"${new Date(now).toISOString()}"`);
  for (const now of [0, 999, 1000, 86_399_999, 951_782_400_000, Date.now()])
    t.is(isoTime(now), `,"time":"${new Date(now).toISOString()}"`);
  const { lines, destination } = capture();
  const before = Date.now();
  createLogger({ destination }).info('x');
  const at = Date.parse(lines[0]!.time as string);
  t.true(at >= before && at <= Date.now());
});
