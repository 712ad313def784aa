import test from 'ava';
import { defineErrors, registeredErrorCodes, TollgateError } from '../src/errors.ts';

test('a code can be defined only once across areas', (t) => {
  defineErrors('test-a', { TG_TESTONLY_ONE: 'one %s' });
  t.throws(() => defineErrors('test-b', { TG_TESTONLY_ONE: 'again' }), {
    message: /TG_TESTONLY_ONE defined by test-a and test-b/,
  });
});

test('errors carry their code, area and formatted message', (t) => {
  const E = defineErrors('test-c', { TG_TESTONLY_TWO: 'value %s out of %s' });
  const err = new E.TG_TESTONLY_TWO(5, '0..4');
  t.true(err instanceof TollgateError);
  t.is(err.code, 'TG_TESTONLY_TWO');
  t.is(err.area, 'test-c');
  t.is(err.message, 'value 5 out of 0..4');
  t.is(registeredErrorCodes().get('TG_TESTONLY_TWO'), 'test-c');
});

test('codes must follow the TG_AREA_NAME shape', (t) => {
  t.throws(() => defineErrors('test-d', { bad: 'x' } as Record<string, string>), {
    message: /bad error code/,
  });
});
