import { Writable } from 'node:stream';
import test from 'ava';
import { Settings } from '../../src/config/settings.ts';
import { passwordWeakness, verifyPassword } from '../../src/control/passwords.ts';
import { UserService } from '../../src/control/users.ts';
import { computeHa1 } from '../../src/crypto/digest.ts';
import { createLogger } from '../../src/log.ts';
import { Store } from '../../src/store/store.ts';
import { tempDir } from '../helpers/tmp.ts';

function setup(t: import('ava').ExecutionContext, fileValues: Record<string, unknown> = {}) {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _e, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const log = createLogger({ destination });
  const store = Store.open(tempDir(t));
  t.teardown(() => store.close());
  const settings = new Settings(store, fileValues, log);
  return { store, settings, users: new UserService(store, settings, log), lines };
}

test('a user is stored with digest HA1s and an argon2id verifier, never the password', (t) => {
  const { store, users, lines } = setup(t);
  users.add('alice', 'Tr0ub4dor&3x');
  const record = store.tables.users.get('alice')!;
  const realm = users.realm;
  t.is(record.secrets['ha1:MD5'], computeHa1('MD5', 'alice', realm, 'Tr0ub4dor&3x'));
  t.is(users.ha1('alice', 'SHA-256'), computeHa1('SHA-256', 'alice', realm, 'Tr0ub4dor&3x'));
  t.is(
    users.ha1('alice', 'SHA-512-256'),
    computeHa1('SHA-512-256', 'alice', realm, 'Tr0ub4dor&3x'),
  );
  t.true(verifyPassword('Tr0ub4dor&3x', record.secrets.argon2id!));
  t.false(verifyPassword('Tr0ub4dor&3y', record.secrets.argon2id!));
  t.false(JSON.stringify(record).includes('Tr0ub4dor'), 'the password is not in the record');
  t.false(lines.join('').includes('Tr0ub4dor'), 'nor in the log');
});

test('weak passwords are refused and nothing is stored', (t) => {
  const { store, users } = setup(t);
  for (const [password, why] of [
    ['abc', /shorter than/],
    ['password1', /common password/],
    ['xbob-secret9', /contains the username/],
    ['12345678', /sequence/],
    ['abcdefghij', /sequence/],
    ['zzzzzzzzzz', /repeated/],
    ['onlyletterslong', /one kind of character/],
  ] as const) {
    const err = t.throws(() => users.add('bob', password));
    t.is((err as unknown as { code: string }).code, 'TG_USER_WEAK_PASSWORD', password);
    t.regex(err!.message, why, password);
    t.false(err!.message.includes(password), 'the message does not echo the password');
  }
  t.is(store.tables.users.getCount(), 0);
});

test('without enforcestrongauth only minpwdlength applies', (t) => {
  t.is(passwordWeakness('bob', 'bobbob', 4, false), null);
  t.regex(passwordWeakness('bob', 'bob', 4, false)!, /minpwdlength \(4\)/);
});

test('a generated password is strong, returned once, and works', (t) => {
  const { users } = setup(t);
  const { generatedPassword } = users.add('carol', undefined);
  t.truthy(generatedPassword);
  t.is(passwordWeakness('carol', generatedPassword!, 4, true), null);
  t.is(users.ha1('carol', 'MD5'), computeHa1('MD5', 'carol', users.realm, generatedPassword!));
  t.false('generatedPassword' in users.get('carol'));
});

test('fields are validated against the per-user schema; bad ones change nothing', (t) => {
  const { users } = setup(t);
  users.add('dave', 'G00d-enough-pw');
  const err = t.throws(() => users.set('dave', 'colour', 'red'));
  t.regex(err!.message, /unknown user field "colour"/);
  t.deepEqual(users.get('dave').fields, {});
  t.throws(() => users.set('nobody', 'password', 'G00d-enough-pw'), { message: /no user nobody/ });
  t.throws(() => users.add('bad name', 'G00d-enough-pw'), { message: /bad user name/ });
  t.throws(() => users.add('dave', 'G00d-enough-pw'), { message: /already exists/ });
});

test('changing the password replaces every secret; delete removes the account', (t) => {
  const { users } = setup(t);
  users.add('erin', 'First-Passw0rd');
  const before = users.ha1('erin', 'MD5');
  users.set('erin', 'password', 'Second-Passw0rd');
  t.not(users.ha1('erin', 'MD5'), before);
  t.is(users.ha1('erin', 'MD5'), computeHa1('MD5', 'erin', users.realm, 'Second-Passw0rd'));
  users.del('erin');
  t.is(users.ha1('erin', 'MD5'), undefined);
  t.throws(() => users.del('erin'), { message: /no user erin/ });
});

test('IP authentication: needauth 1 by address, 3 by address and tech prefix, 2 never', (t) => {
  const { users } = setup(t);
  users.add('pbx', 'Office-link-77x');
  users.set('pbx', 'needauth', '1');
  users.set('pbx', 'authip', '192.0.2.0/28');
  t.deepEqual(users.ipAuthenticate('192.0.2.9', '0044123'), { name: 'pbx', dialled: '0044123' });
  t.is(users.ipAuthenticate('192.0.2.99', '0044123'), undefined, 'outside its authip');

  users.set('pbx', 'needauth', '3');
  t.is(users.ipAuthenticate('192.0.2.9', '0044123'), undefined, 'no tech prefix set: nobody');
  users.set('pbx', 'techprefix', '9191');
  t.deepEqual(users.ipAuthenticate('192.0.2.9', '91910044123'), {
    name: 'pbx',
    dialled: '0044123',
  });
  t.is(users.ipAuthenticate('192.0.2.9', '0044123'), undefined, 'without the prefix');

  users.set('pbx', 'needauth', '2');
  t.is(
    users.ipAuthenticate('192.0.2.9', '91910044123'),
    undefined,
    'a prefix alone proves nothing',
  );
  users.del('pbx');
  t.is(users.ipAuthenticate('192.0.2.9', '91910044123'), undefined);
});

test('needauth 6 authenticates by address and source port (authport); 0 and 5 prove nothing and are refused under enforcestrongauth; undefined values refused', (t) => {
  const { users, store } = setup(t);
  users.add('gw', 'Gateway-link-88x');
  users.set('gw', 'authip', '192.0.2.0/28');
  users.set('gw', 'needauth', '6');
  t.is(users.ipAuthenticate('192.0.2.9', '0044123', 5060), undefined, 'authport unset: nobody');
  users.set('gw', 'authport', '5080');
  t.deepEqual(users.ipAuthenticate('192.0.2.9', '0044123', 5080), {
    name: 'gw',
    dialled: '0044123',
  });
  t.is(users.ipAuthenticate('192.0.2.9', '0044123', 5081), undefined, 'another source port');
  t.is(users.ipAuthenticate('192.0.2.99', '0044123', 5080), undefined, 'another address');
  t.throws(() => users.set('gw', 'authport', '70000'), { message: /authport/ });

  for (const value of ['0', '5']) {
    const err = t.throws(() => users.set('gw', 'needauth', value));
    t.regex(err.message, /proves nothing/);
  }
  for (const value of ['7', '-1', 'ip', '']) t.throws(() => users.set('gw', 'needauth', value));
  t.is(store.tables.users.get('gw')!.fields.needauth, 6, 'a refused value changes nothing');
});

test('needauth 0 is accepted once enforcestrongauth is off, and authenticates nobody by address', (t) => {
  const { users } = setup(t, { enforcestrongauth: false });
  users.add('open', 'Open-door-77x');
  users.set('open', 'authip', '192.0.2.0/28');
  users.set('open', 'needauth', '0');
  t.is(users.ipAuthenticate('192.0.2.9', '100', 5060), undefined);
});
