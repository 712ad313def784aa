// Rating: what a call costs under a rate. Pure functions over integer micro-units.
//
// A rate is the price per minute, a connect fee and billing increments written "first/next"
// (the carriers' notation): 60/60 bills whole minutes, 30/6 bills at least 30 s then 6-second
// steps, 1/1 bills per second. An answered call of d seconds is billed
//
//   billed(d) = first                                   d ≤ first
//             = first + ⌈(d − first) / next⌉ × next     otherwise
//   cost(d)   = connectFee + ⌈pricePerMinute × billed(d) / 60⌉     (one rounding, up)
//
// A call never answered costs nothing (no connect fee either): nothing was delivered.
//
// Worked example, 0.60/min, fee 0.05, 30/6: a 41 s call bills 30 + ⌈11/6⌉×6 = 42 s,
// costs 0.05 + 0.60 × 42 / 60 = 0.47.
import { add, type Micros, mulDivCeil, mulDivFloor, ZERO } from './money.ts';

export interface Rate {
  /** Dialled-number prefix the rate applies to ('' = everything). */
  readonly prefix: string;
  readonly pricePerMinute: Micros;
  readonly connectFee: Micros;
  /** Seconds billed at least (the first increment), ≥ 1. */
  readonly first: number;
  /** Seconds per further step, ≥ 1. */
  readonly next: number;
  readonly description?: string;
}

/** Seconds billed for an answered call of `seconds` (whole seconds, ≥ 0). */
export function billedSeconds(seconds: number, first: number, next: number): number {
  const d = Math.max(0, Math.ceil(seconds));
  if (d <= first) return first;
  return first + Math.ceil((d - first) / next) * next;
}

/** The cost of a call answered for `seconds` under `rate`; 0 for a call never answered. */
export function callCost(rate: Rate, seconds: number, answered = true): Micros {
  if (!answered) return ZERO;
  const billed = billedSeconds(seconds, rate.first, rate.next);
  return add(rate.connectFee, mulDivCeil(rate.pricePerMinute, billed, 60));
}

/**
 * The longest call (seconds) whose cost stays within `credit`: undefined when the rate is
 * free (no limit from credit), 0 when not even the connect fee and first increment fit.
 * Exact: cost(d) ≤ credit ⟺ price × billed(d) ≤ (credit − fee) × 60, so the largest billed
 * time is ⌊(credit − fee) × 60 / price⌋, taken down to a whole number of steps.
 */
export function affordableSeconds(rate: Rate, credit: Micros): number | undefined {
  if (rate.pricePerMinute === 0) return credit >= rate.connectFee ? undefined : 0;
  const left = credit - rate.connectFee;
  if (left < 0) return 0;
  const maxBilled = mulDivFloor(left, 60, rate.pricePerMinute);
  if (maxBilled < rate.first) return 0;
  const steps = Math.floor((maxBilled - rate.first) / rate.next);
  return rate.first + steps * rate.next;
}

/** "60/60", "30/6", "1/1" → [first, next]; undefined if malformed. */
export function parseIncrements(text: string): [number, number] | undefined {
  const m = /^(\d{1,5})\/(\d{1,5})$/.exec(text.trim());
  if (!m) return undefined;
  const first = Number(m[1]);
  const next = Number(m[2]);
  if (first < 1 || next < 1 || first > 3600 || next > 3600) return undefined;
  return [first, next];
}
