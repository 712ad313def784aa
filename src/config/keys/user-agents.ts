// Session level protection by User-Agent: known scanners blocked, optional allow list.
import { enforced, key } from '../spec.ts';

// Known SIP scanners (User-Agent substrings, matched case-insensitively). The reference
// says "some known scanners are blocked by default"; these are the ones seen in the wild
// (SIPVicious sends "friendly-scanner" unless told otherwise). Legitimate test tools such
// as sipsak and SIPp are deliberately not listed.
const KNOWN_SCANNERS = [
  'friendly-scanner',
  'sipvicious',
  'sipcli',
  'sip-scan',
  'sundayddr',
  'iwar',
  'sivus',
  'smap',
  'vaxsipuseragent',
  'pplsip',
];

export const USER_AGENT_KEYS = [
  // ── Session level protection ──────────────────────────────────────────────────────────
  key({
    name: 'blockua',
    status: enforced('src/control/guard/config.ts', 'tests/control/guard/policy.test.ts'),
    section: 'session',
    type: 'list',
    default: KNOWN_SCANNERS,
    help: 'comma separated User-Agent/Server substrings (case-insensitive) whose requests are dropped and whose source is banned; defaults are known SIP scanners',
  }),
  key({
    name: 'allowua',
    status: enforced('src/control/guard/config.ts', 'tests/control/guard/policy.test.ts'),
    section: 'session',
    type: 'list',
    default: [],
    help: 'when non-empty, only peers whose User-Agent or Server header contains one of these comma separated substrings are served; empty = any',
  }),
];
