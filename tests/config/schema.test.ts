// The schema checks itself: names unique and well-formed, every default accepted by its own
// validation (typed and as text), enum defaults among the values, everything frozen.
import test from 'ava';
import {
  CONFIG_KEYS,
  type ConfigValue,
  type KeySpec,
  USER_FIELDS,
} from '../../src/config/schema.ts';
import { parseValue } from '../../src/config/validate.ts';

const ALL = [...CONFIG_KEYS, ...USER_FIELDS];

/** How an operator would write the value in the config file. */
function asText(value: ConfigValue): string {
  return Array.isArray(value) ? value.join(', ') : String(value);
}

test('key names are unique, lower case, and usable as `key = value`', (t) => {
  const names = ALL.map((k) => k.name);
  t.is(new Set(names).size, names.length);
  for (const name of names) t.regex(name, /^[a-z][a-z0-9_]*$/);
});

test('every default passes its own validation, typed and written as text', (t) => {
  for (const spec of ALL) {
    t.deepEqual(parseValue(spec, spec.default), spec.default, `${spec.name} typed`);
    t.deepEqual(parseValue(spec, asText(spec.default)), spec.default, `${spec.name} as text`);
  }
});

test('defaults have the JavaScript type their key type promises', (t) => {
  const expected: Record<KeySpec['type'], string> = {
    int: 'number',
    number: 'number',
    duration: 'number',
    bool: 'boolean',
    string: 'string',
    list: 'object',
    enum: '',
  };
  for (const spec of ALL) {
    if (spec.type === 'enum') continue;
    const kind: string = typeof spec.default;
    t.is(kind, expected[spec.type], spec.name);
    if (spec.type === 'list') t.true(Array.isArray(spec.default), spec.name);
    if (spec.type === 'int' || spec.type === 'duration')
      t.true(Number.isSafeInteger(spec.default), spec.name);
  }
});

test('enums have meanings for every value and their default is one of them', (t) => {
  for (const spec of ALL.filter((k) => k.type === 'enum')) {
    const values = spec.values ?? {};
    t.true(Object.keys(values).length > 0, spec.name);
    t.true(Object.hasOwn(values, String(spec.default)), `${spec.name} default ${spec.default}`);
    for (const [code, meaning] of Object.entries(values))
      t.true(meaning.trim().length > 0, `${spec.name}=${code}`);
    // Integer-coded levels keep numbers; named enums keep strings.
    const numeric = Object.keys(values).every((c) => /^-?\d+$/.test(c));
    t.is(typeof spec.default, numeric ? 'number' : 'string', spec.name);
  }
  for (const spec of ALL.filter((k) => k.type !== 'enum')) t.is(spec.values, undefined, spec.name);
});

test('numeric defaults lie inside their range and ranges are ordered', (t) => {
  for (const spec of ALL.filter((k) => ['int', 'number', 'duration'].includes(k.type))) {
    t.not(spec.min, undefined, `${spec.name} has a min`);
    t.not(spec.max, undefined, `${spec.name} has a max`);
    t.true(spec.min! <= (spec.default as number), spec.name);
    t.true((spec.default as number) <= spec.max!, spec.name);
  }
});

test('every key has a one-line help, a section, and durations are in seconds', (t) => {
  for (const spec of ALL) {
    t.true(spec.help.length > 10 && !spec.help.includes('\n'), spec.name);
    t.true(spec.section.length > 0, spec.name);
    if (spec.type === 'duration') t.regex(spec.unit ?? '', /^seconds/, spec.name);
  }
});

test('money keys are limited to micro-unit precision', (t) => {
  const money = ALL.filter((k) => k.unit?.startsWith('currency'));
  t.true(money.length >= 10);
  for (const spec of money) t.is(spec.decimals, 6, spec.name);
});

test('the schema cannot be changed at run time', (t) => {
  t.true(Object.isFrozen(CONFIG_KEYS));
  t.true(Object.isFrozen(USER_FIELDS));
  for (const spec of ALL) {
    t.true(Object.isFrozen(spec), spec.name);
    if (spec.values) t.true(Object.isFrozen(spec.values), spec.name);
    if (Array.isArray(spec.default)) t.true(Object.isFrozen(spec.default), spec.name);
  }
  t.throws(() => {
    (CONFIG_KEYS[0] as { default: ConfigValue }).default = 1;
  });
});
