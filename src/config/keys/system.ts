// System.
import { enforced, fixed, key } from '../spec.ts';

export const SYSTEM_KEYS = [
  // ── System ────────────────────────────────────────────────────────────────────────────
  key({
    name: 'validateinput',
    status: enforced('src/webui/input.ts', 'tests/webui/access.test.ts'),
    section: 'system',
    type: 'enum',
    default: 3,
    values: {
      '0': 'no',
      '1': 'basic without injection check',
      '2': 'basic with injection check',
      '3': 'normal',
      '4': 'more',
      '5': 'extreme',
    },
    help: 'input validation strictness for web and API input (the reference spells it "validate input"; it gives no default and recommends 3 or more)',
  }),
  key({
    name: 'ftpdbuser',
    status: fixed(
      'tollgate has no FTP database access: its store is opened only by the daemon (the console and web UI go through it)',
    ),
    section: 'system',
    type: 'int',
    default: 0,
    min: 0,
    max: 1_000_000,
    help: 'database access over FTP (0 = none); tollgate has none, so only 0 is accepted, for migrated configs (reference recommends 0)',
  }),
  key({
    name: 'autofinetune',
    status: enforced('src/control/guard/guard.ts', 'tests/control/guard/thresholds.test.ts'),
    section: 'system',
    type: 'bool',
    default: true,
    help: 'adapt limits to load: when unauthenticated messages from all addresses together reach 10 × fastauthsubswrongusermsg within 90 s, every address gets a tenth of its fastauthsubswrongusermsg budget (at least 10) until the window ends; false keeps every address at its configured budget (a consistent service level, but a flood spread over many addresses gets more through). maxsubsipauthrequest -1 follows the load either way (reference: 0 gives a consistent service level, not optimal for high-load servers)',
  }),
  key({
    name: 'licensecfg',
    status: enforced('src/control/users.ts', 'tests/control/auth-keys.test.ts'),
    section: 'system',
    type: 'string',
    format: 'limits',
    default: '',
    help: 'system level limits as comma separated name=integer pairs, e.g. "maxcalls=200,maxusers=5000"; empty = none',
  }),
  key({
    name: 'acceptunenforced',
    status: enforced('src/config/validate.ts', 'tests/config/key-status.test.ts'),
    origin: 'tollgate',
    section: 'system',
    type: 'list',
    format: 'token',
    default: [],
    help: 'keys (global or per-user) the operator knowingly sets although this version does not enforce them; each is warned about at every start. Without this, such a value is refused',
  }),
];
