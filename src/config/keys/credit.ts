// Credit limits: postpaid monthly, fixed daily, dynamic.
import { key, MONEY, notEnforced } from '../spec.ts';

export const CREDIT_KEYS = [
  // ── Credit limits (postpaid monthly, fixed daily, dynamic) ──────────────────────────────
  key({
    name: 'creditcheckforpostp',
    status: notEnforced(12),
    section: 'credit',
    type: 'bool',
    default: true,
    help: 'enforce the per-user monthly spend limits (maxmonthlycredit…) on postpaid accounts too (reference gives no default; on is the safe choice)',
  }),
  // The reference's bullets swap the descriptions ("maxdailycreditforenduser (max daily spend
  // for traffic senders)"); the key names say which account type each limits, and the names win.
  // Its migration snippet sets both to 1 next to the maxdailycreditperuser flag; they are
  // amounts nonetheless ("max daily spend").
  key({
    name: 'maxdailycreditforenduser',
    status: notEnforced(12),
    section: 'credit',
    ...MONEY,
    default: 0,
    help: 'max daily spend of each enduser account (prepaid and postpaid), in currency units; 0 = no limit (reference gives no default)',
  }),
  key({
    name: 'maxdailycreditforts',
    status: notEnforced(12),
    section: 'credit',
    ...MONEY,
    default: 0,
    help: 'max daily spend of each traffic sender account, in currency units; 0 = no limit (reference gives no default)',
  }),
  key({
    name: 'maxdailycreditperuser',
    status: notEnforced(12),
    section: 'credit',
    type: 'bool',
    default: false,
    help: 'enforce the per-user maxdailycredit field; switched on automatically at config reload when any user has maxdailycredit set',
  }),
  key({
    name: 'checkmaxdyndailycredit',
    status: notEnforced(12),
    section: 'credit',
    type: 'enum',
    default: 1,
    values: {
      '0': 'disabled',
      '1': 'enabled for endusers',
      '2': 'enabled for endusers and traffic senders',
    },
    help: 'dynamic daily spend limits: block a user whose spend today exceeds its highest daily spend times maxdyndailycredit_multiplier (reference gives no default; on for endusers is the safe choice)',
  }),
  // The reference writes this key "maxdyndailycreditforenduser min" (a space where the
  // underscore went missing): its sibling is maxdynmaxdailycreditforts_min, and a key with a
  // space cannot be written as `key = value`, so the underscore form is the key.
  key({
    name: 'maxdyndailycreditforenduser_min',
    status: notEnforced(12),
    section: 'credit',
    ...MONEY,
    default: 10,
    help: 'dynamic limits never block an enduser whose daily spend is below this, in currency units',
  }),
  key({
    name: 'maxdynmaxdailycreditforts_min',
    status: notEnforced(12),
    section: 'credit',
    ...MONEY,
    default: 100,
    help: 'dynamic limits never block a traffic sender whose daily spend is below this, in currency units',
  }),
  key({
    name: 'maxdyndailycredit_multiplier',
    status: notEnforced(12),
    section: 'credit',
    type: 'number',
    default: 7,
    min: 1,
    max: 1000,
    decimals: 3,
    unit: 'times',
    help: 'max growth of daily spend within one day over the highest day so far; values below 4 may block normal calling patterns',
  }),
  key({
    name: 'quotadiscreason',
    status: notEnforced(12),
    section: 'credit',
    type: 'int',
    default: 403,
    min: 400,
    max: 699,
    unit: 'SIP status code',
    help: 'SIP response sent when a call is refused by a spend limit',
  }),
  key({
    name: 'sendadminemailnotifications',
    status: notEnforced(12),
    section: 'credit',
    type: 'enum',
    default: 2,
    values: {
      '0': 'none',
      '1': 'system events only (mass bans, service faults)',
      '2': 'as 1, plus accounts blocked by spend or fraud limits',
    },
    help: 'what the admin is notified about (reference gives no default; 2 so fraud blocks are seen; sent only when a notification channel is configured)',
  }),
  key({
    name: 'calcmaxsl',
    status: notEnforced(12),
    section: 'credit',
    type: 'enum',
    default: -1,
    values: {
      '-1': 'auto detect (on when any user has maxslperday or maxslpermonth set)',
      '0': 'disabled',
      '1': 'enabled',
    },
    help: 'count call durations against the per-user maxslperday/maxslpermonth limits (reference gives no default; auto)',
  }),
];
