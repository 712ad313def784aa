// Transport settings: one commented defaults object, resolved and checked once when the
// transports are created, then frozen (fastify build-validation style).
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Settings } from '../../config/settings.ts';
import type { Logger } from '../../log.ts';
import { DEFAULT_LIMITS, type ParseLimits } from '../message/index.ts';
import { ensureCertificate } from './certificate.ts';
import { TransportErrors } from './errors.ts';
import type { ListenAddress } from './types.ts';

export interface TlsCredentials {
  readonly key: Buffer | string;
  readonly cert: Buffer | string;
}

export interface TransportOptions {
  /** Listen addresses per transport; an absent or empty list means that transport is off. */
  readonly udp?: readonly ListenAddress[];
  readonly tcp?: readonly ListenAddress[];
  readonly tls?: readonly ListenAddress[];
  /** Required when `tls` lists any address. */
  readonly tlsCredentials?: TlsCredentials;
  /** Parser limits; maxMessageBytes also caps what one connection may buffer. */
  readonly limits?: ParseLimits;
  /** Open TCP+TLS connections, both directions, all sources. */
  readonly maxConnections?: number;
  /** Open incoming TCP+TLS connections from one IP address. */
  readonly maxConnectionsPerIp?: number;
  /** Connections this side opens (to send to a peer with no open connection). */
  readonly maxOutboundConnections?: number;
  /** A connection silent in both directions for this long is closed. */
  readonly idleTimeoutMs?: number;
  /** A TLS client must finish its handshake within this. */
  readonly tlsHandshakeTimeoutMs?: number;
  /** Bytes of an unfinished message one connection may hold (default: limits.maxMessageBytes). */
  readonly maxBufferedBytes?: number;
  /** Verify the certificate of peers this side connects to over TLS. */
  readonly tlsVerifyPeer?: boolean;
  readonly log?: Logger;
}

export interface ResolvedOptions {
  readonly udp: readonly ListenAddress[];
  readonly tcp: readonly ListenAddress[];
  readonly tls: readonly ListenAddress[];
  readonly tlsCredentials: TlsCredentials | undefined;
  readonly limits: ParseLimits;
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
  readonly maxOutboundConnections: number;
  readonly idleTimeoutMs: number;
  readonly tlsHandshakeTimeoutMs: number;
  readonly maxBufferedBytes: number;
  readonly tlsVerifyPeer: boolean;
  readonly log: Logger | undefined;
}

export const TRANSPORT_DEFAULTS = Object.freeze({
  // Enough for a large PBX's phones plus trunks; the nftables layer enforces its own cap in
  // front of this one, so this is the last line, not the first.
  maxConnections: 4096,
  // A phone needs one or two; an office behind one NAT address a few dozen. A scanner
  // opening hundreds is cut off here (and the guard sees the refusals).
  maxConnectionsPerIp: 32,
  maxOutboundConnections: 256,
  // RFC 5626 clients ping every 90-120 s (§4.4.1 recommends 95-122 s for TCP), so a
  // connection silent for 120 s is either dead or not a SIP client.
  idleTimeoutMs: 120_000,
  // An honest handshake takes a few round trips; a slow one is a resource hold.
  tlsHandshakeTimeoutMs: 10_000,
  tlsVerifyPeer: true,
});

function positiveInt(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v <= 0) {
    throw new TransportErrors.TG_TRANSPORT_BAD_OPTION(name, `must be a positive integer, got ${v}`);
  }
  return v;
}

function addresses(name: string, list: readonly ListenAddress[] | undefined): ListenAddress[] {
  return (list ?? []).map((a) => {
    if (isIP(a.ip) === 0) {
      throw new TransportErrors.TG_TRANSPORT_BAD_OPTION(name, `"${a.ip}" is not an IP address`);
    }
    if (!Number.isInteger(a.port) || a.port < 0 || a.port > 65535) {
      throw new TransportErrors.TG_TRANSPORT_BAD_OPTION(name, `port ${a.port} not in 0..65535`);
    }
    return Object.freeze({ ip: a.ip, port: a.port });
  });
}

export function resolveOptions(o: TransportOptions): ResolvedOptions {
  const limits = o.limits ?? DEFAULT_LIMITS;
  const tls = addresses('tls', o.tls);
  if (tls.length > 0 && o.tlsCredentials === undefined) {
    throw new TransportErrors.TG_TRANSPORT_NO_TLS_CREDENTIALS();
  }
  return Object.freeze({
    udp: addresses('udp', o.udp),
    tcp: addresses('tcp', o.tcp),
    tls,
    tlsCredentials: o.tlsCredentials,
    limits,
    maxConnections: positiveInt(
      'maxConnections',
      o.maxConnections ?? TRANSPORT_DEFAULTS.maxConnections,
    ),
    maxConnectionsPerIp: positiveInt(
      'maxConnectionsPerIp',
      o.maxConnectionsPerIp ?? TRANSPORT_DEFAULTS.maxConnectionsPerIp,
    ),
    maxOutboundConnections: positiveInt(
      'maxOutboundConnections',
      o.maxOutboundConnections ?? TRANSPORT_DEFAULTS.maxOutboundConnections,
    ),
    idleTimeoutMs: positiveInt(
      'idleTimeoutMs',
      o.idleTimeoutMs ?? TRANSPORT_DEFAULTS.idleTimeoutMs,
    ),
    tlsHandshakeTimeoutMs: positiveInt(
      'tlsHandshakeTimeoutMs',
      o.tlsHandshakeTimeoutMs ?? TRANSPORT_DEFAULTS.tlsHandshakeTimeoutMs,
    ),
    maxBufferedBytes: positiveInt('maxBufferedBytes', o.maxBufferedBytes ?? limits.maxMessageBytes),
    tlsVerifyPeer: o.tlsVerifyPeer ?? TRANSPORT_DEFAULTS.tlsVerifyPeer,
    log: o.log,
  });
}

export interface DaemonTransportInputs {
  /** Where the self-signed certificate lives when no key/cert paths are given. */
  readonly dataDir: string;
  readonly tlsKeyPath?: string;
  readonly tlsCertPath?: string;
  readonly log?: Logger;
}

/**
 * The daemon's transports from its bootstrap keys: UDP and TCP on sipaddress:sipport, TLS on
 * sipaddress:sipsport. "0.0.0.0" listens on all IPv4 addresses, "::" on all IPv6 and IPv4
 * (dual stack; IPv4 peers appear with their plain IPv4 address).
 */
export function transportOptionsFromSettings(
  settings: Settings,
  inputs: DaemonTransportInputs,
): TransportOptions {
  const ip = settings.get<string>('sipaddress');
  const sip = [{ ip, port: settings.get<number>('sipport') }];
  const tlsCredentials =
    inputs.tlsKeyPath !== undefined && inputs.tlsCertPath !== undefined
      ? { key: readFileSync(inputs.tlsKeyPath), cert: readFileSync(inputs.tlsCertPath) }
      : ensureCertificate(inputs.dataDir);
  return {
    udp: sip,
    tcp: sip,
    tls: [{ ip, port: settings.get<number>('sipsport') }],
    tlsCredentials,
    ...(inputs.log === undefined ? {} : { log: inputs.log }),
  };
}
