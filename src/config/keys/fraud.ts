// Fraud, billing and profitability.
import { key, MONEY, notEnforced } from '../spec.ts';

export const FRAUD_KEYS = [
  // ── Fraud, billing and profitability ──────────────────────────────────────────────────
  key({
    name: 'blocksatellitecalls',
    status: notEnforced(12),
    section: 'billing',
    type: 'bool',
    default: true,
    help: 'refuse calls to well-known satellite number ranges (reference: blocked by default)',
  }),
  key({
    name: 'blockpremiumnumbers',
    status: notEnforced(12),
    section: 'billing',
    type: 'bool',
    default: true,
    help: 'refuse calls to well-known premium rate numbers (reference: blocked by default)',
  }),
  key({
    name: 'blocknotbilledcalls',
    status: notEnforced(12),
    section: 'billing',
    type: 'enum',
    default: 0,
    values: {
      '0': 'no',
      '1': 'if best match packet is not found',
      '2': 'if no exact packet match with prefix',
      '3': 'block if not assigned directly for the user',
      '4': 'check also tariff list prefix',
      '5': 'check also parent tariff list',
    },
    help: 'refuse calls that cannot be billed',
  }),
  key({
    name: 'blocknotprofitablecalls',
    status: notEnforced(12),
    section: 'billing',
    type: 'enum',
    default: 0,
    values: {
      '0': 'no',
      '1': 'yes',
      '2': 'yes also if equal',
      '3': 'block also when it is not set',
    },
    help: 'refuse calls whose cost is higher than their price',
  }),
  key({
    name: 'vgetpriceexactmatch',
    status: notEnforced(12),
    section: 'billing',
    type: 'enum',
    default: 0,
    values: { '0': 'no', '1': 'yes for resellers', '2': 'yes for all' },
    help: 'price lookup requires an exact prefix match',
  }),
  key({
    name: 'notbilledcallerr',
    status: notEnforced(12),
    section: 'billing',
    type: 'enum',
    default: 0,
    values: { '0': 'default (error with priority 2)', '1': 'error', '2': 'critical' },
    help: 'severity logged for a call that could not be billed',
  }),
  key({
    name: 'blockhighcostcalls',
    status: notEnforced(12),
    section: 'billing',
    ...MONEY,
    default: 0,
    unit: 'currency per minute',
    help: 'do not route a call whose cost per minute is higher than this; 0 = no limit',
  }),
];
