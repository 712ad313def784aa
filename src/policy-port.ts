// The policy port: the one contract between the SIP engine (src/sip) and policy (src/control:
// the guard, the accounts). It says what sip asks — may this message be processed, what does
// this user's HA1 look like, who is calling from this address, here is what just happened —
// and what policy answers. Both sides import this module and never each other; the daemon
// (the composition root) plugs the policy in. Everything here is a type: the port holds no
// behaviour, so depending on it drags nothing in.
//
//   src/sip ──► policy-port ◄── src/control        (neither imports the other)
import type { DigestAlgorithm } from './crypto/digest.ts';

export type { DigestAlgorithm } from './crypto/digest.ts';

/** Where a message came from. */
export interface SipSource {
  transport: 'udp' | 'tcp' | 'tls';
  ip: string;
  port: number;
}

/**
 * What policy sees of a message as it arrives, before any work is done for it. The SIP side
 * reuses one object for every message (policy keeps nothing of it past admit()), and builds
 * `sample` only when policy reads it: when a counting window opens or a rule trips.
 */
export interface InboundMessage {
  readonly source: SipSource;
  /** The request method; undefined for a response. */
  readonly method: string | undefined;
  /** The Request-URI user, cut to a bounded length. */
  readonly user: string | undefined;
  /** User-Agent (requests) or Server (responses), cut to a bounded length. */
  readonly userAgent: string | undefined;
  readonly callId: string | undefined;
  /** The first line and the identifying headers: enough to recognise a tool. */
  readonly sample: string | undefined;
}

export interface SecurityReport {
  /**
   * 'unauthorized': refused by policy (anonymous caller, domain not served, unknown callee);
   * 'call-start' / 'call-end': a call set up through the proxy, and its end;
   * 'connection-refused': a TCP/TLS connection refused at a cap (total, per address, per
   * /24 or /64); 'connection-evicted': closed to make room for a newcomer at the total;
   * 'connection-timeout': closed by a deadline (no message since accept, a message too slow,
   * no TLS handshake). `detail` says which limit, as "limit: what happened".
   */
  kind:
    | 'auth-challenge'
    | 'auth-fail'
    | 'auth-ok'
    | 'wrong'
    | 'unauthorized'
    | 'call-start'
    | 'call-end'
    | 'connection-refused'
    | 'connection-evicted'
    | 'connection-timeout';
  ip: string;
  port: number;
  user?: string;
  userAgent?: string;
  method: string;
  detail?: string;
  callId?: string;
  /** call-end: seconds from the answer to the end (0 for a call never answered). */
  durationSeconds?: number;
}

/**
 * Policy's answer to a report: 'pass', or a refusal with the rule (config key) behind it.
 * The proxy refuses a call whose call-start is not passed; other reporters may ignore it.
 */
export interface SecurityVerdict {
  readonly action: 'pass' | 'drop' | 'ban' | 'close-session';
  readonly rule?: string;
}

/** An account that may call authenticated by its source address (needauth 1, 3 or 6). */
export interface IpAccount {
  name: string;
  /** The dialled number without the account's tech prefix (needauth 3), else as dialled. */
  dialled: string;
}

/** Where digest verification finds an account's secret: never the password, only its HA1. */
export interface CredentialSource {
  /** The stored HA1 for `algorithm`, or undefined (unknown user, or the realm changed). */
  ha1(user: string, algorithm: DigestAlgorithm): string | undefined;
  /** Told after each success, so audit can list the accounts still authenticating with MD5. */
  authenticatedWith?(user: string, algorithm: DigestAlgorithm): void;
  /**
   * The account's own digest algorithm choice (its authtype), as a useshadigestauh level:
   * 0 MD5, 1 SHA-256, SHA-512-256 and MD5, 2 the SHA ones; undefined = the global level.
   */
  digestLevel?(user: string): number | undefined;
}

/**
 * A call asking to be set up, as the proxy knows it after routing: who pays (never a header
 * the caller wrote: the digest user, or the trunk/account recognised by address), what was
 * dialled, and where it goes. Policy (limits, billing) decides on this alone.
 */
export interface CallRequest {
  readonly callId: string;
  readonly source: SipSource;
  /** The account that pays: digest user, or the account/trunk recognised by address. */
  readonly account: string | undefined;
  readonly accountKind: 'user' | 'trunk' | undefined;
  /** The From user, for the CDR only (the caller wrote it: never used to decide). */
  readonly callerId: string | undefined;
  /** The number or user dialled, tech prefix removed. */
  readonly dialled: string;
  /** Where routing sends it: a local user, or out through a trunk. */
  readonly destination: 'local' | 'trunk';
  /** The route and trunk chosen (destination 'trunk'). */
  readonly route?: string;
  readonly trunk?: string;
  /** ms since the epoch. */
  readonly at: number;
}

/**
 * Policy's answer to a CallRequest. Allowed calls carry the longest they may last (seconds;
 * undefined = policy sets no limit, absolutetimeout still applies). A refusal names the SIP
 * status, its reason phrase (quotadiscreason where the reference says so) and the rule (the
 * config key or per-user field) that refused it.
 */
export type CallDecision =
  | {
      readonly allow: true;
      readonly maxDurationSeconds: number | undefined;
      /** The rule behind maxDurationSeconds: CallEnded.reason when that limit ends the call. */
      readonly rule?: string;
    }
  | {
      readonly allow: false;
      readonly status: number;
      readonly reason: string;
      readonly rule: string;
    };

/** Who ended a call. 'proxy' = tollgate tore it down (a limit, a timeout, the admin). */
export type DisconnectSide = 'caller' | 'callee' | 'proxy';

/** What a CDR needs of a call that is over (or was refused: answeredAt undefined). */
export interface CallEnded extends CallRequest {
  readonly startedAt: number;
  readonly answeredAt: number | undefined;
  readonly endedAt: number;
  /** Seconds from the answer to the end; 0 for a call never answered. */
  readonly durationSeconds: number;
  readonly disconnectSide: DisconnectSide;
  /** The rule that ended or refused it (a config key), or the SIP status/BYE as text. */
  readonly reason: string;
  /** The final SIP status of the INVITE (200 for an answered call). */
  readonly status: number;
}

/**
 * The calls half of policy. Every CallRequest that reaches authorize() gets exactly one
 * ended(), refused or not, so policy may reserve (prepaid credit, a line) in authorize and
 * settle in ended. answered() may shorten the call (credit spent elsewhere meanwhile):
 * the proxy tears the call down when the returned maximum runs out.
 */
export interface CallAccounting {
  authorize(call: CallRequest): CallDecision;
  answered(callId: string, at: number): { readonly maxDurationSeconds: number | undefined };
  ended(call: CallEnded): void;
  /** Routing skips a trunk for which this is false (a SIP server over maxslperday). */
  trunkUsable(trunk: string, at: number): boolean;
}

/** A live call as the operator sees it (`tollgatectl calls`, the web UI's calls page). */
export interface LiveCall {
  readonly id: string;
  readonly state: 'early' | 'confirmed' | 'terminated';
  /** The From user (what the caller claims; for display). */
  readonly caller: string;
  readonly callee: string;
  /** The account that pays (authenticated user or trunk); '' when none. */
  readonly account: string;
  readonly route: string;
  readonly callerAddress: string;
  readonly calleeAddress: string;
  /** Seconds since the INVITE. */
  readonly ageSeconds: number;
  /** Seconds since the answer; undefined while in setup. */
  readonly answeredSeconds: number | undefined;
  /** The RFC 4028 session interval in force, seconds. */
  readonly sessionExpires: number | undefined;
  /** Filled by the media relay; empty / undefined until it reports. */
  readonly mediaPorts: readonly number[];
  readonly packetsDropped: number | undefined;
}

/**
 * The proxy's call table as the console and the web layer use it (the daemon hands it over;
 * neither imports src/sip).
 */
export interface LiveCallTable {
  list(): LiveCall[];
  /** How many calls were ended: a Call-ID, or every call; 0 when there is no such call. */
  hangup(target: string | { readonly all: true }): number;
}

/** Everything the SIP engine asks of policy. */
export interface SipPolicy {
  /** false = drop the message silently (flood, banned session, scanner). */
  admit(message: InboundMessage): boolean;
  /** Every security-relevant outcome; the verdict on a call-start is obeyed. */
  report(event: SecurityReport): SecurityVerdict | undefined;
  /** Whether an account exists: the proxy answers 404 (no such user) or 480 (not registered). */
  userExists(name: string): boolean;
  /**
   * IP authentication of callers without credentials: by address (needauth 1), address and
   * tech prefix (3), address and source port (6).
   */
  ipAuthenticate(ip: string, dialled: string, port?: number): IpAccount | undefined;
  /** Limits and billing of calls (src/control billing plugs in here). */
  calls?: CallAccounting;
}

/**
 * How the registrar lets a registered source take the kernel's fast path past the shared
 * flood budget (the dataplane satisfies it; sip needs nothing else of the dataplane).
 */
export interface SourceTrust {
  trust(ip: string, ttlSeconds: number): Promise<void>;
}
