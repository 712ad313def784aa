// Money: integer micro-units (1 unit of currency = 1_000_000 µ), never floating point.
//
// A `Micros` is a safe integer (|x| ≤ 2^53 − 1, about ±9 × 10^9 units) carrying a type
// brand, so a float cannot reach a money field without going through `micros()` (which
// throws on anything not a safe integer) or `parseMoney()` (exact decimal text). Products
// and quotients (price × seconds / 60) are computed with bigint and rounded once, up:
//
//   parseMoney('12.34567')   → 12_345_670 µ
//   formatMoney(12_345_670)  → '12.34567'
//   formatMoney(10_000_000)  → '10.00'
//   mulDivCeil(600_000, 31, 60) → 310_000 µ  (0.60/min for 31 s)
//
// Configuration values arrive as JS numbers with at most 6 decimals (validate.ts checks
// that); `fromConfig` turns them into micros through their shortest decimal text, which is
// exactly the text the operator wrote, so 0.1 is 100_000 µ and not 100_000.000000000001.
import { BillingErrors } from './errors.ts';

declare const MICROS: unique symbol;
/** An amount of money in integer micro-units. */
export type Micros = number & { readonly [MICROS]: true };

export const MICROS_PER_UNIT = 1_000_000;
export const ZERO = 0 as Micros;
/** The largest amount tollgate accepts as input (a billion units). */
export const MAX_INPUT_UNITS = 1_000_000_000;

/** An integer count of micro-units as Micros; anything else (a float, NaN, 2^60) throws. */
export function micros(value: number | bigint): Micros {
  const n = typeof value === 'bigint' ? Number(value) : value;
  if (!Number.isSafeInteger(n) || (typeof value === 'bigint' && BigInt(n) !== value))
    throw new BillingErrors.TG_BILLING_NOT_MONEY(String(value));
  return n as Micros;
}

const DECIMAL = /^([+-]?)(\d{1,10})(?:\.(\d{1,6}))?$/;

/**
 * Decimal text ("12.34567", "-3", "0.000001") as micros: exact, at most 6 decimals, at most
 * MAX_INPUT_UNITS. `what` names the argument in the error ("amount", "line 3: price").
 */
export function parseMoney(
  text: string,
  what = 'amount',
  options: { negative?: boolean } = {},
): Micros {
  const trimmed = typeof text === 'string' ? text.trim() : '';
  const m = DECIMAL.exec(trimmed);
  if (!m) throw new BillingErrors.TG_BILLING_BAD_AMOUNT(what, String(text).slice(0, 40));
  const sign = m[1] === '-' ? -1n : 1n;
  if (sign < 0n && !options.negative)
    throw new BillingErrors.TG_BILLING_BAD_AMOUNT(what, String(text).slice(0, 40));
  const units = BigInt(m[2]!);
  if (units > BigInt(MAX_INPUT_UNITS))
    throw new BillingErrors.TG_BILLING_BAD_AMOUNT(what, String(text).slice(0, 40));
  const fraction = BigInt((m[3] ?? '').padEnd(6, '0'));
  return micros(sign * (units * 1_000_000n + fraction));
}

/** Micros as decimal text: at least 2 decimals, at most 6, trailing zeros beyond 2 cut. */
export function formatMoney(value: Micros | number): string {
  const v = micros(value);
  const negative = v < 0;
  const abs = BigInt(Math.abs(v));
  const units = abs / 1_000_000n;
  let fraction = (abs % 1_000_000n).toString().padStart(6, '0');
  while (fraction.length > 2 && fraction.endsWith('0')) fraction = fraction.slice(0, -1);
  return `${negative ? '-' : ''}${units}.${fraction}`;
}

/**
 * A money config value (a number validated to ≤ 6 decimals) as micros, through its shortest
 * decimal text: never `value * 1e6`, whose float product can be off by one micro.
 */
export function fromConfig(value: number): Micros {
  if (!Number.isFinite(value)) throw new BillingErrors.TG_BILLING_NOT_MONEY(String(value));
  const text = value.toFixed(6);
  return parseMoney(text, 'config value', { negative: true });
}

export function add(a: Micros, b: Micros): Micros {
  return micros(a + b);
}

export function sub(a: Micros, b: Micros): Micros {
  return micros(a - b);
}

export function min(a: Micros, b: Micros): Micros {
  return (a < b ? a : b) as Micros;
}

export function max(a: Micros, b: Micros): Micros {
  return (a > b ? a : b) as Micros;
}

/** ⌈a × b / c⌉ for a ≥ 0, b ≥ 0, c > 0, exact (bigint): the charge never rounds down. */
export function mulDivCeil(a: Micros | number, b: number, c: number): Micros {
  if (!Number.isSafeInteger(a) || !Number.isSafeInteger(b) || !Number.isSafeInteger(c) || c <= 0)
    throw new BillingErrors.TG_BILLING_NOT_MONEY(`${a} × ${b} / ${c}`);
  const n = BigInt(a) * BigInt(b);
  const d = BigInt(c);
  return micros((n + d - 1n) / d);
}

/** ⌊a × b / c⌋, exact (bigint). */
export function mulDivFloor(a: Micros | number, b: number, c: number): Micros {
  if (!Number.isSafeInteger(a) || !Number.isSafeInteger(b) || !Number.isSafeInteger(c) || c <= 0)
    throw new BillingErrors.TG_BILLING_NOT_MONEY(`${a} × ${b} / ${c}`);
  return micros((BigInt(a) * BigInt(b)) / BigInt(c));
}

/** Whether `value` may sit in a money field: a safe integer. */
export function isMicros(value: unknown): value is Micros {
  return typeof value === 'number' && Number.isSafeInteger(value);
}
