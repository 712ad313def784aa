// Carries out one parsed console command against the daemon's services and renders the
// reply twice: as text for people and as data for --json. Exit codes follow the contract:
// 0 ok, 1 refused or not found, 2 usage error.

import type { Settings } from '../../config/settings.ts';
import { TollgateError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { SecurityReport, SecurityVerdict } from '../../policy-port.ts';
import type { BanRecord } from '../../store/records.ts';
import type { AdminService, PublicAdmin } from '../admins.ts';
import { type AuditReport, renderAudit } from '../audit/audit.ts';
import { BanService, type Enforcement } from '../bans.ts';
import type { AccountSummary, BillingService } from '../billing/service.ts';
import { ControlErrors } from '../errors.ts';
import { type DetectionRecord, stressTestProfile } from '../guard/index.ts';
import type { PortBanRecord, PortBans } from '../guard-wiring.ts';
import { runRoutingCommand } from '../routing/commands.ts';
import type { RoutingService } from '../routing/routing.ts';
import type { PublicUser, UserService } from '../users.ts';
import { runBillingCommand } from './billing-commands.ts';
import { type CallsConsole, hangupCalls, listCalls } from './calls-commands.ts';
import { runConfigCommand } from './config-commands.ts';
import { type Command, helpText, parseCommand, parseTtl } from './grammar.ts';
import { formatValue, iso, renderObject, table } from './render.ts';

export interface Reply {
  exit: 0 | 1 | 2;
  text: string;
  data?: unknown;
  /** The error code when exit is not 0. */
  code?: string;
  /** A result that is output even when exit is 1 (audit findings): stdout, with its data. */
  report?: boolean;
}

export interface ConsoleContext {
  bans: BanService;
  /** Accounts' money, tariffs, CDRs, blacklists; absent in tools that have no billing. */
  billing?: BillingService;
  /** The guard's IP:port bans (userspace only); absent in tools that have no guard. */
  portBans?: PortBans;
  /** What the guard detected and did not ban; absent in tools that have no guard. */
  detections?: () => DetectionRecord[];
  settings: Settings;
  users: UserService;
  /** Administrators of the web UI and API; absent in tools that have no web layer. */
  admins?: AdminService;
  /** Trunks and outbound routes; absent in tools that have no store of them. */
  routing?: RoutingService;
  status(): Promise<Record<string, unknown>>;
  /** The security audit of the running configuration and system. */
  audit(): AuditReport;
  stats(): Promise<Record<string, unknown>>;
  /** The SIP proxy's live calls (`calls`, `hangup`); absent in tools without a proxy. */
  calls?: CallsConsole;
  /** The guard's report port (what SIP reports through); absent in tools that have no guard. */
  report?: (event: SecurityReport) => SecurityVerdict;
  log: Logger;
}

/** What the client says about where it runs (tollgatectl's environment). */
export interface ConsoleSession {
  /** A file tollgatectl read for the command (tariffs import), sent beside argv. */
  payload?: string;
  /** The address of the SSH session running tollgatectl (SSH_CLIENT), if any. */
  sshClient?: string;
}

/**
 * Errors that mean the command line itself cannot be read: exit 2. Everything else the
 * daemon refuses or cannot find is exit 1.
 */
const USAGE_CODES = new Set([
  'TG_CONSOLE_USAGE',
  'TG_TRUNK_BAD_ARGUMENT',
  'TG_ROUTE_BAD_ARGUMENT',
  'TG_CONSOLE_UNKNOWN_COMMAND',
  'TG_BAN_BAD_ADDRESS',
  'TG_USER_BAD_NAME',
]);

export function exitCodeOf(code: string): 1 | 2 {
  return USAGE_CODES.has(code) ? 2 : 1;
}

/** Parses (again: the daemon trusts no client) and runs one command line. */
export async function runConsoleLine(
  argv: readonly string[],
  ctx: ConsoleContext,
  session: ConsoleSession = {},
): Promise<Reply> {
  try {
    const { command } = parseCommand(argv);
    return await execute(command, ctx, session);
  } catch (err) {
    if (err instanceof TollgateError) {
      return { exit: exitCodeOf(err.code), text: err.message, code: err.code };
    }
    ctx.log.error({ err }, 'console command failed');
    return { exit: 1, text: 'internal error; see the daemon log', code: 'TG_INTERNAL' };
  }
}

async function execute(
  command: Command,
  ctx: ConsoleContext,
  session: ConsoleSession,
): Promise<Reply> {
  switch (command.name) {
    case 'status': {
      const data = await ctx.status();
      return { exit: 0, text: renderObject(data), data };
    }
    case 'stats': {
      const data = await ctx.stats();
      return { exit: 0, text: renderObject(data), data };
    }
    case 'bans': {
      const bans = ctx.bans.list().map((b) => ({
        ...b,
        scope: b.ip.includes('/') ? 'range' : 'ip',
        ...ctx.bans.enforcement(b),
      }));
      const ports = ctx.portBans?.list() ?? [];
      const data = [
        ...bans,
        // IP:port bans are the guard's own, enforced in userspace (SIP is dropped there).
        ...ports.map((p) => ({ ...p, origin: 'auto', scope: 'ip:port', enforced: true })),
      ];
      return { exit: 0, text: renderBans(bans, ports), data };
    }
    case 'detections': {
      const data = ctx.detections?.() ?? [];
      return { exit: 0, text: renderDetections(data), data };
    }
    case 'ban': {
      const record = await ctx.bans.ban(command.ip, {
        ttlSeconds: command.ttlSeconds,
        reason: command.reason,
        origin: 'manual',
        force: command.force,
        ...(session.sshClient ? { sshClient: session.sshClient } : {}),
      });
      const until = record.expiresAt ? `until ${iso(record.expiresAt)}` : 'until lifted';
      const enforcement = ctx.bans.enforcement(record);
      const note = enforcement.enforced ? '' : `\nnot enforced: ${enforcement.why}`;
      return {
        exit: 0,
        text: `banned ${record.ip} ${until}${note}`,
        data: { ...record, scope: record.ip.includes('/') ? 'range' : 'ip', ...enforcement },
      };
    }
    case 'unban': {
      if (command.target === 'all') {
        const lifted = (ctx.portBans?.lift('all') ?? 0) + (await ctx.bans.unban('all'));
        return { exit: 0, text: `lifted ${lifted} ban(s)`, data: { lifted } };
      }
      const target = BanService.target(command.target);
      // IP:port bans of the address go too; a lone IP:port ban is enough to succeed.
      let lifted = target.range ? 0 : (ctx.portBans?.lift(target.text) ?? 0);
      try {
        lifted += await ctx.bans.unban(target.text);
      } catch (err) {
        if (lifted === 0 || (err as TollgateError).code !== 'TG_BAN_NOT_FOUND') throw err;
      }
      return { exit: 0, text: `lifted the ban on ${target.text}`, data: { lifted } };
    }
    case 'config-get':
    case 'config-set':
    case 'config-unset':
    case 'config-list':
    case 'config-keys':
      return runConfigCommand(command, ctx.settings);
    case 'audit': {
      const report = ctx.audit();
      return {
        exit: report.findings.length === 0 ? 0 : 1,
        text: renderAudit(report),
        data: report,
        report: true,
      };
    }
    case 'users-add': {
      if (command.passwordStdin) throw passwordStdinAtDaemon();
      const { user, generatedPassword } = ctx.users.add(command.user, command.password);
      const text = generatedPassword
        ? `added ${user.name} (realm ${user.realm}); generated password, shown only now: ${generatedPassword}`
        : `added ${user.name} (realm ${user.realm})`;
      return {
        exit: 0,
        text,
        data: { ...user, ...(generatedPassword ? { generatedPassword } : {}) },
      };
    }
    case 'users-list': {
      const users = ctx.users.list().map((u) => withBilling(u, ctx.billing));
      return { exit: 0, text: renderUsers(users), data: users };
    }
    case 'users-show': {
      const user = withBilling(ctx.users.get(command.user), ctx.billing);
      return {
        exit: 0,
        text: renderObject({ ...user, createdAt: iso(user.createdAt) }),
        data: user,
      };
    }
    case 'users-set': {
      if (command.passwordStdin) throw passwordStdinAtDaemon();
      const user = ctx.users.set(command.user, command.key, command.value, {
        acceptUnenforced: command.acceptUnenforced,
      });
      return { exit: 0, text: `${user.name}: ${command.key.toLowerCase()} changed`, data: user };
    }
    case 'users-del':
      ctx.users.del(command.user);
      return { exit: 0, text: `deleted ${command.user}`, data: { deleted: command.user } };
    case 'admins-add': {
      if (command.passwordStdin) throw passwordStdinAtDaemon();
      const { admin, generatedPassword } = adminsOf(ctx).add(command.admin, command.password);
      const text = generatedPassword
        ? `added administrator ${admin.name}; generated password, shown only now: ${generatedPassword}`
        : `added administrator ${admin.name}`;
      return {
        exit: 0,
        text,
        data: { ...admin, ...(generatedPassword ? { generatedPassword } : {}) },
      };
    }
    case 'admins-password':
      if (command.passwordStdin) throw passwordStdinAtDaemon();
      adminsOf(ctx).setPassword(command.admin, command.password);
      return { exit: 0, text: `${command.admin}: password changed`, data: { name: command.admin } };
    case 'admins-totp': {
      const result = adminsOf(ctx).setTotp(command.admin, command.enable);
      const text = command.enable
        ? `${command.admin}: two-factor login on; add this to an authenticator app (shown only now):\n${result.uri}`
        : `${command.admin}: two-factor login off`;
      return { exit: 0, text, data: { name: command.admin, totp: command.enable, ...result } };
    }
    case 'admins-list': {
      const admins = adminsOf(ctx).list();
      return { exit: 0, text: renderAdmins(admins), data: admins };
    }
    case 'admins-del':
      adminsOf(ctx).del(command.admin);
      return {
        exit: 0,
        text: `deleted administrator ${command.admin}`,
        data: { deleted: command.admin },
      };
    case 'trunks-add':
    case 'trunks-list':
    case 'trunks-del':
    case 'routes-add':
    case 'routes-list':
    case 'routes-del':
      return runRoutingCommand(command, ctx.routing);
    case 'firewall-add': {
      const key = command.action === 'allow' ? 'trustedip' : 'firewalldeny';
      const rules = ctx.settings.view(FIREWALL_RULE_KEYS);
      const list = rules[key];
      if (!list.includes(command.cidr)) ctx.settings.set(key, [...list, command.cidr]);
      const note = rules.enablefirewall < 1 ? ' (not enforced: enablefirewall is 0)' : '';
      return {
        exit: 0,
        text: `${command.action} ${command.cidr}${note}`,
        data: firewallRules(ctx),
      };
    }
    case 'firewall-del': {
      let found = false;
      for (const key of ['trustedip', 'firewalldeny'] as const) {
        const list = ctx.settings.view(FIREWALL_RULE_KEYS)[key];
        if (list.includes(command.cidr)) {
          ctx.settings.set(
            key,
            list.filter((c) => c !== command.cidr),
          );
          found = true;
        }
      }
      if (!found) throw new ControlErrors.TG_FIREWALL_NOT_FOUND(command.cidr);
      return { exit: 0, text: `removed ${command.cidr}`, data: firewallRules(ctx) };
    }
    case 'firewall-list': {
      const rules = firewallRules(ctx);
      const rows = [...rules.allow.map((c) => ['allow', c]), ...rules.deny.map((c) => ['deny', c])];
      return {
        exit: 0,
        text: rows.length ? table(['ACTION', 'CIDR'], rows) : 'no static rules',
        data: rules,
      };
    }
    case 'ssh-auth-fail': {
      if (!ctx.report) return { exit: 1, text: 'no guard runs here', code: 'TG_INTERNAL' };
      // Counted by the same rules as a failed SIP authentication (ssh-feed.ts says why).
      const verdict = ctx.report({
        kind: 'auth-fail',
        ip: command.ip,
        port: command.port,
        method: 'SSH',
        detail: 'sshd: failed login',
        ...(command.user ? { user: command.user } : {}),
      });
      return {
        exit: 0,
        text: `reported; the guard says ${verdict.action}${verdict.rule ? ` (${verdict.rule})` : ''}`,
        data: verdict,
      };
    }
    case 'stress-test': {
      const changes = Object.entries(stressTestProfile()).map(([key, value]) =>
        ctx.settings.set(key, value),
      );
      const text = [
        'stress-test profile applied (protection is OFF until you set these back):',
        ...changes.map(
          (c) => `  ${c.key} = ${formatValue(c.value)} (was ${formatValue(c.previous)})`,
        ),
      ].join('\n');
      return { exit: 0, text, data: changes };
    }
    case 'calls':
      return listCalls(ctx.calls);
    case 'hangup':
      return hangupCalls(ctx.calls, command.target);
    case 'help':
      return { exit: 0, text: helpText(command.topic) };
    case 'shell':
      return {
        exit: 2,
        text: 'shell is a tollgatectl command, not a daemon command',
        code: 'TG_CONSOLE_USAGE',
      };
    default:
      // topup, tariffs, cdrs, blacklist (billing-commands.ts).
      return runBillingCommand(command, ctx.billing, session.payload, parseTtl);
  }
}

/** The keys the firewall commands read and change. */
const FIREWALL_RULE_KEYS = ['trustedip', 'firewalldeny', 'enablefirewall'] as const;

function firewallRules(ctx: ConsoleContext) {
  const rules = ctx.settings.view(FIREWALL_RULE_KEYS);
  return {
    allow: [...rules.trustedip],
    deny: [...rules.firewalldeny],
    enforced: rules.enablefirewall >= 1,
  };
}

function adminsOf(ctx: ConsoleContext): AdminService {
  if (!ctx.admins) throw new ControlErrors.TG_CONSOLE_USAGE('admins: this tool has no web layer');
  return ctx.admins;
}

function renderAdmins(admins: PublicAdmin[]): string {
  if (admins.length === 0) return 'no administrators (add one: admins add NAME)';
  return table(
    ['NAME', 'TOTP', 'CREATED'],
    admins.map((a) => [a.name, a.totp ? 'on' : 'off', iso(a.createdAt)]),
  );
}

/** --password-stdin is tollgatectl's to read; a raw request that still has it is malformed. */
function passwordStdinAtDaemon(): Error {
  return new ControlErrors.TG_CONSOLE_USAGE(
    'users: --password-stdin is read by tollgatectl, which sends the password itself',
  );
}

type ListedBan = BanRecord & Enforcement;

/**
 * Bans the kernel drops, as a table; after it, any record it does not drop (no kernel
 * dataplane, or an allow rule made after the ban), apart and with the reason, so nothing
 * reads as banned that is not.
 */
function renderBans(bans: ListedBan[], ports: PortBanRecord[]): string {
  if (bans.length === 0 && ports.length === 0) return 'no bans in force';
  const enforced = bans.filter((b) => b.enforced);
  const idle = bans.filter((b) => !b.enforced);
  const rows = [...enforced, ...ports.map((p) => ({ ...p, origin: 'auto (ip:port)' }))].map((b) => [
    'port' in b ? `${b.ip.includes(':') ? `[${b.ip}]` : b.ip}:${b.port}` : b.ip,
    b.origin,
    iso(b.createdAt),
    b.expiresAt ? iso(b.expiresAt) : 'never',
    b.reason,
    describeEvidence(b.evidence),
  ]);
  const header = ['ADDRESS', 'ORIGIN', 'SINCE', 'EXPIRES', 'REASON', 'EVIDENCE'];
  const out = rows.length > 0 ? [table(header, rows)] : ['no bans enforced'];
  if (idle.length > 0) {
    const idleRows = idle.map((b) => [
      b.ip,
      b.origin,
      iso(b.createdAt),
      b.expiresAt ? iso(b.expiresAt) : 'never',
      b.reason,
      b.why ?? '',
    ]);
    out.push(
      '',
      'recorded but NOT enforced (lift them, or fix the cause):',
      table(['ADDRESS', 'ORIGIN', 'SINCE', 'EXPIRES', 'REASON', 'NOT ENFORCED BECAUSE'], idleRows),
    );
  }
  return out.join('\n');
}

function renderDetections(rows: DetectionRecord[]): string {
  if (rows.length === 0) return 'no detections';
  const cells = rows.map((d) => [
    d.ip,
    d.rule,
    d.outcome,
    String(d.count),
    iso(d.firstAt),
    iso(d.lastAt),
    d.evidence.reason,
  ]);
  return table(['ADDRESS', 'RULE', 'OUTCOME', 'COUNT', 'FIRST', 'LAST', 'EVIDENCE'], cells);
}

/** "maxwrongauthfromip: 2500/2500 in 3600s" from the guard's evidence; --json has it all. */
function describeEvidence(e: Record<string, unknown> | undefined): string {
  if (!e || typeof e.rule !== 'string') return '';
  const window = Number(e.windowSeconds) > 0 ? ` in ${e.windowSeconds}s` : '';
  return `${e.rule}: ${e.count}/${e.threshold}${window}`;
}

type ListedUser = PublicUser & { billing?: AccountSummary };

/** The account's money beside its fields: spend today and this month, limits, last refusal. */
function withBilling(user: PublicUser, billing: BillingService | undefined): ListedUser {
  if (!billing) return user;
  try {
    return { ...user, billing: billing.account(user.name) };
  } catch {
    return user;
  }
}

function renderUsers(users: ListedUser[]): string {
  if (users.length === 0) return 'no users';
  const billed = users.some((u) => u.billing);
  const rows = users.map((u) => {
    const b = u.billing;
    const money = b
      ? [
          `${b.postpaid ? 'postpaid' : 'prepaid'} ${b.credit}`,
          b.spentToday,
          b.spentMonth,
          Object.entries(b.limits)
            .map(([k, v]) => `${k}=${v}`)
            .join(' '),
          b.lastRefusal ? `${b.lastRefusal.rule} (${b.lastRefusal.at})` : '-',
        ]
      : [];
    return [
      u.name,
      iso(u.createdAt),
      ...money,
      Object.entries(u.fields)
        .filter(([k]) => !billed || k !== 'credit')
        .map(([k, v]) => `${k}=${formatValue(v)}`)
        .join(' '),
    ];
  });
  const header = billed
    ? ['NAME', 'CREATED', 'CREDIT', 'TODAY', 'MONTH', 'LIMITS', 'LAST REFUSED', 'FIELDS']
    : ['NAME', 'CREATED', 'FIELDS'];
  return table(header, rows);
}
