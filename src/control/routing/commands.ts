// `tollgatectl trunks …` and `tollgatectl routes …`: each command's reply as text for people
// and data for --json (console/commands.ts runs them; errors carry their exit code).
import type { RouteRecord, TrunkRecord } from '../../store/records.ts';
import type { Reply } from '../console/commands.ts';
import type { Command } from '../console/grammar.ts';
import { table } from '../console/render.ts';
import { ControlErrors } from '../errors.ts';
import type { RoutingService } from './routing.ts';

type RoutingCommand = Extract<Command, { name: `trunks-${string}` | `routes-${string}` }>;

export function runRoutingCommand(
  command: RoutingCommand,
  routing: RoutingService | undefined,
): Reply {
  if (routing === undefined)
    throw new ControlErrors.TG_CONSOLE_USAGE('trunks and routes are managed by the running daemon');
  switch (command.name) {
    case 'trunks-add': {
      const t = routing.addTrunk(command.trunk);
      return { exit: 0, text: `added trunk ${t.name} (${where(t)})`, data: t };
    }
    case 'trunks-list': {
      const list = routing.listTrunks();
      return { exit: 0, text: renderTrunks(list), data: list };
    }
    case 'trunks-del':
      routing.delTrunk(command.trunk);
      return { exit: 0, text: `deleted trunk ${command.trunk}`, data: { deleted: command.trunk } };
    case 'routes-add': {
      const r = routing.addRoute(command.route);
      return { exit: 0, text: `added route ${r.prefix || 'any'} → ${r.trunk}`, data: r };
    }
    case 'routes-list': {
      const list = routing.listRoutes();
      return { exit: 0, text: renderRoutes(list), data: list };
    }
    case 'routes-del': {
      const removed = routing.delRoute(command.prefix, command.trunk);
      return {
        exit: 0,
        text: `deleted ${removed} route(s) for ${command.prefix || 'any'}`,
        data: { removed },
      };
    }
  }
}

function where(t: TrunkRecord): string {
  const host = t.host.includes(':') ? `[${t.host}]` : t.host;
  return `${t.transport} ${host}:${t.port}`;
}

function renderTrunks(list: TrunkRecord[]): string {
  if (list.length === 0) return 'no trunks';
  return table(
    ['NAME', 'ADDRESS', 'INBOUND', 'TECHPREFIX', 'TIMEOUT'],
    list.map((t) => [
      t.name,
      where(t),
      t.inboundIps.join(',') || '-',
      t.techprefix || '-',
      `${t.timeoutSeconds}s`,
    ]),
  );
}

function renderRoutes(list: RouteRecord[]): string {
  if (list.length === 0) return 'no routes';
  return table(
    ['PREFIX', 'TRUNK', 'PRIORITY', 'WEIGHT', 'STRIP', 'PREPEND'],
    list.map((r) => [
      r.prefix || 'any',
      r.trunk,
      String(r.priority),
      String(r.weight),
      String(r.strip),
      r.prepend || '-',
    ]),
  );
}
