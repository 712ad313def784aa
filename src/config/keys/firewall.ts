// Firewall and automatic bans (the stress-test section lists these as switches).
import { BIG, key } from '../spec.ts';

export const FIREWALL_KEYS = [
  // ── Firewall and automatic bans (the stress-test section lists these as switches) ───
  key({
    name: 'firewalldeny',
    origin: 'tollgate',
    section: 'firewall',
    type: 'list',
    format: 'cidr',
    default: [],
    help: 'static deny rules: comma separated addresses/CIDRs dropped in the kernel (XDP/nftables) whenever enablefirewall is 1 or more; allow rules are trustedip',
  }),
  key({
    name: 'enablefirewall',
    section: 'firewall',
    type: 'enum',
    default: 4,
    values: {
      '0': 'off (stress tests only): no bans, no flood budgets',
      '1': 'static allow/deny CIDR rules only',
      '2': 'as 1, plus automatic bans from attack detection, enforced in userspace',
      '3': 'as 2, with bans and per-source flood budgets enforced in the kernel (XDP/nftables)',
      '4': 'as 3, and unknown sources share one bounded budget while trusted sources take a fast path',
      '5': 'as 4, and a source gets a tenth of the unknown budget until it authenticates once',
    },
    help: 'built-in firewall level (reference gives no default and recommends 5; 4 is the full protection without penalising new users)',
  }),
  key({
    name: 'blockscanning_treshold',
    section: 'firewall',
    type: 'int',
    default: 10,
    min: 0,
    max: BIG,
    unit: 'scan attempts',
    help: 'ban an IP after this many scanning signs (requests for unknown users, extension sweeps); 0 = off (spelling kept from the reference; reference gives no default and recommends a low value such as 10)',
  }),
  key({
    name: 'autoban',
    section: 'firewall',
    type: 'enum',
    default: 1,
    values: {
      '0': 'off',
      '1': 'reject the caller number when its call statistics look bad',
      '2': 'reject the caller number and ban its source IP',
    },
    help: 'Fail2Ban-like banning of unsolicited callers (reference gives no default and recommends 2)',
  }),
  key({
    name: 'maxpendingsessionsperip',
    origin: 'tollgate',
    section: 'firewall',
    type: 'int',
    default: 100,
    min: 1,
    max: 1_000_000,
    unit: 'calls',
    help: 'calls one source address may have in setup at once (not yet answered or refused) while blocktoomuchpendingsession is on',
  }),
  key({
    name: 'blocktoomuchpendingsession',
    section: 'firewall',
    type: 'bool',
    default: true,
    help: 'refuse new calls from a source that already has too many calls in setup (reference gives no default; off only for stress tests)',
  }),
];
