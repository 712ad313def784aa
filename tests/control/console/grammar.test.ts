import test from 'ava';
import {
  helpText,
  mayCarrySecret,
  parseCommand,
  parseTtl,
  secretInArgv,
  tokenize,
  withSecret,
} from '../../../src/control/console/grammar.ts';

function usageError(t: import('ava').ExecutionContext, argv: string[], message: RegExp) {
  const err = t.throws(() => parseCommand(argv));
  t.regex(
    (err as unknown as { code: string }).code,
    /^TG_CONSOLE_(USAGE|UNKNOWN_COMMAND)$|^TG_BAN_BAD_ADDRESS$/,
  );
  t.regex(err!.message, message);
}

test('the reference comma form and the plain form mean the same', (t) => {
  t.deepEqual(parseCommand(['delbanned,10.0.0.1']).command, { name: 'unban', target: '10.0.0.1' });
  t.deepEqual(parseCommand(['delbanned,all']).command, { name: 'unban', target: 'all' });
  t.deepEqual(parseCommand(['delbanned', '2001:db8::1']).command, {
    name: 'unban',
    target: '2001:db8::1',
  });
  t.deepEqual(parseCommand(['unban', 'all']).command, { name: 'unban', target: 'all' });
});

test('ban takes an address, an optional ttl and reason', (t) => {
  t.deepEqual(parseCommand(['ban', '10.0.0.9', '--ttl', '600', '--reason', 'svwar']).command, {
    name: 'ban',
    ip: '10.0.0.9',
    ttlSeconds: 600,
    reason: 'svwar',
    force: false,
  });
  const plain = parseCommand(['ban', '10.0.0.9']).command;
  t.is(plain.name === 'ban' && plain.ttlSeconds, 0);
});

test('--json may stand anywhere', (t) => {
  t.true(parseCommand(['--json', 'bans']).json);
  t.true(parseCommand(['bans', '--json']).json);
  t.false(parseCommand(['bans']).json);
});

test('config get, set and list', (t) => {
  t.deepEqual(parseCommand(['config', 'get', 'autoban']).command, {
    name: 'config-get',
    key: 'autoban',
  });
  t.deepEqual(parseCommand(['config', 'set', 'autoban', '2']).command, {
    name: 'config-set',
    key: 'autoban',
    value: '2',
    acceptUnenforced: false,
  });
  t.deepEqual(parseCommand(['config', 'set', 'maxlines', '2', '--accept-unenforced']).command, {
    name: 'config-set',
    key: 'maxlines',
    value: '2',
    acceptUnenforced: true,
  });
  t.deepEqual(parseCommand(['config', 'list']).command, { name: 'config-list', changed: false });
  t.deepEqual(parseCommand(['config', 'list', '--changed']).command, {
    name: 'config-list',
    changed: true,
  });
  t.deepEqual(parseCommand(['config', 'unset', 'autoban']).command, {
    name: 'config-unset',
    key: 'autoban',
  });
  t.deepEqual(parseCommand(['config', 'keys']).command, { name: 'config-keys' });
  t.throws(() => parseCommand(['config', 'get', 'autoban', '--changed']), {
    message: /--changed goes with "config list"/,
  });
});

test('bad input names what is wrong', (t) => {
  usageError(t, [], /no command/);
  usageError(t, ['frobnicate'], /unknown command "frobnicate"/);
  usageError(t, ['ban'], /ban: expected one address or CIDR range/);
  usageError(t, ['ban', '1.2.3.4', '5.6.7.8'], /ban: expected one address or CIDR range/);
  usageError(t, ['ban', '1.2.3.4', '--ttl', 'soon'], /--ttl takes seconds.*30m, 1h, 7d.*"soon"/);
  usageError(t, ['ban', '1.2.3.4', '--ttl', '11000d'], /up to 3650d/);
  usageError(t, ['ban', '1.2.3.4', '--ttl', '-5'], /--ttl takes/);
  usageError(t, ['ban', '1.2.3.4/33'], /not an IP address or CIDR range: "1\.2\.3\.4\/33"/);
  usageError(t, ['ban', 'example.com'], /not an IP address or CIDR range/);
  usageError(t, ['unban', '10.0.0.0/x'], /not an IP address or CIDR range/);
  usageError(t, ['firewall', 'deny', '10.0.0.0/99'], /not an IP address or CIDR range/);
  usageError(t, ['ban', '1.2.3.4', '--ttl'], /--ttl needs a value/);
  usageError(t, ['ban', '1.2.3.4', '--colour', 'red'], /unknown option --colour/);
  usageError(t, ['unban'], /unban: expected an address, a range or "all"/);
  usageError(t, ['config', 'set', 'autoban'], /config: usage/);
  usageError(t, ['status', 'now'], /status: expected no arguments/);
  usageError(t, ['bans', 'x'.repeat(2000)], /longer than/);
  usageError(t, ['__proto__'], /unknown command/);
});

test('help lists every command, and one command on request', (t) => {
  const all = helpText();
  for (const name of [
    'status',
    'stats',
    'bans',
    'ban IP',
    'unban',
    'delbanned',
    'config',
    'shell',
  ]) {
    t.true(all.includes(name), name);
  }
  t.regex(helpText('ban'), /--ttl 3600\|30m\|1h\|7d\|permanent/);
  t.throws(() => helpText('nope'), { message: /unknown command "nope"/ });
});

test('shell lines are split like a shell would', (t) => {
  t.deepEqual(tokenize('ban 10.0.0.1 --reason "too many REGISTERs"'), [
    'ban',
    '10.0.0.1',
    '--reason',
    'too many REGISTERs',
  ]);
  t.deepEqual(tokenize("  config set blockua 'a b,c'  "), ['config', 'set', 'blockua', 'a b,c']);
  t.deepEqual(tokenize('x\\ y ""'), ['x y', '']);
  t.throws(() => tokenize('ban "10.0.0.1'), { message: /unclosed " quote/ });
});

test('ban takes a range (IPv4 or IPv6), a duration with a unit, and --force', (t) => {
  const range = parseCommand(['ban', '203.0.113.0/24', '--ttl', '1h', '--force']).command;
  t.like(range, { name: 'ban', ip: '203.0.113.0/24', ttlSeconds: 3600, force: true });
  t.like(parseCommand(['ban', '2001:db8::/48', '--ttl', '30m']).command, {
    ip: '2001:db8::/48',
    ttlSeconds: 1800,
    force: false,
  });
  t.is(parseTtl('7d'), 7 * 86_400);
  t.is(parseTtl('90'), 90);
  t.is(parseTtl('90s'), 90);
  t.is(parseTtl('2w'), 14 * 86_400);
  t.is(parseTtl('PERMANENT'), 0);
  t.is(parseTtl('0'), 0);
  t.is(parseTtl(undefined), 0);
});

test('unban takes an address, a range, or all in any case', (t) => {
  for (const all of ['all', 'ALL', 'All']) {
    t.deepEqual(parseCommand(['unban', all]).command, { name: 'unban', target: 'all' });
    t.deepEqual(parseCommand([`delbanned,${all}`]).command, { name: 'unban', target: 'all' });
  }
  t.deepEqual(parseCommand(['unban', '203.0.113.0/24']).command, {
    name: 'unban',
    target: '203.0.113.0/24',
  });
});

test('passwords: --password-stdin, and what counts as a secret on a line or in argv', (t) => {
  t.like(parseCommand(['users', 'add', 'bob', '--password-stdin']).command, {
    name: 'users-add',
    user: 'bob',
    passwordStdin: true,
  });
  t.like(parseCommand(['users', 'set', 'bob', 'password', '--password-stdin']).command, {
    name: 'users-set',
    key: 'password',
    passwordStdin: true,
  });
  const filled = withSecret(['users', 'add', 'bob', '--password-stdin'], 'S3cret!pw');
  t.deepEqual(parseCommand(filled).command, {
    name: 'users-add',
    user: 'bob',
    password: 'S3cret!pw',
  });
  t.deepEqual(
    parseCommand(withSecret(['users', 'set', 'bob', 'password', '--password-stdin'], 'x')).command,
    { name: 'users-set', user: 'bob', key: 'password', value: 'x' },
  );
  usageError(t, ['users', 'add', 'bob', '--password', 'x', '--password-stdin'], /not both/);
  usageError(t, ['users', 'list', '--password-stdin'], /go with "users add NAME"/);

  t.true(secretInArgv(['users', 'add', 'bob', '--password', 'x']));
  t.true(secretInArgv(['users', 'set', 'bob', 'Password', 'x']));
  t.true(secretInArgv(['config', 'set', 'httpapikey', 'x']));
  t.false(secretInArgv(['users', 'add', 'bob', '--password-stdin']));
  t.false(secretInArgv(['users', 'set', 'bob', 'password', '--password-stdin']));
  t.false(secretInArgv(['users', 'set', 'bob', 'maxlines', '3']));

  // Decided on the raw line, parsed or not: typos carry the secret just the same.
  for (const line of [
    'users add bob --password hunter2',
    'user ad bob --pasword hunter2',
    'users set bob PASSWORD hunter2',
    'config set httpapikey abc',
    'users add bob --password "unclosed',
  ]) {
    t.true(mayCarrySecret(line), line);
  }
  t.false(mayCarrySecret('ban 203.0.113.0/24 --ttl 1h'));
  t.false(mayCarrySecret('users list'));
});
