// The console language, shared by `tollgatectl`, `tollgatectl shell` and the daemon (which
// parses again: it never trusts the client). Two spellings are accepted:
//   - the reference product's comma form:  delbanned,10.0.0.1   delbanned,all
//   - plain subcommands:                     unban 10.0.0.1   ban 10.0.0.1 --ttl 600 --reason spam
// `--json` anywhere asks for machine-readable output.
import { ControlErrors } from '../errors.ts';

export type Command =
  | { name: 'status' }
  | { name: 'stats' }
  | { name: 'bans' }
  | { name: 'ban'; ip: string; ttlSeconds: number; reason: string }
  | { name: 'unban'; target: string }
  | { name: 'config-get'; key: string }
  | { name: 'config-set'; key: string; value: string }
  | { name: 'config-list' }
  | { name: 'users-add'; user: string; password?: string }
  | { name: 'users-list' }
  | { name: 'users-show'; user: string }
  | { name: 'users-set'; user: string; key: string; value: string }
  | { name: 'users-del'; user: string }
  | { name: 'stress-test' }
  | { name: 'firewall-add'; action: 'allow' | 'deny'; cidr: string }
  | { name: 'firewall-del'; cidr: string }
  | { name: 'firewall-list' }
  | { name: 'help'; topic?: string }
  | { name: 'shell' };

export interface ParsedCommand {
  command: Command;
  json: boolean;
}

interface Spec {
  usage: string;
  help: string;
  /** How many positional arguments it takes, and how to say so when that is wrong. */
  arity: readonly [min: number, max: number];
  expects: string;
  /** Options this command takes (besides --json), each with a value. */
  options?: readonly string[];
  build(args: string[], options: Map<string, string>): Command;
}

export const MAX_ARGS = 16;
export const MAX_ARG_LENGTH = 1024;
/** Ten years: anything longer should be a permanent ban (--ttl 0) that says so. */
const MAX_TTL_SECONDS = 10 * 365 * 24 * 3600;

function usage(text: string): Error {
  return new ControlErrors.TG_CONSOLE_USAGE(text);
}

function parseTtl(text: string | undefined): number {
  if (text === undefined) return 0;
  if (!/^\d{1,10}$/.test(text) || Number(text) > MAX_TTL_SECONDS) {
    throw usage(
      `ban: --ttl must be whole seconds from 0 (permanent) to ${MAX_TTL_SECONDS}, not "${text}"`,
    );
  }
  return Number(text);
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
  ban: {
    usage: 'ban IP [--ttl SECONDS] [--reason TEXT]',
    help: 'ban an address (IPv4 or IPv6); --ttl 0 or none = until lifted',
    arity: ONE,
    expects: 'one address',
    options: ['--ttl', '--reason'],
    build: (a, o) => ({
      name: 'ban',
      ip: a[0]!,
      ttlSeconds: parseTtl(o.get('--ttl')),
      reason: o.get('--reason') ?? 'manual ban from console',
    }),
  },
  unban: {
    usage: 'unban IP|all',
    help: 'lift the ban on one address, or every ban',
    arity: ONE,
    expects: 'an address or "all"',
    build: (a) => ({ name: 'unban', target: a[0]! }),
  },
  delbanned: {
    usage: 'delbanned,IP | delbanned,all',
    help: 'the reference console form of unban',
    arity: ONE,
    expects: 'an address or "all"',
    build: (a) => ({ name: 'unban', target: a[0]! }),
  },
  config: {
    usage: 'config get KEY | config set KEY VALUE | config list',
    help: 'read or change configuration (bad values are refused, nothing changes)',
    arity: [1, 3],
    expects: 'get KEY, set KEY VALUE or list',
    build: (a) => {
      const [verb, key, value] = a;
      if (verb === 'get' && a.length === 2) return { name: 'config-get', key: key! };
      if (verb === 'set' && a.length === 3) return { name: 'config-set', key: key!, value: value! };
      if (verb === 'list' && a.length === 1) return { name: 'config-list' };
      throw usage(`config: usage: ${COMMANDS.config!.usage}`);
    },
  },
  users: {
    usage:
      'users add NAME [--password PW] | users list | users show NAME | users set NAME KEY VALUE | users del NAME',
    help: 'SIP accounts; add without --password generates a strong one (shown once)',
    arity: [1, 4],
    expects: 'add, list, show, set or del',
    options: ['--password'],
    build: (a, o) => {
      const [verb, user, key, value] = a;
      const password = o.get('--password');
      if (verb === 'add' && a.length === 2) {
        return { name: 'users-add', user: user!, ...(password !== undefined ? { password } : {}) };
      }
      if (password !== undefined)
        throw usage('users: --password goes with "users add"; use "users set NAME password PW"');
      if (verb === 'list' && a.length === 1) return { name: 'users-list' };
      if (verb === 'show' && a.length === 2) return { name: 'users-show', user: user! };
      if (verb === 'set' && a.length === 4)
        return { name: 'users-set', user: user!, key: key!, value: value! };
      if (verb === 'del' && a.length === 2) return { name: 'users-del', user: user! };
      throw usage(`users: usage: ${COMMANDS.users!.usage}`);
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
        return { name: 'firewall-add', action: verb, cidr };
      if (verb === 'del' && cidr) return { name: 'firewall-del', cidr };
      if (verb === 'list' && a.length === 1) return { name: 'firewall-list' };
      throw usage(`firewall: usage: ${COMMANDS.firewall!.usage}`);
    },
  },
  'stress-test': {
    usage: 'stress-test',
    help: "apply the reference's stress-test profile (firewall, scan blocking and autoban off); undo with config set",
    arity: NONE,
    expects: 'no arguments',
    build: () => ({ name: 'stress-test' }),
  },
  help: {
    usage: 'help [COMMAND]',
    help: 'this list, or one command',
    arity: [0, 1],
    expects: 'at most one command',
    build: (a) => (a[0] ? { name: 'help', topic: a[0] } : { name: 'help' }),
  },
  shell: {
    usage: 'shell',
    help: 'interactive console (history, help, the same commands)',
    arity: NONE,
    expects: 'no arguments',
    build: () => ({ name: 'shell' }),
  },
};

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
  for (let i = 0; i < rest.length; i++) {
    const word = rest[i]!;
    if (!word.startsWith('--')) {
      args.push(word);
      continue;
    }
    if (!spec.options?.includes(word)) {
      throw usage(`${name}: unknown option ${word}; usage: ${spec.usage}`);
    }
    const value = rest[++i];
    if (value === undefined) throw usage(`${name}: ${word} needs a value`);
    options.set(word, value);
  }
  if (args.length < spec.arity[0] || args.length > spec.arity[1]) {
    throw usage(`${name}: expected ${spec.expects}; usage: ${spec.usage}`);
  }
  return { command: spec.build(args, options), json };
}

/** The line with password values replaced, for the shell's history file. */
export function redactSecrets(words: readonly string[]): string[] {
  return words.map((w, i) => {
    const prev = words[i - 1]?.toLowerCase();
    return prev === '--password' || (prev === 'password' && words[i - 3] === 'set') ? '***' : w;
  });
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
