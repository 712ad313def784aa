// Money is exact: decimal text in and out, integer micro-units in between, never a float.
import test from 'ava';
import fc from 'fast-check';
import {
  formatMoney,
  fromConfig,
  type Micros,
  micros,
  mulDivCeil,
  parseMoney,
} from '../../../src/control/billing/money.ts';

test('decimal text is read exactly into micro-units and written back', (t) => {
  t.is<unknown, unknown>(parseMoney('12.34567'), 12_345_670);
  t.is<unknown, unknown>(parseMoney('0.000001'), 1);
  t.is<unknown, unknown>(parseMoney('10'), 10_000_000);
  t.is<unknown, unknown>(parseMoney(' 0.1 '), 100_000);
  t.is<unknown, unknown>(parseMoney('-3.5', 'adjustment', { negative: true }), -3_500_000);
  t.is<unknown, unknown>(formatMoney(12_345_670), '12.34567');
  t.is<unknown, unknown>(formatMoney(10_000_000), '10.00');
  t.is<unknown, unknown>(formatMoney(1), '0.000001');
  t.is<unknown, unknown>(formatMoney(-3_500_000), '-3.50');
});

test('bad amounts are refused naming the argument', (t) => {
  for (const bad of ['1.2345678', '1e3', 'abc', '', '1,5', '0x10', 'NaN', '-1', '99999999999']) {
    const err = t.throws(() => parseMoney(bad, 'amount'));
    t.is<unknown, unknown>((err as { code?: string }).code, 'TG_BILLING_BAD_AMOUNT', bad);
    t.regex(err!.message, /bad amount/);
  }
});

test('a float never becomes money: micros() refuses anything but a safe integer', (t) => {
  for (const bad of [0.1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60])
    t.throws(() => micros(bad), { code: 'TG_BILLING_NOT_MONEY' } as never);
  t.is<unknown, unknown>(micros(5), 5);
});

test('config numbers become micros through their decimal text (0.1 is exactly 100000)', (t) => {
  t.is<unknown, unknown>(fromConfig(0.1), 100_000);
  t.is<unknown, unknown>(fromConfig(0.3), 300_000);
  t.is<unknown, unknown>(fromConfig(123456789.123456), 123_456_789_123_456);
  t.is<unknown, unknown>(fromConfig(1e-6), 1);
});

test('property: format then parse is the identity, and sums of parsed text are exact', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1_000_000_000_000_000 }), (n) => {
      return parseMoney(formatMoney(n as Micros)) === n;
    }),
  );
  // Ten times 0.1 is exactly 1 (in floats it is 0.9999999999999999).
  let sum = 0;
  for (let i = 0; i < 10; i++) sum += parseMoney('0.1');
  t.is<unknown, unknown>(sum, 1_000_000);
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 10_000_000_000 }),
      fc.integer({ min: 0, max: 100_000 }),
      fc.integer({ min: 1, max: 3600 }),
      (a, b, c) => {
        const r = mulDivCeil(a as Micros, b, c);
        return Number.isSafeInteger(r) && r * c >= a * b - 0 && (r - 1) * c < a * b;
      },
    ),
  );
  t.pass();
});
