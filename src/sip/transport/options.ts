// Transport settings: one commented defaults object, resolved and checked once when the
// transports are created, then frozen (fastify build-validation style).
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Settings } from '../../config/settings.ts';
import {
  type CertificateNames,
  certificateNames,
  ensureCertificate,
} from '../../crypto/certificate.ts';
import type { Logger } from '../../log.ts';
import { DEFAULT_LIMITS, type ParseLimits } from '../message/index.ts';
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
  /** Open incoming TCP+TLS connections from one /24 (IPv4) or /64 (IPv6); 0 = no limit. */
  readonly maxConnectionsPerSubnet?: number;
  /** At maxConnections, evict the least valuable connection instead of refusing the new one. */
  readonly evictConnections?: boolean;
  /** Connections this side opens (to send to a peer with no open connection). */
  readonly maxOutboundConnections?: number;
  /** A connection silent in both directions for this long is closed. */
  readonly idleTimeoutMs?: number;
  /** A TLS client must finish its handshake within this; 0 = no deadline. */
  readonly tlsHandshakeTimeoutMs?: number;
  /** An incoming connection must deliver a complete message within this of being ready; 0 = none. */
  readonly firstMessageTimeoutMs?: number;
  /** A message must be complete within this of its first octet; 0 = no deadline. */
  readonly messageTimeoutMs?: number;
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
  readonly maxConnectionsPerSubnet: number;
  readonly evictConnections: boolean;
  readonly maxOutboundConnections: number;
  readonly idleTimeoutMs: number;
  readonly tlsHandshakeTimeoutMs: number;
  readonly firstMessageTimeoutMs: number;
  readonly messageTimeoutMs: number;
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
  // Hundreds of addresses in one /24 or /64 belong to one network, often one attacker; a
  // carrier-grade NAT pool with many customers still fits well under this.
  maxConnectionsPerSubnet: 256,
  // Without eviction, whoever fills the table first keeps everyone else out.
  evictConnections: true,
  maxOutboundConnections: 256,
  // RFC 5626 clients ping every 90-120 s (§4.4.1 recommends 95-122 s for TCP), so a
  // connection silent for 120 s is either dead or not a SIP client.
  idleTimeoutMs: 120_000,
  // An honest handshake takes a few round trips; a slow one is a resource hold.
  tlsHandshakeTimeoutMs: 10_000,
  // A phone connects in order to send: its REGISTER or INVITE follows at once. A connection
  // that has said nothing 10 s after accept is holding a slot (HAProxy's advice for
  // `timeout http-request` is the same 10 s).
  firstMessageTimeoutMs: 10_000,
  // A SIP message is a few KiB, sent in one write; 10 s carries 4 KiB at 3.2 kbit/s. A
  // peer that needs longer is dribbling octets to keep the connection (slowloris).
  messageTimeoutMs: 10_000,
  tlsVerifyPeer: true,
});

function positiveInt(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v <= 0) {
    throw new TransportErrors.TG_TRANSPORT_BAD_OPTION(name, `must be a positive integer, got ${v}`);
  }
  return v;
}

function nonNegativeInt(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new TransportErrors.TG_TRANSPORT_BAD_OPTION(name, `must be an integer ≥ 0, got ${v}`);
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
    maxConnectionsPerSubnet: nonNegativeInt(
      'maxConnectionsPerSubnet',
      o.maxConnectionsPerSubnet ?? TRANSPORT_DEFAULTS.maxConnectionsPerSubnet,
    ),
    evictConnections: o.evictConnections ?? TRANSPORT_DEFAULTS.evictConnections,
    maxOutboundConnections: positiveInt(
      'maxOutboundConnections',
      o.maxOutboundConnections ?? TRANSPORT_DEFAULTS.maxOutboundConnections,
    ),
    idleTimeoutMs: positiveInt(
      'idleTimeoutMs',
      o.idleTimeoutMs ?? TRANSPORT_DEFAULTS.idleTimeoutMs,
    ),
    tlsHandshakeTimeoutMs: nonNegativeInt(
      'tlsHandshakeTimeoutMs',
      o.tlsHandshakeTimeoutMs ?? TRANSPORT_DEFAULTS.tlsHandshakeTimeoutMs,
    ),
    firstMessageTimeoutMs: nonNegativeInt(
      'firstMessageTimeoutMs',
      o.firstMessageTimeoutMs ?? TRANSPORT_DEFAULTS.firstMessageTimeoutMs,
    ),
    messageTimeoutMs: nonNegativeInt(
      'messageTimeoutMs',
      o.messageTimeoutMs ?? TRANSPORT_DEFAULTS.messageTimeoutMs,
    ),
    maxBufferedBytes: positiveInt('maxBufferedBytes', o.maxBufferedBytes ?? limits.maxMessageBytes),
    tlsVerifyPeer: o.tlsVerifyPeer ?? TRANSPORT_DEFAULTS.tlsVerifyPeer,
    log: o.log,
  });
}

/** The keys the transports are built from (all read once, at start). */
const TRANSPORT_KEYS = [
  'sipaddress',
  'sipport',
  'sipsport',
  'maxtcpconn',
  'maxtcpconnperip',
  'maxtcpconnpersubnet',
  'evicttcpconn',
  'sipfirstmsgtimeout',
  'sipmsgtimeout',
  'siptlshandshaketimeout',
] as const;

export interface DaemonTransportInputs {
  /** Where tollgate's own CA and server certificate live when no tlscertfile is set. */
  readonly dataDir: string;
  readonly log?: Logger;
}

const TLS_KEYS = [
  'sipaddress',
  'realm',
  'sipdomains',
  'tlscertfile',
  'tlskeyfile',
  'webaddress',
] as const;

/**
 * The SIPS credentials: the operator's certificate (tlscertfile + tlskeyfile), else the one
 * tollgate's own CA issues for the SIP address(es), realm, SIP domains and web address (certificate.ts),
 * issued again whenever those names change. Called at start and to re-check later.
 */
export function tlsCredentialsFromSettings(
  settings: Settings,
  inputs: DaemonTransportInputs,
): TlsCredentials & { generated?: boolean; caPath?: string; names?: CertificateNames } {
  const c = settings.view(TLS_KEYS);
  const certFile = c.tlscertfile;
  const keyFile = c.tlskeyfile;
  if (certFile !== '' || keyFile !== '') {
    if (certFile === '' || keyFile === '')
      throw new TransportErrors.TG_TRANSPORT_BAD_OPTION(
        certFile === '' ? 'tlscertfile' : 'tlskeyfile',
        'tlscertfile and tlskeyfile are set together',
      );
    return { key: readFileSync(keyFile), cert: readFileSync(certFile) };
  }
  // One certificate for SIPS and HTTPS: it names the web address(es) too.
  const sip = certificateNames(c.sipaddress, [c.realm, ...c.sipdomains]);
  const web = certificateNames(c.webaddress);
  const names = {
    ips: [...new Set([...sip.ips, ...web.ips])].sort(),
    dns: [...new Set([...sip.dns, ...web.dns])].sort(),
  };
  return ensureCertificate(inputs.dataDir, names);
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
  const c = settings.view(TRANSPORT_KEYS);
  const ip = c.sipaddress;
  const sip = [{ ip, port: c.sipport }];
  const tlsCredentials = tlsCredentialsFromSettings(settings, inputs);
  if (tlsCredentials.generated)
    inputs.log?.info(
      { names: tlsCredentials.names, ca: tlsCredentials.caPath },
      'SIPS certificate issued by the local CA (phones must trust the CA file)',
    );
  return {
    udp: sip,
    tcp: sip,
    tls: [{ ip, port: c.sipsport }],
    tlsCredentials,
    maxConnections: c.maxtcpconn,
    maxConnectionsPerIp: c.maxtcpconnperip,
    maxConnectionsPerSubnet: c.maxtcpconnpersubnet,
    evictConnections: c.evicttcpconn,
    firstMessageTimeoutMs: c.sipfirstmsgtimeout * 1000,
    messageTimeoutMs: c.sipmsgtimeout * 1000,
    tlsHandshakeTimeoutMs: c.siptlshandshaketimeout * 1000,
    ...(inputs.log === undefined ? {} : { log: inputs.log }),
  };
}
