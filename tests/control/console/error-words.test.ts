// Every coded error of every catalogue (src/**/errors.ts), rendered with stand-in arguments,
// reads without a duplicated word; so do the password reasons that fill TG_USER_WEAK_PASSWORD
// (the case that once printed "(enforcestrongauth) (enforcestrongauth)"). Messages that the
// daemon builds at run time are checked where they are printed: tests/control/console/exit-codes.test.ts.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { ControlErrors } from '../../../src/control/errors.ts';
import { passwordWeakness } from '../../../src/control/passwords.ts';
import type { ErrorFactory } from '../../../src/errors.ts';
import { duplicatedWords } from './words.ts';

const SRC = join(import.meta.dirname, '../../../src');

function catalogues(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return catalogues(path);
    return /(^|-)errors\.ts$/.test(entry.name) ? [path] : [];
  });
}

function isFactory(value: unknown): value is ErrorFactory {
  return typeof value === 'function' && typeof (value as { code?: unknown }).code === 'string';
}

test('no error of any catalogue repeats a word', async (t) => {
  let checked = 0;
  for (const file of catalogues(SRC)) {
    const module = (await import(file)) as Record<string, unknown>;
    for (const catalogue of Object.values(module)) {
      if (catalogue === null || typeof catalogue !== 'object') continue;
      for (const factory of Object.values(catalogue)) {
        if (!isFactory(factory)) continue;
        // Distinct stand-ins, so a template that repeats itself shows, and one that repeats
        // an argument (the same %s meant twice) does not count as a duplicated word.
        const args = Array.from({ length: 8 }, (_, i) => `arg${i + 1}`);
        const message = new factory(...args).message;
        t.deepEqual(duplicatedWords(message), [], `${factory.code}: ${message}`);
        checked++;
      }
    }
  }
  t.true(checked >= 50, `checked ${checked} codes`);
});

test('each weak-password reason names its key once in the error', (t) => {
  const cases: Array<[string, string, number, boolean]> = [
    ['bob', 'ab1', 4, true],
    ['bob', 'abcdef1', 4, true],
    ['bob', 'bob-Secret-9', 4, true],
    ['bob', 'password1', 4, true],
    ['bob', 'aaaaaaaaaaaa', 4, true],
    ['bob', 'qwertyuiop', 4, true],
    ['bob', 'onlylowercaseletters', 4, true],
    ['bob', 'ab', 4, false],
  ];
  for (const [user, password, min, strong] of cases) {
    const reason = passwordWeakness(user, password, min, strong);
    t.truthy(reason, password);
    const message = new ControlErrors.TG_USER_WEAK_PASSWORD(user, reason).message;
    t.deepEqual(duplicatedWords(message), [], message);
  }
  t.regex(passwordWeakness('bob', 'aaaaaaaaaaaa', 4, true)!, /\(enforcestrongauth\)$/);
});

test('the duplicate finder finds what it should', (t) => {
  t.deepEqual(duplicatedWords('refusing x: too short (enforcestrongauth) (enforcestrongauth)'), [
    '(enforcestrongauth) twice',
  ]);
  t.deepEqual(duplicatedWords('no ban for for 10.0.0.1'), ['"for for"']);
  t.deepEqual(duplicatedWords('accepted 0 0 or 1'), []);
  t.deepEqual(duplicatedWords('refusing to ban 10.0.0.1: it covers 10.0.0.1, an address'), []);
});
