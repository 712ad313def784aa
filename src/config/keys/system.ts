// System.
import { enforced, key, notEnforced } from '../spec.ts';

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
    status: notEnforced(14),
    section: 'system',
    type: 'enum',
    default: 0,
    values: { '0': 'disabled (tollgate has no FTP database access)' },
    help: 'database access over FTP; tollgate has none, the key is accepted for migrated configs (reference recommends 0)',
  }),
  key({
    name: 'autofinetune',
    status: notEnforced(14),
    section: 'system',
    type: 'bool',
    default: true,
    help: 'adapt internal limits to load; 0 gives a consistent service level but is not optimal for high-load servers',
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
