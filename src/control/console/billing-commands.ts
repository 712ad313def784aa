// The console's billing commands: top-ups, tariffs, CDRs and number blacklists. Parsed here
// (grammar.ts spreads BILLING_SPECS into its table) and carried out against the billing
// service. Amounts are exact decimal text both ways.
//
//   topup USER AMOUNT                         tollgatectl topup alice 12.50
//   tariffs import FILE | export [NAME] | list | del NAME
//   cdrs [--user U] [--since T] [--until T] [--limit N] [--csv]
//   blacklist add NUMBER|PREFIX* [--ttl 7d] [--reason TEXT] | del NUMBER | list
//
// `tariffs import FILE` is read by tollgatectl (the file is the operator's, in the
// operator's directory) and sent as the request's payload; the daemon never opens a path a
// console user names.

import { cdrCsvLines } from '../billing/cdr-csv.ts';
import { formatMoney } from '../billing/money.ts';
import { type BillingService, parseSince } from '../billing/service.ts';
import { ControlErrors } from '../errors.ts';
import type { Reply } from './commands.ts';
import type { Command, CommandSpec } from './grammar.ts';
import { iso, table } from './render.ts';

export type BillingCommand =
  | { name: 'topup'; user: string; amount: string }
  | { name: 'tariffs-import'; file: string }
  | { name: 'tariffs-export'; tariff?: string }
  | { name: 'tariffs-list' }
  | { name: 'tariffs-del'; tariff: string }
  | {
      name: 'cdrs';
      user?: string;
      since?: string;
      until?: string;
      limit?: number;
      csv: boolean;
    }
  | { name: 'blacklist-add'; entry: string; ttl?: string; reason: string }
  | { name: 'blacklist-del'; entry: string }
  | { name: 'blacklist-list' };

/** A console command's grammar (grammar.ts), building a billing command. */
type BillingSpec = CommandSpec<Command>;

function usage(text: string): Error {
  return new ControlErrors.TG_CONSOLE_USAGE(text);
}

export const BILLING_SPECS: Record<string, BillingSpec> = {
  topup: {
    usage: 'topup USER AMOUNT',
    help: 'add credit to an account (exact decimal amount, e.g. 12.50; negative to take it back)',
    arity: [2, 2],
    expects: 'a user and an amount',
    build: (a) => ({ name: 'topup', user: a[0]!, amount: a[1]! }),
  },
  tariffs: {
    usage: 'tariffs import FILE | tariffs export [NAME] | tariffs list | tariffs del NAME',
    help: 'rate tables (CSV: tariff,prefix,price,connect_fee,increments,parent,description); a bad file is refused whole with its line numbers',
    arity: [1, 2],
    expects: 'import FILE, export [NAME], list or del NAME',
    build: (a) => {
      const [verb, arg] = a;
      if (verb === 'import' && arg) return { name: 'tariffs-import', file: arg };
      if (verb === 'export') return { name: 'tariffs-export', ...(arg ? { tariff: arg } : {}) };
      if (verb === 'list' && !arg) return { name: 'tariffs-list' };
      if (verb === 'del' && arg) return { name: 'tariffs-del', tariff: arg };
      throw usage(`tariffs: usage: ${BILLING_SPECS.tariffs!.usage}`);
    },
  },
  cdrs: {
    usage: 'cdrs [--user U] [--since T] [--until T] [--limit N] [--csv]',
    help: 'call records (refused calls too, with the rule) by end time; T is a date/time (2026-12-06T08:00Z) or a duration back (24h, 7d)',
    arity: [0, 0],
    expects: 'options only',
    options: ['--user', '--since', '--until', '--limit'],
    flags: ['--csv'],
    build: (_a, o, f) => {
      const limitText = o.get('--limit');
      const limit = limitText === undefined ? undefined : Number(limitText);
      if (limit !== undefined && !(Number.isInteger(limit) && limit > 0))
        throw usage(
          `cdrs: --limit takes a positive whole number, not "${limitText!.slice(0, 20)}"`,
        );
      return {
        name: 'cdrs',
        ...(o.has('--user') ? { user: o.get('--user')! } : {}),
        ...(o.has('--since') ? { since: o.get('--since')! } : {}),
        ...(o.has('--until') ? { until: o.get('--until')! } : {}),
        ...(limit !== undefined ? { limit } : {}),
        csv: f.has('--csv'),
      };
    },
  },
  blacklist: {
    usage:
      'blacklist add NUMBER|PREFIX* [--ttl 7d] [--reason TEXT] | blacklist del NUMBER | blacklist list',
    help: 'dialled numbers refused (fixed; with --ttl dynamic; "smart" entries are learned, see smartblacklist)',
    arity: [1, 2],
    expects: 'add NUMBER, del NUMBER or list',
    options: ['--ttl', '--reason'],
    build: (a, o) => {
      const [verb, entry] = a;
      if (verb === 'add' && entry)
        return {
          name: 'blacklist-add',
          entry,
          ...(o.has('--ttl') ? { ttl: o.get('--ttl')! } : {}),
          reason: o.get('--reason') ?? 'added from console',
        };
      if ((o.has('--ttl') || o.has('--reason')) && verb !== 'add')
        throw usage('blacklist: --ttl and --reason go with "blacklist add"');
      if (verb === 'del' && entry) return { name: 'blacklist-del', entry };
      if (verb === 'list' && !entry) return { name: 'blacklist-list' };
      throw usage(`blacklist: usage: ${BILLING_SPECS.blacklist!.usage}`);
    },
  },
};

/** Runs one billing command. `payload` is the tariff file tollgatectl read (tariffs import). */
export function runBillingCommand(
  command: BillingCommand,
  billing: BillingService | undefined,
  payload: string | undefined,
  parseTtl: (text: string | undefined) => number,
): Reply {
  if (!billing) return { exit: 1, text: 'billing is not available here', code: 'TG_CONSOLE_USAGE' };
  switch (command.name) {
    case 'topup': {
      const data = billing.topUp(command.user, command.amount);
      return { exit: 0, text: `${data.user}: credit ${data.credit}`, data };
    }
    case 'tariffs-import': {
      if (payload === undefined)
        throw usage('tariffs import: the file is read by tollgatectl and sent with the request');
      const data = billing.tariffs.importCsv(payload);
      return {
        exit: 0,
        text: `imported ${data.rates} rate(s) in ${data.tariffs} tariff(s) from ${command.file}`,
        data,
      };
    }
    case 'tariffs-export': {
      const csv = billing.tariffs.exportCsv(command.tariff);
      return { exit: 0, text: csv.trimEnd(), data: { csv } };
    }
    case 'tariffs-list': {
      const data = billing.tariffs.list();
      const text = data.length
        ? table(
            ['TARIFF', 'PARENT', 'RATES', 'UPDATED'],
            data.map((d) => [d.name, d.parent ?? '-', String(d.rates), iso(d.updatedAt)]),
          )
        : 'no tariffs (calls out are unrated: see blocknotbilledcalls)';
      return { exit: 0, text, data };
    }
    case 'tariffs-del':
      billing.tariffs.del(command.tariff);
      return {
        exit: 0,
        text: `deleted tariff ${command.tariff}`,
        data: { deleted: command.tariff },
      };
    case 'cdrs': {
      const cdrs = billing.cdrs({
        ...(command.user !== undefined ? { user: command.user } : {}),
        ...(command.since !== undefined ? { since: parseSince(command.since, 'since') } : {}),
        ...(command.until !== undefined ? { until: parseSince(command.until, 'until') } : {}),
        ...(command.limit !== undefined ? { limit: command.limit } : {}),
      });
      const data = cdrs.map((c) => ({
        ...c,
        cost: formatMoney(c.costMicros),
        ...(c.carrierCostMicros !== undefined
          ? { carrierCost: formatMoney(c.carrierCostMicros) }
          : {}),
      }));
      if (command.csv) return { exit: 0, text: cdrCsvLines(cdrs).join('\n'), data };
      const text = cdrs.length
        ? table(
            ['ENDED', 'ACCOUNT', 'DIALLED', 'SECONDS', 'COST', 'STATUS', 'REASON'],
            cdrs.map((c) => [
              iso(c.endedAt),
              c.account || '-',
              c.dialled,
              String(c.durationSeconds),
              formatMoney(c.costMicros),
              c.refused ? `refused ${c.status}` : String(c.status),
              c.reason,
            ]),
          )
        : 'no call records';
      return { exit: 0, text, data };
    }
    case 'blacklist-add': {
      const record = billing.blacklistAdd(command.entry, parseTtl(command.ttl), command.reason);
      const until = record.expiresAt ? `until ${iso(record.expiresAt)}` : 'until removed';
      return {
        exit: 0,
        text: `blacklisted ${record.number} (${record.kind}) ${until}`,
        data: record,
      };
    }
    case 'blacklist-del': {
      if (!billing.blacklist.remove(command.entry))
        return {
          exit: 1,
          text: `no blacklist entry ${command.entry.slice(0, 40)}`,
          code: 'TG_BILLING_BAD_NUMBER',
        };
      return { exit: 0, text: `removed ${command.entry}`, data: { removed: command.entry } };
    }
    case 'blacklist-list': {
      const data = billing.blacklist.list();
      const text = data.length
        ? table(
            ['NUMBER', 'KIND', 'SINCE', 'EXPIRES', 'REASON'],
            data.map((r) => [
              r.number,
              r.kind,
              iso(r.createdAt),
              r.expiresAt ? iso(r.expiresAt) : 'never',
              r.reason,
            ]),
          )
        : 'no blacklisted numbers';
      return { exit: 0, text, data };
    }
  }
}
