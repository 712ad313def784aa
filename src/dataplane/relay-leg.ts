// A RelayLeg (types.ts) checked and canonicalised once, for every mode: the XDP entry
// (layout.ts encodeRelay), the nftables source filter and the off mode's record all take
// the result, so a caller's bug shows up the same way whatever the dataplane.
import { type AddrBytes, addrBytes } from './addr-bytes.ts';
import { DataplaneErrors as E } from './errors.ts';
import { portOk } from './guard-config.ts';
import type { Endpoint, RelayCounters, RelayLeg } from './types.ts';

export interface CheckedEndpoint {
  addr: AddrBytes;
  port: number;
}

export interface CheckedLeg {
  localPort: number;
  /** null: not latched yet (every packet goes up to userspace). */
  peer: CheckedEndpoint | null;
  /** A packet from another source is dropped (true) or let up to userspace (false). */
  strict: boolean;
  to: CheckedEndpoint;
  from: CheckedEndpoint;
}

/**
 * Addresses already checked, by their text. A call's legs name the same few addresses (the
 * relay's own, each phone's) several times each, and a busy relay the same ones call after
 * call: parsing them into two byte arrays every time was most of a leg's check. Bounded
 * (a new Map when full); an address that does not parse is never kept. The byte arrays are
 * shared by every leg that names the address: the modes only copy them into their keys.
 */
const CHECKED_MAX = 4096;
let checked = new Map<string, AddrBytes>();

function checkedAddr(ip: string): AddrBytes {
  let a = checked.get(ip);
  if (a === undefined) {
    a = addrBytes(ip); // throws TG_DP_BAD_ADDRESS
    if (checked.size >= CHECKED_MAX) checked = new Map();
    checked.set(ip, a);
  }
  return a;
}

function endpoint(localPort: number, what: string, e: Endpoint | undefined): CheckedEndpoint {
  if (typeof e !== 'object' || e === null)
    throw new E.TG_DP_BAD_RELAY(localPort, `${what} is missing (expected { ip, port })`);
  if (!portOk(e.port)) throw new E.TG_DP_BAD_PORT(`${what} port`, e.port, '1..65535');
  return { addr: checkedAddr(String(e.ip)), port: e.port };
}

/**
 * Checks a leg; `range` is the media port range the kernel guards (null: not known, e.g.
 * mode off). A port outside it would never be looked at by the kernel, so it is refused.
 */
export function checkRelayLeg(
  leg: RelayLeg,
  range: { min: number; max: number } | null,
): CheckedLeg {
  if (typeof leg !== 'object' || leg === null)
    throw new E.TG_DP_BAD_RELAY('?', 'expected { localPort, forwardTo, forwardFrom, ... }');
  const localPort = checkLocalPort(leg.localPort, range);
  const to = endpoint(localPort, 'forwardTo', leg.forwardTo);
  const from = endpoint(localPort, 'forwardFrom', leg.forwardFrom);
  if (to.addr.family !== from.addr.family)
    throw new E.TG_DP_BAD_RELAY(
      localPort,
      `forwardTo ${to.addr.text} and forwardFrom ${from.addr.text} are not the same address family`,
    );
  const peer =
    leg.expectedPeer === undefined || leg.expectedPeer === null
      ? null
      : endpoint(localPort, 'expectedPeer', leg.expectedPeer);
  const others = leg.otherSources ?? 'drop';
  if (others !== 'drop' && others !== 'userspace')
    throw new E.TG_DP_BAD_RELAY(localPort, `otherSources "${others}" (expected drop or userspace)`);
  return { localPort, peer, strict: others === 'drop', to, from };
}

export function checkLocalPort(port: unknown, range: { min: number; max: number } | null): number {
  if (!portOk(port)) throw new E.TG_DP_BAD_PORT('relay port', port, '1..65535');
  if (range !== null && (port < range.min || port > range.max))
    throw new E.TG_DP_BAD_PORT('relay port', port, `the media range ${range.min}..${range.max}`);
  return port;
}

export function zeroCounters(): RelayCounters {
  return { forwardedPackets: 0, forwardedBytes: 0, droppedPackets: 0, userspacePackets: 0 };
}
