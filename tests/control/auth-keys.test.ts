// The #12 keys about passwords and system limits that live with the accounts:
// validatepassword, securepasswords, uauthverifypwd, licensecfg (maxusers; maxcalls in billing).
import test from 'ava';
import { passwordWeakness } from '../../src/control/passwords.ts';
import { end, MONDAY, request, rig, tariffs } from './billing/helpers.ts';

test('validatepassword 0, 1 and 2 (enforcestrongauth off to see it alone)', (t) => {
  const r = rig(t, { enforcestrongauth: false, validatepassword: 1, minpwdlength: 6 });
  t.throws(() => r.users.add('bobby1', 'bobby1'), {
    message: /the same as the username \(validatepassword\)/,
  });
  t.throws(() => r.users.add('bobby2', 'abc'), { message: /shorter than minpwdlength \(6\)/ });
  r.users.add('bobby3', 'onlyletters');
  r.settings.set('validatepassword', '2');
  t.throws(() => r.users.add('bobby4', 'onlyletters'), {
    message: /needs letters and digits \(validatepassword 2\)/,
  });
  t.throws(() => r.users.add('bobby5', 'password1'), {
    message: /common password \(validatepassword 2\)/,
  });
  r.settings.set('validatepassword', '0');
  r.users.add('bobby6', 'x');
  t.is(passwordWeakness('a', 'a', 4, false, 0), null);
});

test('securepasswords 0 is refused in effect: the password is never stored, a warning says so', (t) => {
  const lines: string[] = [];
  const { createLogger } = require_();
  const log = createLogger({
    level: 'info',
    destination: { write: (l: string) => lines.push(l) } as never,
  });
  const r = rig(t, { securepasswords: 0 }, { log });
  r.users.add('clear', 'Tr0ub4dor-and-3');
  t.false(JSON.stringify(r.store.tables.users.get('clear')).includes('Tr0ub4dor'));
  t.true(lines.some((l) => /securepasswords 0 ignored/.test(l)));
});

function require_() {
  return { createLogger: LOGGER };
}

import { createLogger as LOGGER } from '../../src/log.ts';

test('uauthverifypwd: third-party password checks only when switched on', (t) => {
  const r = rig(t);
  r.users.add('vera', 'Correct-Horse-Battery-9');
  t.throws(() => r.users.verifyForThirdParty('vera', 'Correct-Horse-Battery-9'), {
    code: 'TG_USER_VERIFY_OFF',
  } as never);
  r.settings.set('uauthverifypwd', 'true');
  t.true(r.users.verifyForThirdParty('vera', 'Correct-Horse-Battery-9'));
  t.false(r.users.verifyForThirdParty('vera', 'wrong'));
});

test('licensecfg: maxusers refuses the account beyond it, maxcalls the call beyond it', (t) => {
  const r = rig(t, { licensecfg: 'maxusers=2,maxcalls=1' });
  tariffs(r, [['default', '', '0.01', '0', '1/1', '']]);
  r.user('lic1', { postpaid: 'true' });
  r.user('lic2', { postpaid: 'true' });
  t.throws(() => r.users.add('lic3', 'Correct-Horse-Battery-9'), {
    code: 'TG_USER_LICENSE',
  } as never);
  const a = request('lic1', '4930', MONDAY + 43_200_000);
  t.true(r.billing.calls.authorize(a).allow);
  const b = r.billing.calls.authorize(request('lic2', '4930', MONDAY + 43_200_000));
  t.deepEqual(b.allow ? null : [b.status, b.rule], [503, 'licensecfg']);
  r.billing.calls.ended(end(a, 5));
  t.true(r.billing.calls.authorize(request('lic2', '4930', MONDAY + 43_200_000)).allow);
});
