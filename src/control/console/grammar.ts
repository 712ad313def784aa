// The console language, shared by `tollgatectl`, `tollgatectl shell` and the daemon (which
// parses again: it never trusts the client). Two spellings are accepted:
//   - the reference product's comma form:  delbanned,10.0.0.1   delbanned,all
//   - plain subcommands:                     unban 10.0.0.1   ban 10.0.0.0/24 --ttl 1h --reason spam
// `--json` anywhere asks for machine-readable output. Anything the grammar cannot read (an
// unknown command or option, a wrong count, a malformed address, range, duration or name)
// is a usage error: exit 2.
import { banTarget } from '../ban-target.ts';
import { ControlErrors } from '../errors.ts';
import {
  type RouteInput,
  routeInput,
  routePrefix,
  type TrunkInput,
  trunkInput,
} from '../routing/routing.ts';
import { BILLING_SPECS, type BillingCommand } from './billing-commands.ts';
import { callIdArgument } from './calls-commands.ts';

export type Command =
  | { name: 'status' }
  | { name: 'stats' }
  | { name: 'bans' }
  | { name: 'detections' }
  | { name: 'ban'; ip: string; ttlSeconds: number; reason: string; force: boolean }
  | { name: 'unban'; target: string }
  | { name: 'config-get'; key: string }
  | { name: 'config-set'; key: string; value: string; acceptUnenforced: boolean }
  | { name: 'config-unset'; key: string }
  | { name: 'config-list'; changed: boolean }
  | { name: 'config-keys' }
  | { name: 'audit' }
  | { name: 'users-add'; user: string; password?: string; passwordStdin?: true }
  | { name: 'users-list' }
  | { name: 'users-show'; user: string }
  | {
      name: 'users-set';
      user: string;
      key: string;
      value: string;
      passwordStdin?: true;
      acceptUnenforced?: boolean;
    }
  | { name: 'users-del'; user: string }
  | { name: 'admins-add'; admin: string; password?: string; passwordStdin?: true }
  | { name: 'admins-password'; admin: string; password: string; passwordStdin?: true }
  | { name: 'admins-totp'; admin: string; enable: boolean }
  | { name: 'admins-list' }
  | { name: 'admins-del'; admin: string }
  | { name: 'stress-test' }
  | { name: 'firewall-add'; action: 'allow' | 'deny'; cidr: string }
  | { name: 'firewall-del'; cidr: string }
  | { name: 'firewall-list' }
  | { name: 'trunks-add'; trunk: TrunkInput }
  | { name: 'trunks-list' }
  | { name: 'trunks-del'; trunk: string }
  | { name: 'routes-add'; route: RouteInput }
  | { name: 'routes-list' }
  | { name: 'routes-del'; prefix: string; trunk?: string }
  | { name: 'calls' }
  | { name: 'hangup'; target: string }
  | { name: 'help'; topic?: string }
  | { name: 'shell' }
  | BillingCommand
  | { name: 'ssh-auth-fail'; ip: string; port: number; user: string };

export interface ParsedCommand {
  command: Command;
  json: boolean;
}

/** One command of the console: its usage, arguments and how it builds the command. */
export interface CommandSpec<C> {
  usage: string;
  help: string;
  /** How many positional arguments it takes, and how to say so when that is wrong. */
  arity: readonly [min: number, max: number];
  expects: string;
  /** Options this command takes (besides --json), each with a value. */
  options?: readonly string[];
  /** Options without a value (--force, --accept-unenforced). */
  flags?: readonly string[];
  build(args: string[], options: Map<string, string>, flags: Set<string>): C;
}

type Spec = CommandSpec<Command>;

export const MAX_ARGS = 16;
export const MAX_ARG_LENGTH = 1024;
/** Ten years: anything longer should be a permanent ban that says so. */
const MAX_TTL_SECONDS = 10 * 365 * 24 * 3600;
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

function usage(text: string): Error {
  return new ControlErrors.TG_CONSOLE_USAGE(text);
}

/**
 * A ban's duration as operators write it (cscli, fail2ban): whole seconds, a number with a
 * unit (30m, 1h, 7d), or `permanent` (0 means the same). No duration = permanent.
 */
export function parseTtl(text: string | undefined): number {
  if (text === undefined) return 0;
  const lower = text.toLowerCase();
  if (lower === 'permanent') return 0;
  const m = /^(\d{1,10})([smhdw]?)$/.exec(lower);
  const seconds = m ? Number(m[1]) * UNIT_SECONDS[m[2] || 's']! : Number.NaN;
  if (!(seconds <= MAX_TTL_SECONDS)) {
    throw usage(
      `ban: --ttl takes seconds (3600), a duration (30m, 1h, 7d, up to ${MAX_TTL_SECONDS / 86_400}d) or "permanent", not "${text.slice(0, 40)}"`,
    );
  }
  return seconds;
}

/** An address or CIDR range, checked here so a typo is a usage error before the daemon sees it. */
function target(text: string): string {
  if (banTarget(text) === null) throw new ControlErrors.TG_BAN_BAD_ADDRESS(text.slice(0, 80));
  return text;
}

const NONE = [0, 0] as const;
const ONE = [1, 1] as const;

const COMMANDS: Record<string, Spec> = {
  status: {
    usage: 'status [--json]',
    help: 'daemon, dataplane mode and enforcement, store, counts',
    arity: NONE,
    expects: 'no arguments',
    build: () => ({ name: 'status' }),
  },
  stats: {
    usage: 'stats [--json]',
    help: 'kernel drops by reason and traffic counters',
    arity: NONE,
    expects: 'no arguments',
    build: () => ({ name: 'stats' }),
  },
  bans: {
    usage: 'bans [--json]',
    help: 'bans in force: address, reason, origin, start, expiry',
    arity: NONE,
    expects: 'no arguments',
    build: () => ({ name: 'bans' }),
  },
  detections: {
    usage: 'detections [--json]',
    help: 'attacks detected and not banned (trusted source, detect-only mode, allowua): address, rule, why, how often',
    arity: NONE,
    expects: 'no arguments',
    build: () => ({ name: 'detections' }),
  },
  ban: {
    usage: 'ban IP|CIDR [--ttl 3600|30m|1h|7d|permanent] [--reason TEXT] [--force]',
    help: 'ban an address or range (IPv4 or IPv6) in the kernel; no --ttl = until lifted; --force to ban what covers this machine or your SSH session',
    arity: ONE,
    expects: 'one address or CIDR range',
    options: ['--ttl', '--reason'],
    flags: ['--force'],
    build: (a, o, f) => ({
      name: 'ban',
      ip: target(a[0]!),
      ttlSeconds: parseTtl(o.get('--ttl')),
      reason: o.get('--reason') ?? 'manual ban from console',
      force: f.has('--force'),
    }),
  },
  unban: {
    usage: 'unban IP|CIDR|all',
    help: 'lift the ban on one address or range, or every ban',
    arity: ONE,
    expects: 'an address, a range or "all"',
    build: (a) => ({ name: 'unban', target: unbanTarget(a[0]!) }),
  },
  delbanned: {
    usage: 'delbanned,IP | delbanned,all',
    help: 'the reference console form of unban',
    arity: ONE,
    expects: 'an address, a range or "all"',
    build: (a) => ({ name: 'unban', target: unbanTarget(a[0]!) }),
  },
  config: {
    usage:
      'config get KEY | config set KEY VALUE [--accept-unenforced] | config unset KEY | config list [--changed] | config keys',
    help: 'read or change configuration (bad values are refused, nothing changes); get shows where a value comes from, unset returns to the file or default, keys lists every key with whether tollgate enforces it',
    arity: [1, 3],
    expects: 'get KEY, set KEY VALUE, unset KEY, list or keys',
    flags: ['--accept-unenforced', '--changed'],
    build: (a, _o, f) => {
      const [verb, key, value] = a;
      const accept = f.has('--accept-unenforced');
      const changed = f.has('--changed');
      if (accept && verb !== 'set')
        throw usage('config: --accept-unenforced goes with "config set"');
      if (changed && verb !== 'list') throw usage('config: --changed goes with "config list"');
      if (verb === 'get' && a.length === 2) return { name: 'config-get', key: key! };
      if (verb === 'set' && a.length === 3)
        return { name: 'config-set', key: key!, value: value!, acceptUnenforced: accept };
      if (verb === 'unset' && a.length === 2) return { name: 'config-unset', key: key! };
      if (verb === 'list' && a.length === 1) return { name: 'config-list', changed };
      if (verb === 'keys' && a.length === 1) return { name: 'config-keys' };
      throw usage(`config: usage: ${COMMANDS.config!.usage}`);
    },
  },
  audit: {
    usage: 'audit',
    help: "check the running configuration and system against the reference's security checklist (exit 1 with findings)",
    arity: NONE,
    expects: 'no arguments',
    build: () => ({ name: 'audit' }),
  },
  users: {
    usage:
      'users add NAME [--password-stdin] | users list | users show NAME | users set NAME KEY VALUE [--accept-unenforced] | users set NAME password --password-stdin | users del NAME',
    help: 'SIP accounts; add without a password generates a strong one (shown once); --password-stdin reads it from stdin, or asks without echo on a terminal',
    arity: [1, 4],
    expects: 'add, list, show, set or del',
    options: ['--password'],
    flags: ['--password-stdin', '--accept-unenforced'],
    build: (a, o, f) => {
      const [verb, user, key, value] = a;
      const password = o.get('--password');
      const stdin = f.has('--password-stdin');
      if (password !== undefined && stdin)
        throw usage('users: give --password or --password-stdin, not both');
      if (verb === 'add' && a.length === 2) {
        return {
          name: 'users-add',
          user: user!,
          ...(password !== undefined ? { password } : {}),
          ...(stdin ? { passwordStdin: true as const } : {}),
        };
      }
      if (verb === 'set' && a.length === 3 && key!.toLowerCase() === 'password') {
        if (password !== undefined)
          return { name: 'users-set', user: user!, key: key!, value: password };
        if (stdin)
          return { name: 'users-set', user: user!, key: key!, value: '', passwordStdin: true };
      }
      if (password !== undefined || stdin)
        throw usage(
          'users: --password and --password-stdin go with "users add NAME" or "users set NAME password"',
        );
      if (verb === 'list' && a.length === 1) return { name: 'users-list' };
      if (verb === 'show' && a.length === 2) return { name: 'users-show', user: user! };
      const acceptUnenforced = f.has('--accept-unenforced');
      if (acceptUnenforced && verb !== 'set')
        throw usage('users: --accept-unenforced goes with "users set"');
      if (verb === 'set' && a.length === 4)
        return { name: 'users-set', user: user!, key: key!, value: value!, acceptUnenforced };
      if (verb === 'del' && a.length === 2) return { name: 'users-del', user: user! };
      throw usage(`users: usage: ${COMMANDS.users!.usage}`);
    },
  },
  admins: {
    usage:
      'admins add NAME [--password-stdin] | admins list | admins password NAME --password-stdin | admins totp NAME on|off | admins del NAME',
    help: 'administrators of the web UI and API; add without a password generates a strong one (shown once); totp on shows the otpauth:// URI to scan, once',
    arity: [1, 3],
    expects: 'add, list, password, totp or del',
    options: ['--password'],
    flags: ['--password-stdin'],
    build: (a, o, f) => {
      const [verb, admin, arg] = a;
      const password = o.get('--password');
      const stdin = f.has('--password-stdin');
      if (password !== undefined && stdin)
        throw usage('admins: give --password or --password-stdin, not both');
      if (verb === 'add' && a.length === 2)
        return {
          name: 'admins-add',
          admin: admin!,
          ...(password !== undefined ? { password } : {}),
          ...(stdin ? { passwordStdin: true as const } : {}),
        };
      if (verb === 'password' && a.length === 2 && (password !== undefined || stdin))
        return {
          name: 'admins-password',
          admin: admin!,
          password: password ?? '',
          ...(stdin ? { passwordStdin: true as const } : {}),
        };
      if (password !== undefined || stdin)
        throw usage(
          'admins: --password and --password-stdin go with "admins add" or "admins password"',
        );
      if (verb === 'list' && a.length === 1) return { name: 'admins-list' };
      if (verb === 'totp' && a.length === 3 && (arg === 'on' || arg === 'off'))
        return { name: 'admins-totp', admin: admin!, enable: arg === 'on' };
      if (verb === 'del' && a.length === 2) return { name: 'admins-del', admin: admin! };
      throw usage(`admins: usage: ${COMMANDS.admins!.usage}`);
    },
  },
  firewall: {
    usage: 'firewall allow CIDR | firewall deny CIDR | firewall del CIDR | firewall list',
    help: 'static rules enforced in the kernel: allow (= trustedip) passes and is never banned, deny drops',
    arity: [1, 2],
    expects: 'allow CIDR, deny CIDR, del CIDR or list',
    build: (a) => {
      const [verb, cidr] = a;
      if ((verb === 'allow' || verb === 'deny') && cidr)
        return { name: 'firewall-add', action: verb, cidr: target(cidr) };
      if (verb === 'del' && cidr) return { name: 'firewall-del', cidr: target(cidr) };
      if (verb === 'list' && a.length === 1) return { name: 'firewall-list' };
      throw usage(`firewall: usage: ${COMMANDS.firewall!.usage}`);
    },
  },
  trunks: {
    usage:
      'trunks add NAME --host IP [--port P] [--transport udp|tcp|tls] [--inbound-ip CIDR,…] [--techprefix X] [--timeout S] | trunks list | trunks del NAME',
    help: 'SIP servers calls are routed to (by routes) and accepted from (by --inbound-ip, then billed to the trunk); --timeout: seconds without any answer before the next trunk',
    arity: [1, 2],
    expects: 'add NAME, list or del NAME',
    options: ['--host', '--port', '--transport', '--inbound-ip', '--techprefix', '--timeout'],
    build: (a, o) => {
      const [verb, name] = a;
      if (verb === 'add' && name !== undefined)
        return { name: 'trunks-add', trunk: trunkInput(name, o) };
      if (o.size > 0)
        throw usage(`trunks: options go with "trunks add"; usage: ${COMMANDS.trunks!.usage}`);
      if (verb === 'list' && a.length === 1) return { name: 'trunks-list' };
      if (verb === 'del' && name !== undefined) return { name: 'trunks-del', trunk: name };
      throw usage(`trunks: usage: ${COMMANDS.trunks!.usage}`);
    },
  },
  routes: {
    usage:
      'routes add PREFIX --trunk NAME [--priority N] [--weight W] [--strip N] [--prepend X] | routes list | routes del PREFIX [--trunk NAME]',
    help: 'outbound routes: a number that is no local user goes to the trunks of the longest matching PREFIX ("any" for all), lower priority first, by weight among equals, the next on 5xx/408/timeout',
    arity: [1, 2],
    expects: 'add PREFIX, list or del PREFIX',
    options: ['--trunk', '--priority', '--weight', '--strip', '--prepend'],
    build: (a, o) => {
      const [verb, prefix] = a;
      if (verb === 'add' && prefix !== undefined)
        return { name: 'routes-add', route: routeInput(prefix, o) };
      if (verb === 'del' && prefix !== undefined) {
        if ([...o.keys()].some((k) => k !== '--trunk'))
          throw usage('routes: "routes del" takes only --trunk');
        const trunk = o.get('--trunk');
        return { name: 'routes-del', prefix: routePrefix(prefix), ...(trunk ? { trunk } : {}) };
      }
      if (o.size > 0)
        throw usage(`routes: options go with "routes add"; usage: ${COMMANDS.routes!.usage}`);
      if (verb === 'list' && a.length === 1) return { name: 'routes-list' };
      throw usage(`routes: usage: ${COMMANDS.routes!.usage}`);
    },
  },
  calls: {
    usage: 'calls [--json]',
    help: 'live calls: id, state (early/confirmed), caller, callee, account, route, age, media ports, packets dropped',
    arity: NONE,
    expects: 'no arguments',
    build: () => ({ name: 'calls' }),
  },
  hangup: {
    usage: 'hangup ID|all',
    help: 'end a call (or every call): BYE to both sides when answered, CANCEL/487 while ringing',
    arity: ONE,
    expects: 'a call id (see "calls") or "all"',
    build: (a) => ({
      name: 'hangup',
      target: a[0]!.toLowerCase() === 'all' ? 'all' : callIdArgument(a[0]!),
    }),
  },
  'stress-test': {
    usage: 'stress-test',
    help: "apply the reference's stress-test profile (firewall, scan blocking and autoban off); undo with config set",
    arity: NONE,
    expects: 'no arguments',
    build: () => ({ name: 'stress-test' }),
  },
  ...BILLING_SPECS,
  help: {
    usage: 'help [COMMAND]',
    help: 'this list, or one command',
    arity: [0, 1],
    expects: 'at most one command',
    build: (a) => (a[0] ? { name: 'help', topic: a[0] } : { name: 'help' }),
  },
  'ssh-auth-fail': {
    usage: 'ssh-auth-fail IP PORT [USER]',
    help: 'report a failed SSH login to the guard, as tollgate-sshfeed does for each one sshd logs (counted like a failed SIP authentication)',
    arity: [2, 3],
    expects: 'an address, a port and optionally the user name tried',
    build: (a) => {
      const [ip, port, user] = a;
      if (banTarget(ip!) === null || ip!.includes('/'))
        throw new ControlErrors.TG_BAN_BAD_ADDRESS(ip!.slice(0, 80));
      const n = Number(port);
      if (!/^\d{1,5}$/.test(port!) || n < 1 || n > 65_535)
        throw usage(`ssh-auth-fail: the port must be 1..65535, not "${port!.slice(0, 20)}"`);
      return { name: 'ssh-auth-fail', ip: ip!, port: n, user: (user ?? '').slice(0, 64) };
    },
  },
  shell: {
    usage: 'shell',
    help: 'interactive console (history, help, the same commands)',
    arity: NONE,
    expects: 'no arguments',
    build: () => ({ name: 'shell' }),
  },
};

/** Every command word, for the shell's tab completion (new commands complete by themselves). */
export function commandNames(): string[] {
  return Object.keys(COMMANDS);
}

/** One line of help per command, for `help` and `tollgatectl --help`. */
export function helpText(topic?: string): string {
  if (topic !== undefined) {
    const spec = COMMANDS[topic];
    if (!spec) throw new ControlErrors.TG_CONSOLE_UNKNOWN_COMMAND(topic);
    return `${spec.usage}\n  ${spec.help}`;
  }
  return Object.values(COMMANDS)
    .map((s) => `${s.usage}\n    ${s.help}`)
    .join('\n');
}

export function parseCommand(argv: readonly string[]): ParsedCommand {
  if (argv.length > MAX_ARGS) throw usage(`too many arguments (at most ${MAX_ARGS})`);
  for (const arg of argv) {
    if (typeof arg !== 'string' || arg.length > MAX_ARG_LENGTH) {
      throw usage(`an argument is longer than ${MAX_ARG_LENGTH} characters`);
    }
  }
  let words = [...argv];
  const json = words.includes('--json');
  words = words.filter((w) => w !== '--json');
  if (words.length === 0) throw usage('no command; try "help"');
  // The reference's comma form: "delbanned,1.2.3.4" is "delbanned 1.2.3.4".
  if (words[0]!.includes(',')) words = [...words[0]!.split(','), ...words.slice(1)];
  const [name, ...rest] = words;
  const spec = Object.hasOwn(COMMANDS, name!) ? COMMANDS[name!] : undefined;
  if (!spec) throw new ControlErrors.TG_CONSOLE_UNKNOWN_COMMAND(name!.slice(0, 40));

  const args: string[] = [];
  const options = new Map<string, string>();
  const flags = new Set<string>();
  for (let i = 0; i < rest.length; i++) {
    const word = rest[i]!;
    if (!word.startsWith('--')) {
      args.push(word);
      continue;
    }
    if (spec.flags?.includes(word)) {
      flags.add(word);
      continue;
    }
    if (!spec.options?.includes(word)) {
      throw usage(`${name}: unknown option ${word.slice(0, 40)}; usage: ${spec.usage}`);
    }
    const value = rest[++i];
    if (value === undefined) throw usage(`${name}: ${word} needs a value`);
    options.set(word, value);
  }
  if (args.length < spec.arity[0] || args.length > spec.arity[1]) {
    throw usage(`${name}: expected ${spec.expects}; usage: ${spec.usage}`);
  }
  return { command: spec.build(args, options, flags), json };
}

function unbanTarget(text: string): string {
  return text.toLowerCase() === 'all' ? 'all' : target(text);
}

// ---- secrets on the command line and in the history ----

/**
 * Whether a shell line may carry a secret and must stay out of the history file. Decided on
 * the raw text, before and whatever the parse: a mistyped `user ad bob --pasword X` carries
 * the password just the same. Generous on purpose: leaving a line out of history costs
 * nothing.
 */
export function mayCarrySecret(line: string): boolean {
  return /pas|pw|secret|api.?(v2)?key|token|credential/i.test(line);
}

/** Where tollgatectl reads the password for --password-stdin ({secret} is the text read). */
export function withSecret(argv: readonly string[], secret: string): string[] {
  return argv.flatMap((w) => (w === '--password-stdin' ? ['--password', secret] : [w]));
}

/**
 * Whether argv (a process's command line, which `ps` and /proc show every user) carries a
 * secret in the clear: --password, `users set NAME password VALUE`, or a secret config key's
 * value (the API keys).
 */
export function secretInArgv(argv: readonly string[]): boolean {
  const w = argv.filter((a) => a !== '--json').map((a) => a.toLowerCase());
  if (w.includes('--password')) return true;
  if (w[0] === 'admins' && w[1] === 'password' && w[2] !== undefined && w[3] !== undefined)
    return w[3] !== '--password-stdin';
  if (w[0] === 'users' && w[1] === 'set' && w[3] === 'password' && w[4] !== undefined)
    return w[4] !== '--password-stdin';
  return w[0] === 'config' && w[1] === 'set' && /apikey|apiv2key|secret|pass/.test(w[2] ?? '');
}

/**
 * Splits a shell line into words: whitespace separates, single or double quotes group,
 * backslash escapes the next character. An unclosed quote is a usage error.
 */
export function tokenize(line: string): string[] {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < line.length) current += line[++i];
      else current += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      current += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += c;
      inWord = true;
    }
  }
  if (quote) throw usage(`unclosed ${quote} quote`);
  if (inWord) words.push(current);
  return words;
}
