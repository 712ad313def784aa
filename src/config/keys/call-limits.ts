// Per IP call limits.
import { BIG, DAY, enforced, key, MONEY, notEnforced } from '../spec.ts';

export const CALL_LIMIT_KEYS = [
  // ── Per IP call limits ────────────────────────────────────────────────────────────────
  key({
    name: 'maxcallperip',
    status: enforced('src/control/guard/config.ts', 'tests/control/guard/sessions-calls.test.ts'),
    section: 'calllimits',
    type: 'int',
    default: 0,
    min: 0,
    max: BIG,
    unit: 'calls per period',
    help: 'max calls from one IP per maxcallperperiod; 0 = no limit (reference gives no default; a PBX or NAT puts many users behind one IP)',
  }),
  key({
    name: 'maxdurationperip',
    status: enforced('src/control/guard/config.ts', 'tests/control/guard/sessions-calls.test.ts'),
    section: 'calllimits',
    type: 'duration',
    default: 0,
    min: 0,
    max: 366 * DAY,
    unit: 'seconds per period',
    help: 'max total call duration from one IP per maxcallperperiod; 0 = no limit (reference gives no default)',
  }),
  key({
    name: 'maxcostperip',
    status: notEnforced(12),
    section: 'calllimits',
    ...MONEY,
    default: 0,
    help: 'max total call cost from one IP per maxcallperperiod, in currency units; 0 = no limit (reference gives no default)',
  }),
  key({
    name: 'maxcallperperiod',
    status: enforced('src/control/guard/config.ts', 'tests/control/guard/sessions-calls.test.ts'),
    section: 'calllimits',
    type: 'number',
    default: 1,
    min: 0.001,
    max: 366,
    decimals: 6,
    unit: 'days',
    help: 'the period for maxcallperip/maxdurationperip/maxcostperip as a fraction of a day: 1.0 = one day, 0.5 = 12 hours',
  }),
  key({
    name: 'maxcallperuserid',
    status: enforced('src/control/guard/config.ts', 'tests/control/guard/sessions-calls.test.ts'),
    section: 'calllimits',
    type: 'int',
    default: -1,
    min: -1,
    max: 2 ** 31 - 1,
    help: 'apply the per IP limits to this user id only; -1 = all users',
  }),
];
