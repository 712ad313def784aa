// Our Record-Route (RFC 3261 §16.6 step 4), written so that each side of the dialog comes
// back to us on its own transport and interface.
//
// A Record-Route URI tells the phone how to reach us for the rest of the dialog. Without a
// transport parameter a phone uses UDP to the port named (§19.1.2, RFC 3263 §4.1): a TLS
// call would then send its ACK, re-INVITE and BYE in clear over UDP to the TLS port, and get
// nothing back. So each entry carries the transport of the side it faces: ";transport=tcp"
// or ";transport=tls", or a sips: URI when that side asked for SIPS (RFC 5630: a sips:
// Request-URI or Contact over TLS).
//
// One entry cannot be right for both sides when they differ (TLS caller, UDP callee; or two
// networks on two interfaces): RFC 5658 double record-routing puts two, the top one facing
// the callee (the callee's route set reads them top down) and the second facing the caller
// (the caller's reads them bottom up). Both carry ";r2=on", as Kamailio's rr module writes
// them. popOwnRoutes() (forward.ts) removes both when a request comes back through us.
import type { TransportName } from '../transaction/index.ts';
import type { OwnAddresses } from './addresses.ts';

/** One side of a forwarded request: how it reaches us, or how we reach it. */
export interface Side {
  readonly transport: TransportName;
  readonly ip: string;
  /** The side addressed us / is addressed with a sips: URI over TLS. */
  readonly sips: boolean;
}

/** The Record-Route URI a side uses to reach us. */
export function recordRouteFor(own: OwnAddresses, side: Side, double: boolean): string {
  const at = own.advertised(side.transport, side.ip);
  const r2 = double ? ';r2=on' : '';
  if (side.sips && side.transport === 'tls') return `<sips:${at.host}:${at.port};lr${r2}>`;
  const transport = side.transport === 'udp' ? '' : `;transport=${side.transport}`;
  return `<sip:${at.host}:${at.port}${transport};lr${r2}>`;
}

/**
 * The Record-Route values to put on a request from `inbound` forwarded to `outbound`, top
 * first: one when both sides reach us the same way, else two (RFC 5658 §4.1).
 */
export function recordRoutes(own: OwnAddresses, inbound: Side, outbound: Side): string[] {
  const caller = recordRouteFor(own, inbound, false);
  const callee = recordRouteFor(own, outbound, false);
  if (caller === callee) return [caller];
  return [recordRouteFor(own, outbound, true), recordRouteFor(own, inbound, true)];
}
