import test from 'ava';
import {
  defaultConfig,
  findKey,
  findUserField,
  parseValue,
  redactConfig,
  validateConfig,
  validateUserFields,
} from '../../src/config/validate.ts';
import { registeredErrorCodes, TollgateError } from '../../src/errors.ts';

const parse = (name: string, raw: unknown) => parseValue(findKey(name), raw);

function codeOf(fn: () => unknown): {
  code: string;
  message: string;
  details: Record<string, unknown>;
} {
  try {
    fn();
  } catch (err) {
    if (err instanceof TollgateError) return err;
    throw err;
  }
  throw new Error('expected an error');
}

// ── bad values ──────────────────────────────────────────────────────────────────────────

test('an out-of-range level names the range and every meaning, the default marked', (t) => {
  const err = codeOf(() => parse('allowtrustedip', '9'));
  t.is(err.code, 'TG_CONFIG_BAD_VALUE');
  t.is(
    err.message,
    'bad value "9" for allowtrustedip: accepted 0..4 (0=no, 1=my ip only, 2=private ips only, 3=yes (default), 4=everywhere including admin console)',
  );
});

test('integers outside the range, or not plain integers, are refused with the range', (t) => {
  for (const raw of ['-5', '1e3', '0x10', '12abc', '', ' ', 3.5, Number.NaN, null, true, [1]]) {
    const err = codeOf(() => parse('maxsubsmsgcount', raw));
    t.is(err.code, 'TG_CONFIG_BAD_VALUE', String(raw));
    t.regex(err.message, /for maxsubsmsgcount: accepted an integer 0\.\.100000000 messages$/);
  }
  t.is(parse('maxsubsmsgcount', ' 39000 '), 39000);
  t.is(parse('maxsubsipauthrequest', '-1'), -1);
  t.is(codeOf(() => parse('maxsubsipauthrequest', '-2')).code, 'TG_CONFIG_BAD_VALUE');
  t.regex(codeOf(() => parse('quotadiscreason', 200)).message, /400\.\.699 SIP status code/);
});

test('booleans accept true/false/1/0/yes/no/on/off in any case, nothing else', (t) => {
  for (const word of ['true', 'TRUE', '1', 'yes', 'On', 1, true])
    t.true(parse('trustsubnet', word) as boolean);
  for (const word of ['false', '0', 'no', 'OFF', 0, false])
    t.false(parse('trustsubnet', word) as boolean);
  const err = codeOf(() => parse('trustsubnet', 'maybe'));
  t.is(err.message, 'bad value "maybe" for trustsubnet: accepted true/false, 1/0, yes/no, on/off');
  t.is(codeOf(() => parse('trustsubnet', 2)).code, 'TG_CONFIG_BAD_VALUE');
});

test('levels that the reference calls true/false accept those words', (t) => {
  t.is(parse('checkrtpaddr', false), 0);
  t.is(parse('checkrtpaddr', '2'), 2);
  t.is(parse('calcmaxsl', '-1'), -1);
  t.regex(codeOf(() => parse('calcmaxsl', '2')).message, /accepted -1\.\.1 \(-1=auto detect/);
});

test("durations are stored in seconds and accept the reference's wording", (t) => {
  t.is(parse('maxsubsmsgperiod', '3 minute'), 180);
  t.is(parse('maxsubsmsgperiod', '3m'), 180);
  t.is(parse('maxsubsmsgperiod', 180), 180);
  t.is(parse('maxwrongmsgperiod', '1 hour'), 3600);
  t.is(parse('reenabledosblocked', '6 hours'), 21_600);
  t.is(parse('reenabledosblocked', '1h30m'), 5400);
  t.is(parse('reenabledosblocked', '2 days'), 172_800);
  for (const raw of ['2 fortnights', '1.5h', '-3m', 'h', 90.5]) {
    t.is(codeOf(() => parse('reenabledosblocked', raw)).code, 'TG_CONFIG_BAD_VALUE', String(raw));
  }
  t.regex(
    codeOf(() => parse('maxsubsmsgperiod', '3 days')).message,
    /accepted a duration 1\.\.86400 seconds/,
  );
});

test('money keeps at most micro-unit precision; maxcallperperiod is a fraction of a day', (t) => {
  t.is(parse('maxcostperip', '10.5'), 10.5);
  t.is(parse('maxcostperip', '0.000001'), 0.000001);
  t.regex(codeOf(() => parse('maxcostperip', '0.0000001')).message, /at most 6 decimals/);
  t.is(codeOf(() => parse('maxcostperip', '-1')).code, 'TG_CONFIG_BAD_VALUE');
  t.is(parse('maxcallperperiod', '0.5'), 0.5);
  t.is(codeOf(() => parse('maxcallperperiod', '0')).code, 'TG_CONFIG_BAD_VALUE');
  t.regex(findKey('maxcallperperiod').help, /1\.0 = one day/);
});

test('named enums accept their names only, and say which they are', (t) => {
  t.is(parse('dataplanemode', 'xdp-generic'), 'xdp-generic');
  t.is(parse('dataplanemode', 'NFT'), 'nft');
  const err = codeOf(() => parse('dataplanemode', 'ebpf'));
  t.regex(err.message, /accepted one of auto, xdp, xdp-generic, nft, off \(auto=detect/);
  t.is(codeOf(() => parse('loglevel', 'verbose')).code, 'TG_CONFIG_BAD_VALUE');
});

test('lists split on commas, drop empty items, and check each item', (t) => {
  t.deepEqual(parse('allowua', 'MyApp, tollgate-phone,,'), ['MyApp', 'tollgate-phone']);
  t.deepEqual(parse('allowua', ''), []);
  t.deepEqual(parse('trustedip', '10.0.0.0/8, 2001:db8::/32, 192.0.2.7'), [
    '10.0.0.0/8',
    '2001:db8::/32',
    '192.0.2.7',
  ]);
  t.deepEqual(parse('trustedip', ['10.1.2.3']), ['10.1.2.3']);
  t.true(Object.isFrozen(parse('trustedip', '10.0.0.1')));
  for (const raw of ['10.0.0.0/33', 'example.com', '10.0.0.0/8, nonsense', [1]]) {
    t.is(codeOf(() => parse('trustedip', raw)).code, 'TG_CONFIG_BAD_VALUE', String(raw));
  }
  t.deepEqual(parse('dataplaneinterfaces', 'eth0, veth-a'), ['eth0', 'veth-a']);
  t.deepEqual(parse('dataplaneexclude', 'docker*, veth?'), ['docker*', 'veth?']);
  t.is(codeOf(() => parse('dataplaneexclude', 'eth0/1')).code, 'TG_CONFIG_BAD_VALUE');
  t.is(
    codeOf(() => parse('dataplaneinterfaces', 'a-very-long-interface-name')).code,
    'TG_CONFIG_BAD_VALUE',
  );
  t.is(
    codeOf(() =>
      parse(
        'allowua',
        Array.from({ length: 1001 }, () => 'x'),
      ),
    ).code,
    'TG_CONFIG_BAD_VALUE',
  );
});

test('addresses and limits strings are checked', (t) => {
  t.is(parse('sipaddress', '::'), '::');
  t.regex(
    codeOf(() => parse('sipaddress', 'localhost')).message,
    /accepted an IPv4 or IPv6 address/,
  );
  t.is(parse('licensecfg', 'maxcalls=200, maxusers=5000'), 'maxcalls=200, maxusers=5000');
  t.is(codeOf(() => parse('licensecfg', 'maxcalls=lots')).code, 'TG_CONFIG_BAD_VALUE');
  t.is(codeOf(() => parse('allowua', 'bad\u0000ua')).code, 'TG_CONFIG_BAD_VALUE');
});

test('a refused secret is never echoed in the message', (t) => {
  const err = codeOf(() => parse('apiv2key', 'has a space SECRETVALUE'));
  t.is(err.code, 'TG_CONFIG_BAD_VALUE');
  t.false(err.message.includes('SECRETVALUE'));
  t.regex(err.message, /^bad value "\*\*\*" for apiv2key/);
  t.is(parse('apiv2key', '48213'), '48213');
});

// ── unknown keys ────────────────────────────────────────────────────────────────────────

test('an unknown key names the three closest keys, nearest first', (t) => {
  const err = codeOf(() => findKey('maxcalperip'));
  t.is(err.code, 'TG_CONFIG_UNKNOWN_KEY');
  t.regex(err.message, /^unknown config key "maxcalperip"; closest: maxcallperip, /);
  t.is((err.details.closest as string[]).length, 3);
  t.true((err.details.closest as string[]).includes('maxcostperip'));
});

test("suggestions forgive swapped letters and the reference's spelling", (t) => {
  t.is((codeOf(() => findKey('maxcallpreip')).details.closest as string[])[0], 'maxcallperip');
  // The reference writes "treshold"; an operator will type "threshold".
  t.is(
    (codeOf(() => findKey('blockscanning_threshold')).details.closest as string[])[0],
    'blockscanning_treshold',
  );
  t.is(
    (codeOf(() => findKey('useshadigestauth')).details.closest as string[])[0],
    'useshadigestauh',
  );
});

test("key lookup is case-insensitive, so the reference's upper-case names work", (t) => {
  t.is(findKey('MAXSUBSMSGCOUNT').name, 'maxsubsmsgcount');
  t.is(findKey(' MaxWrongMsgPeriod ').name, 'maxwrongmsgperiod');
});

test('per-user fields are not global keys, and have their own lookup', (t) => {
  t.is(codeOf(() => findKey('maxmonthlycredit')).code, 'TG_CONFIG_UNKNOWN_KEY');
  t.is(findUserField('MaxLines').name, 'maxlines');
  t.regex(codeOf(() => findUserField('maxline')).message, /closest: maxlines/);
  const user = validateUserFields({ maxlines: '2', postpaid: 'yes', maxmonthlycredit: '50' });
  t.is(user.maxlines, 2);
  t.true(user.postpaid as boolean);
  t.is(user.needauth, 4);
  t.regex(
    codeOf(() => validateUserFields({ maxlines: 0 })).message,
    /maxlines: accepted an integer 1\.\.100000/,
  );
});

// ── whole configuration ────────────────────────────────────────────────────────────────

test('an empty input gives the defaults, frozen', (t) => {
  const cfg = validateConfig({});
  t.deepEqual(cfg, defaultConfig());
  t.true(Object.isFrozen(cfg));
  t.true(Object.isFrozen(defaultConfig()));
  t.throws(() => {
    (defaultConfig() as Record<string, unknown>).maxcallperip = 5;
  });
});

test('input is merged over the defaults, from text or typed values', (t) => {
  const cfg = validateConfig({
    MAXCALLPERIP: '20',
    enablefirewall: 5,
    blockua: 'evil-ua',
    checkrtpaddr: '2',
    acceptunenforced: 'checkrtpaddr',
  });
  t.is(cfg.maxcallperip, 20);
  t.is(cfg.enablefirewall, 5);
  t.deepEqual(cfg.blockua, ['evil-ua']);
  t.is(cfg.checkrtpaddr, 2);
  t.is(cfg.maxsubsmsgcount, 39_000);
  t.true(Object.isFrozen(cfg));
});

test('every problem is reported at once, in one TG_CONFIG_INVALID', (t) => {
  const err = codeOf(() =>
    validateConfig({ allowtrustedip: 9, maxcalperip: 3, minpwdlength: 'long', trustlanip: 'yes' }),
  );
  t.is(err.code, 'TG_CONFIG_INVALID');
  t.regex(err.message, /^invalid configuration \(3 problems\):/);
  t.regex(err.message, /bad value "9" for allowtrustedip: accepted 0\.\.4/);
  t.regex(err.message, /unknown config key "maxcalperip"; closest: maxcallperip/);
  t.regex(err.message, /bad value "long" for minpwdlength: accepted an integer 1\.\.128/);
  const problems = err.details.problems as { key: string; code: string }[];
  t.deepEqual(
    problems.map((p) => [p.key, p.code]),
    [
      ['allowtrustedip', 'TG_CONFIG_BAD_VALUE'],
      ['maxcalperip', 'TG_CONFIG_UNKNOWN_KEY'],
      ['minpwdlength', 'TG_CONFIG_BAD_VALUE'],
    ],
  );
});

test('the same key twice in different case is refused rather than one silently winning', (t) => {
  const err = codeOf(() => validateConfig({ maxcallperip: 1, MAXCALLPERIP: 2 }));
  t.is(err.code, 'TG_CONFIG_INVALID');
  t.regex(err.message, /"MAXCALLPERIP" repeats "maxcallperip"/);
});

test('values valid alone but contradictory together are refused', (t) => {
  let err = codeOf(() => validateConfig({ mediaportmin: 30000 }));
  t.regex(err.message, /mediaportmin \(30000\) must be lower than mediaportmax \(20000\)/);
  err = codeOf(() => validateConfig({ sipsport: 5060 }));
  t.regex(err.message, /sipport and sipsport are both 5060/);
  err = codeOf(() => validateConfig({ sipport: 15060 }));
  t.regex(err.message, /sipport 15060 lies inside the media port range 10000\.\.20000/);
  t.notThrows(() =>
    validateConfig({
      sipport: 5070,
      mediaportmin: 30000,
      mediaportmax: 40000,
      acceptunenforced: 'mediaportmin,mediaportmax',
    }),
  );
});

test('secrets are redacted; an unset secret stays visibly unset', (t) => {
  const cfg = validateConfig({
    apiv2key: '48213',
    httpapikey: 'Zq9-very-random',
    acceptunenforced: 'apiv2key,httpapikey',
  });
  const shown = redactConfig(cfg);
  t.is(shown.apiv2key, '***');
  t.is(shown.httpapikey, '***');
  t.is(shown.serverapikey, '');
  t.is(shown.maxcallperip, cfg.maxcallperip);
  t.false(JSON.stringify(shown).includes('48213'));
  t.is(cfg.apiv2key, '48213', 'the configuration itself keeps the value');
});

test('the config errors are registered in the config area', (t) => {
  for (const code of [
    'TG_CONFIG_UNKNOWN_KEY',
    'TG_CONFIG_BAD_VALUE',
    'TG_CONFIG_INVALID',
    'TG_CONFIG_SYNTAX',
  ]) {
    t.is(registeredErrorCodes().get(code), 'config', code);
  }
});

test('the realm and SIP domains are host names, nothing that could escape a header', (t) => {
  t.is(parse('realm', 'sip.example.com'), 'sip.example.com');
  for (const raw of ['', 'a"b', 'x y', 'a,b', '-lead']) {
    t.is(codeOf(() => parse('realm', raw)).code, 'TG_CONFIG_BAD_VALUE', raw);
  }
  t.deepEqual(parse('sipdomains', 'example.com, sip.example.org'), [
    'example.com',
    'sip.example.org',
  ]);
});
