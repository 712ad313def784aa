// The console's exit codes, command by command, through the real tollgatectl against a
// running daemon: 0 ok, 1 refused or not found, 2 usage error (the line cannot be read: an
// unknown command or option, a wrong count, a malformed address, range, duration or name).
// Every error printed on the way is also checked for duplicated words.
import test from 'ava';
import { run, startDaemon, TOLLGATECTL } from '../../helpers/daemon.ts';
import { tempDir } from '../../helpers/tmp.ts';
import { duplicatedWords } from './words.ts';

type Row = [args: string[], exit: 0 | 1 | 2, stderr?: RegExp];

// In order: later rows rely on what earlier ones did (alice exists, 10.1.2.3 is banned).
const TABLE: Row[] = [
  [['status'], 0],
  [['status', 'now'], 2, /status: expected no arguments/],
  [['stats'], 0],
  [['stats', '--verbose'], 2, /unknown option --verbose/],
  [['bans'], 0],
  [['bans', 'all'], 2],
  [['frobnicate'], 2, /unknown command "frobnicate"/],
  [['detections'], 0],
  [['detections', 'now'], 2],
  // audit's own exit says whether the configuration passes (1: findings); its usage is ours.
  [['audit', 'now'], 2],
  [['ban', '10.1.2.3', '--ttl', '30m'], 0],
  [['ban', '198.18.0.0/15', '--ttl', 'permanent'], 0],
  [['ban', '2001:db8:9::/48', '--ttl', '7d'], 0],
  [['ban', '10.1.2.300'], 2, /not an IP address or CIDR range: "10\.1\.2\.300"/],
  [['ban', '10.1.2.0/33'], 2, /not an IP address or CIDR range/],
  [['ban', 'bad'], 2, /not an IP address or CIDR range/],
  [['ban', '10.1.2.4', '--ttl', 'soon'], 2, /--ttl takes seconds/],
  [['ban', '10.1.2.4', '--ttl'], 2, /--ttl needs a value/],
  [['ban'], 2, /expected one address or CIDR range/],
  [['ban', '127.0.0.1'], 1, /refusing to ban 127\.0\.0\.1: .*loopback.*--force/],
  [['ban', '::1'], 1, /loopback/],
  [['unban', '10.9.9.9'], 1, /no ban for 10\.9\.9\.9/],
  [['unban', '198.18.0.1'], 1, /inside the banned range 198\.18\.0\.0\/15/],
  [['unban', '10.1.2.3'], 0],
  [['unban', 'nonsense'], 2, /not an IP address or CIDR range/],
  [['delbanned,2001:db8:9::/48'], 0],
  [['delbanned,bad'], 2],
  [['unban', 'ALL'], 0],
  [['config', 'get', 'autoban'], 0],
  [['config', 'get', 'autobam'], 1, /autoban/],
  [['config', 'set', 'allowtrustedip', '9'], 1, /allowtrustedip/],
  [['config', 'set', 'maxcallperip', '12'], 0],
  [['config', 'list'], 0],
  [['config', 'list', '--changed'], 0],
  [['config', 'unset', 'maxcallperip'], 0],
  [['config', 'unset', 'autobam'], 1, /autoban/],
  [['config', 'keys'], 0],
  [['config', 'set', 'maxlines', '3'], 1],
  [['config'], 2],
  [['config', 'frob'], 2, /config: usage/],
  [['users', 'add', 'alice'], 0],
  [['users', 'add', 'alice'], 1, /user alice already exists/],
  [['users', 'add', 'bad name!'], 2, /bad user name/],
  [['users', 'add', 'erin', '--password', 'short'], 1, /refusing the password for erin/],
  [['users', 'add', 'erin', '--password', 'aaaaaaaaaaaa'], 1, /\(enforcestrongauth\)/],
  [['users', 'list'], 0],
  [['users', 'show', 'alice'], 0],
  [['users', 'show', 'nobody'], 1, /no user nobody/],
  [['users', 'set', 'alice', 'authip', '198.51.100.10'], 0],
  [['users', 'set', 'alice', 'needauth', '9'], 1, /needauth/],
  [['users', 'set', 'alice', 'nosuchfield', '3'], 1, /unknown user field "nosuchfield"/],
  [['users', 'set', 'alice'], 2],
  [['users', 'del', 'nobody'], 1, /no user nobody/],
  [['users', 'del', 'alice'], 0],
  [['users', 'frob'], 2],
  [['firewall', 'deny', '192.0.2.0/24'], 0],
  [['firewall', 'deny', '192.0.2.0/40'], 2, /not an IP address or CIDR range/],
  [['firewall', 'list'], 0],
  [['firewall', 'del', '192.0.2.0/24'], 0],
  [['firewall', 'del', '192.0.2.0/24'], 1, /no static firewall rule for 192\.0\.2\.0\/24/],
  [['firewall'], 2],
  [['help'], 0],
  [['help', 'ban'], 0],
  [['help', 'nope'], 2, /unknown command "nope"/],
  [['stress-test', 'now'], 2],
  [['stress-test'], 0],
];

/** Rows also run with --json (each run of tollgatectl costs a process start). */
const JSON_CHECKED = new Set([
  'ban 10.1.2.300',
  'ban 127.0.0.1',
  'users show nobody',
  'frobnicate',
]);

test('every command exits 0 ok, 1 refused or not found, 2 usage error; no error repeats a word', async (t) => {
  // About 60 runs of tollgatectl, one process each: generous on a loaded machine.
  t.timeout(15 * 60_000);
  const d = await startDaemon(t);
  for (const [args, exit, stderr] of TABLE) {
    const r = await d.ctl(...args);
    const line = `tollgatectl ${args.join(' ')}`;
    t.is(r.code, exit, `${line}\n${r.stderr}`);
    if (stderr) t.regex(r.stderr, stderr, line);
    if (exit !== 0) t.deepEqual(duplicatedWords(r.stderr), [], `${line}: ${r.stderr}`);
    // --json reports the same exit code, with the error code in the body.
    if (exit !== 0 && JSON_CHECKED.has(args.join(' '))) {
      const json = await d.ctl(...args, '--json');
      t.is(json.code, exit, `${line} --json`);
      t.regex(JSON.parse(json.stderr).error, /^TG_[A-Z0-9_]+$/, `${line} --json`);
    }
  }
  t.is(await d.stop(), 0);

  const down = await run(TOLLGATECTL, ['--data', d.dataDir, 'status']);
  t.is(down.code, 1, 'no daemon: exit 1');
  t.regex(down.stderr, /tollgate is not running/);
  const usage = await run(TOLLGATECTL, ['--data', d.dataDir, 'ban', '10.0.0.256']);
  t.is(usage.code, 2, 'a usage error needs no daemon');
});

test('tollgatectl shell fed a script exits 0 when every command worked, else non-zero', async (t) => {
  const d = await startDaemon(t);
  const shell = (script: string) => run(TOLLGATECTL, ['--data', d.dataDir, 'shell'], script);

  const ok = await shell('ban 10.3.3.3 --ttl 1h\nbans\nunban 10.3.3.3\n');
  t.is(ok.code, 0, ok.stdout);

  const refused = await shell('ban 10.3.3.4\nunban 10.9.9.9\nunban all\n');
  t.is(refused.code, 1, 'a refused command (no such ban) fails the script');
  t.regex(refused.stdout, /error: no ban for 10\.9\.9\.9/);
  t.regex(refused.stdout, /lifted 1 ban/, 'the lines after the failure still ran');

  const usage = await shell('ban 10.3.3.300\nstatus\n');
  t.is(usage.code, 2, 'a usage error fails the script with 2');

  const empty = await shell('');
  t.is(empty.code, 0);
  t.is(await d.stop(), 0);
});

test('the daemon parses again: a usage error in a raw request is exit 2 too', async (t) => {
  // The same grammar runs in the daemon; a client that skips it still gets exit 2.
  const dataDir = tempDir(t);
  const d = await startDaemon(t, { dataDir });
  const { connect } = await import('node:net');
  const socket = connect(`${dataDir}/tollgate.sock`);
  const reply = await new Promise<string>((resolve, reject) => {
    let got = '';
    socket.on('data', (c) => {
      got += c;
      if (got.includes('\n')) resolve(got);
    });
    socket.on('error', reject);
    socket.write(`${JSON.stringify({ argv: ['ban', 'not-an-address'] })}\n`);
  });
  socket.destroy();
  const parsed = JSON.parse(reply) as { exit: number; code: string };
  t.is(parsed.exit, 2);
  t.is(parsed.code, 'TG_BAN_BAD_ADDRESS');
  t.is(await d.stop(), 0);
});
