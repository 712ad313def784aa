// `tollgatectl calls [--json]` and `tollgatectl hangup ID|all`: the live calls the SIP proxy
// routes, and tollgate's own teardown of them (a confirmed call gets a BYE to each end; one
// in setup a CANCEL downstream and 487 upstream). The console never imports src/sip: the
// daemon hands it the proxy's call table as this small interface.
import type { LiveCall, LiveCallTable } from '../../policy-port.ts';
import { ControlErrors } from '../errors.ts';
import { table } from './render.ts';

/** What the console needs of the call table (the daemon hands it over). */
export type CallsConsole = LiveCallTable;

export interface CallsReply {
  exit: 0 | 1;
  text: string;
  data: unknown;
}

/** A Call-ID as typed on a command line: bounded, printable, no spaces (RFC 3261 §25.1 word). */
export function callIdArgument(text: string): string {
  if (text.length > 256 || !/^[\x21-\x7e]+$/.test(text))
    throw new ControlErrors.TG_CONSOLE_USAGE(
      `hangup: "${text.slice(0, 40)}" is not a call id (see "calls") nor "all"`,
    );
  return text;
}

function callTable(calls: CallsConsole | undefined): CallsConsole {
  if (calls === undefined) throw new ControlErrors.TG_CALLS_UNAVAILABLE();
  return calls;
}

export function listCalls(calls: CallsConsole | undefined): CallsReply {
  const data = callTable(calls).list();
  return { exit: 0, text: renderCalls(data), data };
}

export function hangupCalls(calls: CallsConsole | undefined, target: string): CallsReply {
  const live = callTable(calls);
  if (target === 'all') {
    const ended = live.hangup({ all: true });
    return { exit: 0, text: `ended ${ended} call(s)`, data: { ended } };
  }
  if (live.hangup(target) === 0) throw new ControlErrors.TG_CALL_NOT_FOUND(target.slice(0, 80));
  return { exit: 0, text: `ended call ${target}`, data: { ended: 1, id: target } };
}

function age(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${seconds % 60}s`;
  return `${Math.floor(seconds / 3600)}h${Math.floor((seconds % 3600) / 60)}m`;
}

function renderCalls(calls: readonly LiveCall[]): string {
  if (calls.length === 0) return 'no calls';
  const rows = calls.map((c) => [
    c.id,
    c.state,
    c.caller || '-',
    c.callee || '-',
    c.account || '-',
    c.route || '-',
    age(c.ageSeconds),
    c.mediaPorts.length ? c.mediaPorts.join(',') : '-',
    c.packetsDropped === undefined ? '-' : String(c.packetsDropped),
  ]);
  return table(
    ['ID', 'STATE', 'CALLER', 'CALLEE', 'ACCOUNT', 'ROUTE', 'AGE', 'MEDIA PORTS', 'DROPPED'],
    rows,
  );
}
