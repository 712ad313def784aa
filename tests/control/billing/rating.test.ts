// Rating: increments, connect fee, one rounding up; what a credit affords.
import test from 'ava';
import fc from 'fast-check';
import { type Micros, parseMoney } from '../../../src/control/billing/money.ts';
import {
  affordableSeconds,
  billedSeconds,
  callCost,
  parseIncrements,
  type Rate,
} from '../../../src/control/billing/rating.ts';

function rate(price: string, fee: string, inc: string): Rate {
  const [first, next] = parseIncrements(inc)!;
  return {
    prefix: '',
    pricePerMinute: parseMoney(price),
    connectFee: parseMoney(fee),
    first,
    next,
  };
}

test('billing increments 60/60, 30/6 and 1/1', (t) => {
  t.is<unknown, unknown>(billedSeconds(1, 60, 60), 60);
  t.is<unknown, unknown>(billedSeconds(61, 60, 60), 120);
  t.is<unknown, unknown>(billedSeconds(0, 30, 6), 30);
  t.is<unknown, unknown>(billedSeconds(30, 30, 6), 30);
  t.is<unknown, unknown>(billedSeconds(31, 30, 6), 36);
  t.is<unknown, unknown>(billedSeconds(41, 30, 6), 42);
  t.is<unknown, unknown>(billedSeconds(41, 1, 1), 41);
});

test("the file header's worked example: 0.60/min, fee 0.05, 30/6, 41 s costs 0.47", (t) => {
  t.is<unknown, unknown>(callCost(rate('0.60', '0.05', '30/6'), 41), parseMoney('0.47'));
  t.is<unknown, unknown>(
    callCost(rate('0.60', '0.05', '30/6'), 41, false),
    0,
    'not answered: free',
  );
  // Rounded once, up, to the micro-unit: 0.000007/min for 1 s is 0.00000011… → 0.000001.
  t.is<unknown, unknown>(callCost(rate('0.000007', '0', '1/1'), 1), 1);
});

test('what a credit affords: exact, to the increment', (t) => {
  // 0.60/min per second: 0.30 buys exactly 30 s and cost(30 s) is exactly 0.30.
  const r = rate('0.60', '0', '1/1');
  t.is<unknown, unknown>(affordableSeconds(r, parseMoney('0.30')), 30);
  t.is<unknown, unknown>(callCost(r, 30), parseMoney('0.30'));
  t.is<unknown, unknown>(affordableSeconds(rate('1', '0', '60/60'), parseMoney('0.99')), 0);
  t.is<unknown, unknown>(affordableSeconds(rate('1', '0', '60/60'), parseMoney('2.5')), 120);
  t.is<unknown, unknown>(
    affordableSeconds(rate('1', '0.5', '60/60'), parseMoney('0.4')),
    0,
    'fee alone too much',
  );
  t.is<unknown, unknown>(
    affordableSeconds(rate('0', '0', '1/1'), parseMoney('0')),
    undefined,
    'free: no limit',
  );
});

test('property: the affordable duration fits the credit and one more step does not', (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 50_000_000 }),
      fc.integer({ min: 0, max: 1_000_000 }),
      fc.constantFrom([60, 60], [30, 6], [1, 1], [6, 6]),
      fc.integer({ min: 0, max: 500_000_000 }),
      (price, fee, [first, next], credit) => {
        const r: Rate = {
          prefix: '',
          pricePerMinute: price as Micros,
          connectFee: fee as Micros,
          first: first!,
          next: next!,
        };
        const d = affordableSeconds(r, credit as Micros)!;
        if (d === 0) return callCost(r, 0) > credit;
        const cost = callCost(r, d);
        return (
          cost <= credit &&
          callCost(r, d + 1) > credit &&
          billedSeconds(d, first!, next!) === d &&
          Number.isSafeInteger(cost)
        );
      },
    ),
  );
  t.pass();
});

test('property: billed time is a whole number of steps past the first, never below the call', (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 100_000 }),
      fc.integer({ min: 1, max: 120 }),
      fc.integer({ min: 1, max: 60 }),
      (d, first, next) => {
        const b = billedSeconds(d, first, next);
        return (b - first) % next === 0 && (d <= first ? b === first : b >= d && b - d < next);
      },
    ),
  );
  t.pass();
});
