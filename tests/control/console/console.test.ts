// The console as an operator meets it, through the real tollgate and tollgatectl: the
// first-start banner, `status` for people and for scripts, bans that keep the operator in
// (own addresses, the SSH session) and that are truthful (an allow rule's range is refused),
// and passwords that stay out of argv and of the shell's history.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import {
  type RunningDaemon,
  type RunResult,
  startDaemon,
  TOLLGATE,
  TOLLGATECTL,
  testConfig,
} from '../../helpers/daemon.ts';
import { tempDir } from '../../helpers/tmp.ts';

/** tollgatectl with its own environment (SSH_CLIENT) and stdin. */
function ctl(
  d: RunningDaemon,
  args: string[],
  options: { env?: Record<string, string>; input?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TOLLGATECTL, '--data', d.dataDir, ...args], {
      env: { ...process.env, SSH_CLIENT: '', SSH_CONNECTION: '', ...options.env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** Resolves with what the child wrote once `text` appears (bounded), or rejects. */
function waitForOutput(child: ChildProcess, text: string, got: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.stdout?.off('data', check);
      reject(new Error(`"${text}" did not appear: ${got()}`));
    }, 60_000);
    const check = () => {
      if (!got().includes(text)) return;
      clearTimeout(timer);
      child.stdout?.off('data', check);
      resolve();
    };
    child.stdout?.on('data', check);
    check();
  });
}

test('status renders every nested value as lines; --json keeps the structure', async (t) => {
  const d = await startDaemon(t);
  const json = JSON.parse((await d.ctl('status', '--json')).stdout) as {
    sip: Array<{ transport: string; port: number }>;
    dataplane: { mode: string };
  };
  t.true(Array.isArray(json.sip) && json.sip.length >= 3, 'listeners as a list of objects');
  const text = (await d.ctl('status')).stdout;
  t.notRegex(text, /\[object Object\]/);
  for (const l of json.sip) {
    t.regex(text, new RegExp(`^ +${l.transport} +127\\.0\\.0\\.1:${l.port}$`, 'm'), text);
  }
  t.regex(text, /^dataplane:\n {2}mode: off$/m);
  t.regex(text, /^restartPending: none$/m);
  const stats = (await d.ctl('stats')).stdout;
  t.notRegex(stats, /\[object Object\]/);
  t.regex(stats, /^drops:\n {2}banned: 0$/m);
  t.is(await d.stop(), 0);
});

test('the first-start banner names the files that exist and how to create the config file', async (t) => {
  const first = await startDaemon(t);
  const banner = first.stderr();
  t.regex(banner, new RegExp(`config: +${first.configFile}`));
  t.regex(banner, new RegExp(`store: +${join(first.dataDir, 'store.mdb')}`));
  t.regex(banner, new RegExp(`TLS: +${join(first.dataDir, 'tls', 'cert.pem')}`));

  // Keep the test's ports and mode as stored console values, then start without the file:
  // the default config path does not exist, and the banner says how to create it.
  const file = readFileSync(first.configFile, 'utf8');
  for (const line of file.split('\n').filter((l) => /^\w+ = /.test(l))) {
    const [key, value] = line.split(' = ');
    t.is((await first.ctl('config', 'set', key!, value!)).code, 0, line);
  }
  t.is(await first.stop(), 0);
  rmSync(first.configFile);

  const child = spawn(process.execPath, [TOLLGATE, 'serve', '--data', first.dataDir], {
    env: { ...process.env, TOLLGATE_CONFIG: '' },
  });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  child.stdout.on('data', () => {});
  const exited = new Promise((r) => child.once('exit', r));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner: ${stderr}`)), 90_000);
    child.stderr.on('data', () => {
      if (!/shell: /.test(stderr)) return;
      clearTimeout(timer);
      resolve();
    });
    child.once('exit', () => reject(new Error(`daemon exited: ${stderr}`)));
  });
  const missing = join(first.dataDir, 'tollgate.conf');
  t.false(existsSync(missing));
  t.regex(stderr, /config: +none yet, the built-in defaults are in force/);
  t.regex(stderr, new RegExp(`create\\s+${missing} with "key = value" lines`));
  t.regex(stderr, /config set KEY VALUE/);
  t.notRegex(
    stderr,
    new RegExp(`config: +${missing}$`, 'm'),
    'a missing file is not named as the config',
  );
  child.kill('SIGTERM');
  await exited;
});

test('a ban covering this machine or the SSH session is refused unless --force; an allow rule refuses it', async (t) => {
  const d = await startDaemon(t);
  const ssh = { SSH_CLIENT: '203.0.113.55 50022 22' };

  const mine = await ctl(d, ['ban', '203.0.113.55'], { env: ssh });
  t.is(mine.code, 1);
  t.regex(
    mine.stderr,
    /it covers 203\.0\.113\.55, the address of the SSH session running this console; add --force/,
  );
  const range = await ctl(d, ['ban', '203.0.113.0/24'], {
    env: { SSH_CONNECTION: '203.0.113.55 50022 10.0.0.1 22' },
  });
  t.is(range.code, 1, 'a range covering the session, from SSH_CONNECTION');
  t.regex(range.stderr, /SSH session/);
  const other = await ctl(d, ['ban', '203.0.113.56'], { env: ssh });
  t.is(other.code, 0, 'another address of the range is fine');
  const forced = await ctl(d, ['ban', '203.0.113.55', '--force'], { env: ssh });
  t.is(forced.code, 0, forced.stderr);

  // This machine's own addresses (the daemon runs in this namespace).
  const own = Object.values(networkInterfaces())
    .flatMap((l) => l ?? [])
    .find((a) => !a.internal && a.family === 'IPv4');
  if (own) {
    const refused = await ctl(d, ['ban', own.address]);
    t.is(refused.code, 1, 'the host address');
    t.regex(refused.stderr, /an address of this machine/);
  }
  t.is((await ctl(d, ['ban', '127.0.0.0/8'])).code, 1, 'loopback');

  // An allow rule (trustedip, in the kernel with the default enablefirewall/allowtrustedip)
  // passes its range before any ban: such a ban is refused, not listed and never dropped.
  t.is((await ctl(d, ['firewall', 'allow', '198.51.100.0/24'])).code, 0);
  const allowed = await ctl(d, ['ban', '198.51.100.7', '--force']);
  t.is(allowed.code, 1, '--force does not make it enforced');
  t.regex(
    allowed.stderr,
    /refusing to ban 198\.51\.100\.7: it would not be enforced: the allow rule 198\.51\.100\.0\/24 \(trustedip\) passes it before any ban; remove the rule first \("firewall del 198\.51\.100\.0\/24"\)/,
  );
  const wider = await ctl(d, ['ban', '198.51.0.0/16']);
  t.is(wider.code, 1);
  t.regex(wider.stderr, /passes part of it/);

  // A ban made before an allow rule is no longer dropped: listed apart, with the reason.
  t.is((await ctl(d, ['firewall', 'allow', '203.0.113.56/32'])).code, 0);
  const bans = (await ctl(d, ['bans'])).stdout;
  t.regex(bans, /recorded but NOT enforced/);
  const listed = JSON.parse((await ctl(d, ['bans', '--json'])).stdout) as Array<{
    ip: string;
    enforced: boolean;
    why?: string;
  }>;
  t.deepEqual(
    listed.map((b) => b.ip).sort(),
    ['203.0.113.55', '203.0.113.56'],
    'nothing refused was stored',
  );
  t.regex(listed.find((b) => b.ip === '203.0.113.56')!.why!, /allow rule 203\.0\.113\.56/);
  t.is(await d.stop(), 0);
});

test('passwords: --password-stdin from a pipe; --password works but warns; secrets never reach the history', async (t) => {
  const d = await startDaemon(t);

  const piped = await ctl(d, ['users', 'add', 'bob', '--password-stdin'], {
    input: 'Piped-Secret-42\n',
  });
  t.is(piped.code, 0, piped.stderr);
  t.notRegex(piped.stderr, /WARNING/);
  t.notRegex(piped.stdout + piped.stderr, /Piped-Secret-42/);
  const empty = await ctl(d, ['users', 'add', 'nobody', '--password-stdin'], { input: '' });
  t.is(empty.code, 2);
  t.regex(empty.stderr, /stdin gave no password/);

  const visible = await ctl(d, ['users', 'add', 'carol', '--password', 'Argv-Secret-42']);
  t.is(visible.code, 0, visible.stderr);
  t.regex(visible.stderr, /WARNING! a secret on the command line is visible to other users/);
  const set = await ctl(d, ['users', 'set', 'carol', 'password', 'Argv-Secret-43']);
  t.is(set.code, 0);
  t.regex(set.stderr, /WARNING!/);
  const changed = await ctl(d, ['users', 'set', 'carol', 'password', '--password-stdin'], {
    input: 'Piped-Secret-44\n',
  });
  t.is(changed.code, 0, changed.stderr);
  t.notRegex(changed.stderr, /WARNING/);

  // The shell: secret lines (parsed or not) stay out of the history file; --password-stdin
  // takes the next line, which is no command and no history entry either.
  const script = [
    'users add dave --password Shell-Secret-1',
    'user ad erin --pasword Shell-Secret-2',
    'users add "frank --password Shell-Secret-3',
    'users add gina --password-stdin',
    'Shell-Secret-4',
    'config set httpapikey Shell-Secret-5',
    'users list',
    'bans',
  ].join('\n');
  const session = await ctl(d, ['shell'], { input: `${script}\n` });
  t.regex(session.stdout, /added dave/);
  t.regex(session.stdout, /added gina/);
  t.is(session.code, 2, 'two lines were usage errors');
  const history = readFileSync(join(d.dataDir, '.console_history'), 'utf8');
  t.notRegex(history, /Shell-Secret/);
  t.regex(history, /^users list$/m);
  t.regex(history, /^bans$/m);
  t.regex((await ctl(d, ['users', 'list'])).stdout, /gina/);
  t.is(await d.stop(), 0);
});

test('on a terminal, --password-stdin asks twice without echo', async (t) => {
  const d = await startDaemon(t, { configFile: await testConfig(tempDir(t)) });
  // script(1) gives tollgatectl a real terminal; what it echoes comes back on stdout.
  const command = [
    process.execPath,
    TOLLGATECTL,
    '--data',
    d.dataDir,
    'users',
    'add',
    'hana',
    '--password-stdin',
  ];
  const child = spawn('script', ['-qfec', command.map((w) => `'${w}'`).join(' '), '/dev/null'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (out += c));
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  await waitForOutput(child, 'Password: ', () => out);
  child.stdin.write('Tty-Secret-42\r');
  await waitForOutput(child, 'Again: ', () => out);
  child.stdin.write('Tty-Secret-42\r');
  t.is(await exited, 0, out);
  t.regex(out, /added hana/);
  t.notRegex(out, /Tty-Secret-42/, 'the password was not echoed');
  t.is(await d.stop(), 0);
});
