// sshd's log lines as the feed reads them: what counts as a failed login, and lines crafted
// to make it ban someone else (a user name that reads "from IP port N") or to overflow it.
import test from 'ava';
import { complete } from '../../src/control/console/shell.ts';
import { MAX_LINE, parseFeedLine, parseSshdMessage } from '../../src/control/ssh-feed.ts';

test('a failed password, for a known or an unknown user, is one failure with its address', (t) => {
  t.deepEqual(parseSshdMessage('Failed password for console from 198.51.100.7 port 40022 ssh2'), {
    ip: '198.51.100.7',
    port: 40022,
    user: 'console',
    method: 'password',
    invalidUser: false,
  });
  const invalid = parseSshdMessage(
    'sshd[812]: Failed password for invalid user admin from 2001:db8::7 port 5022 ssh2',
  );
  t.is(invalid?.ip, '2001:db8::7');
  t.true(invalid?.invalidUser);
  t.is(
    parseSshdMessage('Failed publickey for console from 198.51.100.7 port 1 ssh2: ED25519 SHA256:x')
      ?.method,
    'publickey',
  );
});

test('lines about the same attempt, or no attempt, are not counted', (t) => {
  for (const line of [
    'Invalid user admin from 198.51.100.7 port 40022',
    'Connection closed by authenticating user console 198.51.100.7 port 40022 [preauth]',
    'Accepted publickey for console from 198.51.100.7 port 40022 ssh2: ED25519 SHA256:x',
    'Server listening on 0.0.0.0 port 22.',
    '',
  ])
    t.is(parseSshdMessage(line), null, line);
});

test('a user name that reads "from IP port N" cannot point the ban at another address', (t) => {
  const crafted = parseSshdMessage(
    'Failed password for invalid user x from 192.0.2.1 port 22 from 203.0.113.9 port 4444 ssh2',
  );
  t.is(crafted?.ip, '203.0.113.9', 'the address sshd wrote last, after the user name');
  t.is(crafted?.user, 'x from 192.0.2.1 port 22');
  t.is(parseSshdMessage('Failed password for x from 999.1.1.1 port 22 ssh2'), null);
  t.is(parseSshdMessage('Failed password for x from 192.0.2.1 port 70000 ssh2'), null);
  t.is(
    parseSshdMessage(`Failed password for ${'u'.repeat(MAX_LINE)} from 192.0.2.1 port 22 ssh2`),
    null,
  );
  // Control characters in a user name never reach a log line.
  t.is(
    parseSshdMessage('Failed password for a\u001b[2Jb from 192.0.2.1 port 22 ssh2')?.user,
    'a?[2Jb',
  );
});

test('journal JSON lines: MESSAGE text is parsed, anything else is ignored', (t) => {
  const line = JSON.stringify({
    _COMM: 'sshd',
    MESSAGE: 'Failed password for console from 198.51.100.8 port 1234 ssh2',
  });
  t.is(parseFeedLine(line)?.ip, '198.51.100.8');
  t.is(parseFeedLine(JSON.stringify({ MESSAGE: [70, 97, 105] })), null, 'a byte-array MESSAGE');
  t.is(parseFeedLine('{"MESSAGE": '), null, 'cut short');
  t.is(parseFeedLine('null'), null);
});

test('tab completion: command words from the grammar, then well-known first arguments', (t) => {
  const [words] = complete('st');
  t.deepEqual(words, ['stats', 'status', 'stress-test']);
  t.true(complete('del')[0].includes('delbanned,all'));
  t.deepEqual(complete('unban a'), [['all'], 'a']);
  t.deepEqual(complete('users s')[0], ['show', 'set']);
  t.false(complete('')[0].includes('ssh-auth-fail'), "the feed's own command is not offered");
});
