// Billing's coded errors: money, tariffs, CDR queries, top-ups.
import { defineErrors } from '../../errors.ts';

export const BillingErrors = defineErrors('billing', {
  TG_BILLING_NOT_MONEY: 'not an integer amount of micro-units: %s (money is never a float)',
  TG_BILLING_BAD_AMOUNT:
    'bad %s "%s": a decimal amount with at most 6 decimals, e.g. 12.34567 (at most 1000000000)',
  TG_BILLING_TARIFF_CSV: 'tariff file refused, nothing imported:\n%s',
  TG_BILLING_TARIFF_NOT_FOUND: 'no tariff %s (see "tariffs list")',
  TG_BILLING_TARIFF_TOO_BIG: 'tariff file too large: %s bytes (at most %s)',
  TG_BILLING_BAD_TIME:
    'bad %s "%s": an ISO date/time (2026-12-06, 2026-12-06T08:00Z) or a duration back from now (30m, 24h, 7d)',
  TG_BILLING_NO_ACCOUNT: 'no user %s',
  TG_BILLING_BAD_NUMBER: 'blacklist: %s',
  TG_BILLING_CREDIT_TOO_HIGH: 'refusing the top-up for %s: the credit would exceed %s',
});
