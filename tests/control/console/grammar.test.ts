import test from 'ava';
import { helpText, parseCommand, tokenize } from '../../../src/control/console/grammar.ts';

function usageError(t: import('ava').ExecutionContext, argv: string[], message: RegExp) {
  const err = t.throws(() => parseCommand(argv));
  t.regex((err as unknown as { code: string }).code, /^TG_CONSOLE_(USAGE|UNKNOWN_COMMAND)$/);
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
  });
  t.deepEqual(parseCommand(['config', 'list']).command, { name: 'config-list' });
});

test('bad input names what is wrong', (t) => {
  usageError(t, [], /no command/);
  usageError(t, ['frobnicate'], /unknown command "frobnicate"/);
  usageError(t, ['ban'], /ban: expected one address/);
  usageError(t, ['ban', '1.2.3.4', '5.6.7.8'], /ban: expected one address/);
  usageError(t, ['ban', '1.2.3.4', '--ttl', 'soon'], /--ttl must be whole seconds.*"soon"/);
  usageError(t, ['ban', '1.2.3.4', '--ttl'], /--ttl needs a value/);
  usageError(t, ['ban', '1.2.3.4', '--colour', 'red'], /unknown option --colour/);
  usageError(t, ['unban'], /unban: expected an address or "all"/);
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
  t.regex(helpText('ban'), /--ttl SECONDS/);
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
