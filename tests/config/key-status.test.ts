// Every key says whether it does anything (src/config/spec.ts): an `enforced` key names the
// module that acts on it and a test that sets it to a non-default value and observes the
// effect; a `not-enforced` key names the issue that will enforce it and is refused at any
// value but its default unless the operator accepts that it is ignored.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { CONFIG_KEYS, type KeySpec, USER_FIELDS } from '../../src/config/schema.ts';
import { Settings } from '../../src/config/settings.ts';
import { key, notEnforced } from '../../src/config/spec.ts';
import { ConfigSchema, validateConfig } from '../../src/config/validate.ts';
import { createLogger } from '../../src/log.ts';
import { Store } from '../../src/store/store.ts';
import { tempDir } from '../helpers/tmp.ts';
import { unenforcedSample } from './unenforced-sample.ts';

const ROOT = join(import.meta.dirname, '..', '..');
/** The issues that will enforce the keys this version does not (the open wave). */
const OPEN_ISSUES = new Set([11, 12, 14]);
const quiet = createLogger({ level: 'silent' });

/** The key's name as a word of the file (a heuristic floor: the review checks the rest). */
function mentions(file: string, key: string): boolean {
  const text = readFileSync(join(ROOT, file), 'utf8');
  return new RegExp(`\\b${key}\\b`).test(text);
}

const ALL: Array<[string, KeySpec]> = [
  ...CONFIG_KEYS.map((spec): [string, KeySpec] => ['global', spec]),
  ...USER_FIELDS.map((spec): [string, KeySpec] => ['user', spec]),
];

// The refusal of keys not enforced is tested on a key table with one synthetic key and one
// synthetic per-user field that no version enforces: the mechanism keeps its tests whether or
// not a real key is still waiting for its issue (none is, since issue #10's wave).
const SYNTHETIC_ISSUE = 99;
const SYNTHETIC_KEY = key({
  name: 'synthetic_unenforced',
  status: notEnforced(SYNTHETIC_ISSUE),
  section: 'test',
  type: 'int',
  default: 0,
  min: 0,
  max: 10,
  help: 'a key for the tests of how keys not enforced are refused',
});
const SYNTHETIC_FIELD = key({
  name: 'synthetic_userfield',
  status: notEnforced(SYNTHETIC_ISSUE),
  section: 'user',
  type: 'bool',
  default: false,
  help: 'a per-user field for the same tests',
});
const SCHEMA = new ConfigSchema([...CONFIG_KEYS, SYNTHETIC_KEY], [...USER_FIELDS, SYNTHETIC_FIELD]);
const GLOBAL_SAMPLE = unenforcedSample(SCHEMA.keys)!;
const USER_SAMPLE = unenforcedSample(SCHEMA.userFields)!;
const FIXED = ALL.filter(([, spec]) => spec.status.state === 'fixed');

test('every enforced key names a module that reads it and a test that sets it', (t) => {
  const problems: string[] = [];
  for (const [scope, spec] of ALL) {
    const status = spec.status;
    if (status.state !== 'enforced') continue;
    for (const [what, file] of [
      ['module', status.module],
      ['test', status.test],
    ] as const) {
      if (!existsSync(join(ROOT, file)))
        problems.push(`${scope} ${spec.name}: ${what} ${file} does not exist`);
      else if (!mentions(file, spec.name))
        problems.push(`${scope} ${spec.name}: ${what} ${file} never names ${spec.name}`);
    }
  }
  t.deepEqual(problems, [], problems.join('\n'));
});

test('every key not enforced names the open issue that will enforce it', (t) => {
  const waiting = (specs: ReadonlyArray<KeySpec>) =>
    specs.flatMap((spec) =>
      spec.status.state === 'not-enforced' ? [[spec.name, spec.status.issue] as const] : [],
    );
  for (const [name, issue] of waiting(ALL.map(([, spec]) => spec)))
    t.true(OPEN_ISSUES.has(issue), `${name} points to issue #${issue}`);
  // None is left since issue #10's wave; the check still finds one where there is one.
  t.deepEqual(waiting(SCHEMA.keys).at(-1), [SYNTHETIC_KEY.name, SYNTHETIC_ISSUE]);
  t.false(OPEN_ISSUES.has(SYNTHETIC_ISSUE));
  t.log(`${waiting(ALL.map(([, spec]) => spec)).length} of ${ALL.length} keys are not enforced`);
});

test('the sample of a key not enforced comes from the synthetic table, not from a real key', (t) => {
  t.is(GLOBAL_SAMPLE.name, SYNTHETIC_KEY.name, 'every real global key is enforced or fixed');
  t.is(USER_SAMPLE.name, SYNTHETIC_FIELD.name, 'every real per-user field is enforced or fixed');
  t.is(unenforcedSample([SYNTHETIC_KEY])?.value, 1);
  t.is(unenforcedSample(CONFIG_KEYS.filter((k) => k.status.state !== 'not-enforced')), undefined);
});

test('a not-enforced key at a non-default value is refused, naming the key and the issue', (t) => {
  const { name, value } = GLOBAL_SAMPLE;
  const err = t.throws(() => SCHEMA.validateConfig({ [name]: value }));
  t.is(err?.message.match(new RegExp(`${name} is not enforced`))?.length, 1, err?.message);
  t.regex(err!.message, new RegExp(`issue #${SYNTHETIC_ISSUE}`));
  t.regex(err!.message, /--accept-unenforced/);
  // Its default is fine, and so is a listed acceptance.
  t.notThrows(() => SCHEMA.validateConfig({ [name]: SYNTHETIC_KEY.default }));
  t.is(SCHEMA.validateConfig({ [name]: value, acceptunenforced: name })[name], value);
  const typo = t.throws(() => SCHEMA.validateConfig({ acceptunenforced: `${name}x` }));
  t.regex(typo!.message, new RegExp(`acceptunenforced names "${name}x"`));
  // The daemon's own table does not know the synthetic key at all.
  t.throws(() => validateConfig({ [name]: value }), { message: /unknown config key/ });
});

test('set refuses a not-enforced key unless accepted; accepted keys are warned about at start', (t) => {
  const { name, text, value } = GLOBAL_SAMPLE;
  const dir = tempDir(t);
  const store = Store.open(dir);
  t.teardown(() => store.close());
  const settings = new Settings(store, {}, quiet, undefined, SCHEMA);
  const before = settings.valueOf(name);
  const refused = t.throws(() => settings.set(name, text));
  t.is((refused as { code?: string }).code, 'TG_CONFIG_NOT_ENFORCED');
  t.is(settings.valueOf(name), before, 'nothing changed');
  t.is(settings.set(name, text, { acceptUnenforced: true }).value, value);
  t.deepEqual(settings.valueOf('acceptunenforced'), [name]);
  // A restart (a new Settings over the same store) keeps both and warns.
  const again = new Settings(store, {}, quiet, undefined, SCHEMA);
  t.is(again.valueOf(name), value);
  const warnings = again.startupWarnings().map((w) => w.message);
  t.true(
    warnings.some((m) => new RegExp(`${name} is set but NOT ENFORCED`).test(m)),
    warnings.join('\n'),
  );
  // Enforced keys never need acceptance.
  t.is(again.set('maxcallperip', '12').value, 12);
});

test('a per-user field that is not enforced is refused by users set unless accepted', async (t) => {
  const { name, text, value } = USER_SAMPLE;
  const { UserService } = await import('../../src/control/users.ts');
  const dir = tempDir(t);
  const store = Store.open(dir);
  t.teardown(() => store.close());
  const settings = new Settings(store, {}, quiet, undefined, SCHEMA);
  const users = new UserService(store, settings, quiet);
  users.add('alice', 'Correct-Horse-Battery-9');
  const err = t.throws(() => users.set('alice', name, text));
  t.regex(err!.message, new RegExp(`${name} is not enforced.*issue #${SYNTHETIC_ISSUE}`));
  t.not(users.get('alice').fields[name], value, 'nothing stored');
  t.is(users.set('alice', name, text, { acceptUnenforced: true }).fields[name], value);
  t.true((settings.valueOf('acceptunenforced') as string[]).includes(name));
  // Enforced fields go through as before.
  t.is(users.set('alice', 'techprefix', '99').fields.techprefix, '99');
});

test('every fixed key names the feature tollgate lacks and accepts its safe value only', (t) => {
  t.true(FIXED.length > 0);
  for (const [scope, spec] of FIXED) {
    const reason = spec.status.state === 'fixed' ? spec.status.reason : '';
    t.regex(reason, /tollgate/, `${scope} ${spec.name}: the reason says what tollgate lacks`);
    t.regex(spec.help, /only .* accepted/, `${scope} ${spec.name}: the help says so`);
  }
});

for (const [scope, spec] of FIXED.filter(([s]) => s === 'global')) {
  test(`fixed key ${spec.name}: any other value is refused with the reason, even when accepted`, (t) => {
    const sample = unenforcedSample([{ ...spec, status: notEnforced(0) }])!;
    const reason = spec.status.state === 'fixed' ? spec.status.reason : '';
    t.is(validateConfig({ [spec.name]: spec.default })[spec.name], spec.default);
    for (const input of [
      { [spec.name]: sample.value },
      { [spec.name]: sample.value, acceptunenforced: spec.name },
    ]) {
      const err = t.throws(() => validateConfig(input));
      t.is(
        (err as { details?: { problems?: Array<{ code: string }> } }).details?.problems?.[0]?.code,
        'TG_CONFIG_FIXED',
      );
      t.true(
        err!.message.includes(`${spec.name} = ${sample.text} is refused: ${reason}`),
        err!.message,
      );
      t.notRegex(err!.message, /not enforced|accept-unenforced/);
    }
    const store = Store.open(tempDir(t));
    t.teardown(() => store.close());
    const settings = new Settings(store, {}, quiet);
    for (const options of [{}, { acceptUnenforced: true }]) {
      const err = t.throws(() => settings.set(spec.name, sample.text, options));
      t.is((err as { code?: string }).code, 'TG_CONFIG_FIXED', `${scope} ${spec.name}`);
    }
    t.is(settings.valueOf(spec.name), spec.default);
    t.deepEqual(settings.valueOf('acceptunenforced'), [], 'nothing accepted on the way');
  });
}

test('a fixed key: another value stored by an older version is ignored, warned about, and unset', (t) => {
  const dir = tempDir(t);
  const store = Store.open(dir);
  t.teardown(() => store.close());
  // As an older tollgate, which accepted it with acceptunenforced, left it in the store.
  store.durable(() => store.tables.config.put('callingcardauth', { value: 3, setAt: 1 }));
  const settings = new Settings(store, {}, quiet);
  t.is(settings.valueOf('callingcardauth'), 9, 'never in force');
  const warning = settings.startupWarnings().find((w) => w.key === 'callingcardauth');
  t.regex(
    warning?.message ?? '',
    /callingcardauth = 3 is stored by an older version and IGNORED: tollgate has no IVR/,
  );
  settings.unset('callingcardauth');
  t.is(store.tables.config.get('callingcardauth'), undefined);
  const again = new Settings(store, {}, quiet);
  t.false(again.startupWarnings().some((w) => w.key === 'callingcardauth'));
  // The same value in the config file is the operator's to fix: refused, naming the key.
  t.throws(() => new Settings(store, { callingcardauth: 3 }, quiet), {
    message: /callingcardauth = 3 is refused: tollgate has no IVR/,
  });
});

test('a restart-only key set at run time is read at its start value until the restart', (t) => {
  const dir = tempDir(t);
  const store = Store.open(dir);
  t.teardown(() => store.close());
  const settings = new Settings(store, { realm: 'old.example' }, quiet);
  const view = settings.view(['realm', 'minexpires'] as const);
  const result = settings.set('realm', 'new.example');
  t.false(result.live);
  t.is(view.realm, 'old.example', 'the subsystem still sees the start value');
  t.is(settings.valueOf('realm'), 'old.example');
  t.deepEqual(settings.restartPending(), ['realm']);
  t.is(settings.describe('realm').pending, 'new.example');
  // A live key changes at once through the same view.
  settings.set('minexpires', '120');
  t.is(view.minexpires, 120);
  // After the restart the new value is in force.
  const restarted = new Settings(store, { realm: 'old.example' }, quiet);
  t.is(restarted.view(['realm'] as const).realm, 'new.example');
});

test('a value stored by an older version for a key now not enforced does not block the start', (t) => {
  const { name, value } = GLOBAL_SAMPLE;
  const dir = tempDir(t);
  const store = Store.open(dir);
  t.teardown(() => store.close());
  // As an older tollgate, which accepted any valid value, left it in the store.
  store.durable(() => store.tables.config.put(name, { value, setAt: 1 }));
  const settings = new Settings(store, {}, quiet, undefined, SCHEMA);
  t.is(settings.valueOf(name), value);
  t.true(
    settings
      .startupWarnings()
      .some((w) => new RegExp(`${name} is set but NOT ENFORCED`).test(w.message)),
  );
  // The same value in the config file is the operator's to fix: refused, naming the key.
  t.throws(() => new Settings(store, { [name]: value }, quiet, undefined, SCHEMA), {
    message: new RegExp(`${name} is not enforced`),
  });
});
