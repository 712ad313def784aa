// The config parser reads operator files and console input: whatever it is given, it either
// returns values or throws a coded TollgateError, never a TypeError or a hang.
import test from 'ava';
import fc from 'fast-check';
import { parseConfigFile } from '../../src/config/file.ts';
import { CONFIG_KEYS, type ConfigValue } from '../../src/config/schema.ts';
import { parseValue, validateConfig } from '../../src/config/validate.ts';
import { TollgateError } from '../../src/errors.ts';

function onlyCodedErrors(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch (err) {
    return err instanceof TollgateError && err.code.startsWith('TG_CONFIG_');
  }
}

const lineish = fc.array(
  fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.constantFrom(
      '=',
      '#',
      '"',
      "'",
      ' # ',
      '\r',
      '\n',
      'MAXCALLPERIP',
      'maxcallperip',
      '__proto__',
    ),
  ),
  { maxLength: 30 },
);

test('any text: parseConfigFile returns values or throws a config error', (t) => {
  fc.assert(
    fc.property(lineish, (parts) =>
      onlyCodedErrors(() => parseConfigFile(parts.join(''), 'fuzz.conf')),
    ),
  );
  t.pass();
});

test("any input for any key: parseValue returns a value of the key's kind or a config error", (t) => {
  const raw = fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.string({ maxLength: 8 }), { maxLength: 4 }),
  );
  fc.assert(
    fc.property(fc.constantFrom(...CONFIG_KEYS), raw, (spec, value) =>
      onlyCodedErrors(() => {
        const parsed: ConfigValue = parseValue(spec, value);
        // What was accepted must be accepted again unchanged (values are canonical).
        if (JSON.stringify(parseValue(spec, parsed)) !== JSON.stringify(parsed))
          throw new Error('not canonical');
      }),
    ),
  );
  t.pass();
});

test('any accepted file content also validates or fails with one TG_CONFIG_INVALID', (t) => {
  const entry = fc.tuple(
    fc.constantFrom(...CONFIG_KEYS.map((k) => k.name)),
    fc.string({ maxLength: 12 }),
  );
  fc.assert(
    fc.property(fc.uniqueArray(entry, { selector: (e) => e[0], maxLength: 8 }), (entries) => {
      try {
        validateConfig(Object.fromEntries(entries));
        return true;
      } catch (err) {
        return err instanceof TollgateError && err.code === 'TG_CONFIG_INVALID';
      }
    }),
  );
  t.pass();
});
