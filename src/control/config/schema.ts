// Every global config key tollgate understands: the reference guide's keys
// (reference/security-and-account-limiting.md, same lower-case names, same defaults) and
// tollgate's own bootstrap keys. One table, fastify build-validation style: a commented
// defaults object with a strict spec per key, validated once at boot, then frozen.
//
// Conventions (validate.ts enforces them):
// - Durations are stored in seconds; text may say "180", "3m", "1 hour", "6h".
// - Money is in currency units with at most 6 decimals (`decimals: 6`); the billing code
//   turns it into integer micro-units (10.5 → 10_500_000) and never computes with floats.
// - "0 = no limit" wherever a limit can be switched off; the help says so.
// - Where the reference gives no default, the default is the safe production choice and
//   the help says "(reference gives no default; …)".
// - Keys the reference names but tollgate has no matching subsystem for (FTP, IVR, calling
//   cards) are still accepted so that a migrated config validates; the help says so.

export type ConfigValue = number | boolean | string | readonly string[];

/** How a string (or each item of a list) is checked beyond its length. */
export type TextFormat = 'text' | 'token' | 'ip' | 'cidr' | 'ifname' | 'hostname' | 'limits';

export interface KeySpec {
  name: string;
  type: 'int' | 'number' | 'bool' | 'string' | 'enum' | 'list' | 'duration';
  default: ConfigValue;
  min?: number;
  max?: number;
  /** enum only: code → meaning. Integer codes ("0".."4") give number values. */
  values?: Readonly<Record<string, string>>;
  unit?: string;
  help: string;
  /** True when a change takes effect without a restart. */
  live: boolean;
  /** Never logged or shown in clear (see redactConfig). */
  secret?: boolean;
  origin: 'reference' | 'tollgate';
  section: string;
  /** string/list: what each text must look like (default 'text'). */
  format?: TextFormat;
  /** number: at most this many fractional digits (money: 6, i.e. micro-units). */
  decimals?: number;
}

type Draft = Omit<KeySpec, 'origin' | 'live'> & {
  origin?: KeySpec['origin'];
  live?: boolean;
};

/** Reference keys are runtime policy unless said otherwise: they apply without restart. */
function key(draft: Draft): KeySpec {
  return { origin: 'reference', live: true, ...draft };
}

/** Money fields share one shape: currency units, at most micro-unit precision. */
const MONEY = { type: 'number', min: 0, max: 1e9, decimals: 6, unit: 'currency' } as const;

const BIG = 100_000_000;
const DAY = 86_400;

// Known SIP scanners (User-Agent substrings, matched case-insensitively). The reference
// says "some known scanners are blocked by default"; these are the ones seen in the wild
// (SIPVicious sends "friendly-scanner" unless told otherwise). Legitimate test tools such
// as sipsak and SIPp are deliberately not listed.
const KNOWN_SCANNERS = [
  'friendly-scanner',
  'sipvicious',
  'sipcli',
  'sip-scan',
  'sundayddr',
  'iwar',
  'sivus',
  'smap',
  'vaxsipuseragent',
  'pplsip',
];

const GLOBAL_KEYS: KeySpec[] = [
  // ── Socket/stream and address level protection (reference: "Socket/stream level network
  //    protection", "Address level network attack preventions") ─────────────────────────
  key({
    name: 'maxnetworkspeed',
    section: 'flood',
    type: 'int',
    default: 800_000,
    min: 100,
    max: 400_000_000,
    unit: 'kbit/s',
    help: 'rate limit for all streams together; 800000 = 0.8 Gbit/s suits a gigabit NIC with header room (use 80000 on a 100 Mbit NIC)',
  }),
  key({
    name: 'maxsubsmsgcount',
    section: 'flood',
    type: 'int',
    default: 39_000,
    min: 0,
    max: BIG,
    unit: 'messages',
    help: 'ban an IP that sends more than this many messages within maxsubsmsgperiod (DoS protection); 0 = off',
  }),
  key({
    name: 'maxsubsmsgperiod',
    section: 'flood',
    type: 'duration',
    default: 180,
    min: 1,
    max: DAY,
    unit: 'seconds',
    help: 'window for maxsubsmsgcount (reference: 3 minutes)',
  }),
  key({
    name: 'maxwrongmsgallowed',
    section: 'flood',
    type: 'int',
    default: 4000,
    min: 0,
    max: BIG,
    unit: 'messages',
    help: 'ban an IP that sends more than this many wrong or meaningless messages within maxwrongmsgperiod; 0 = off',
  }),
  key({
    name: 'maxwrongmsgperiod',
    section: 'flood',
    type: 'duration',
    default: 3600,
    min: 1,
    max: 7 * DAY,
    unit: 'seconds',
    help: 'window for maxwrongmsgallowed (reference: 1 hour)',
  }),
  key({
    name: 'maxsubsipauthrequest',
    section: 'flood',
    type: 'int',
    default: -1,
    min: -1,
    max: BIG,
    unit: 'requests',
    help: 'ban an IP after this many subsequent auth requests with no success; -1 = calculated from server load, 0 = off',
  }),
  key({
    name: 'maxwrongauthfromip',
    section: 'flood',
    type: 'int',
    default: 2500,
    min: 0,
    max: BIG,
    unit: 'requests',
    help: 'ban an IP after this many unauthorized requests within maxsubfailauthperiod; 0 = off',
  }),
  key({
    name: 'maxfailedauthenabledipport',
    section: 'flood',
    type: 'int',
    default: 50,
    min: 0,
    max: BIG,
    unit: 'requests',
    help: 'ban an IP:port after this many failed authentications within maxsubfailauthperiod; 0 = off',
  }),
  key({
    name: 'maxfailedauthenabledip',
    section: 'flood',
    type: 'int',
    default: 800,
    min: 0,
    max: BIG,
    unit: 'requests',
    help: 'ban an IP (all ports) after this many failed authentications within maxsubfailauthperiod; 0 = off',
  }),
  key({
    name: 'maxsubfailauthperiod',
    section: 'flood',
    type: 'duration',
    default: 3600,
    min: 1,
    max: 7 * DAY,
    unit: 'seconds',
    help: 'window for maxwrongauthfromip, maxfailedauthenabledipport and maxfailedauthenabledip (reference: 1 hour)',
  }),
  key({
    name: 'checkrtpaddr',
    section: 'flood',
    type: 'enum',
    default: 0,
    values: {
      '0': 'no: accept RTP/RTCP from any source (NAT friendly)',
      '1': 'latch: after the first media packet, accept only that source (symmetric RTP, RFC 4961)',
      '2': 'known only: accept RTP/RTCP only from the media peer negotiated for the call',
    },
    help: 'which sources may send media to a relayed port (reference default: false = 0)',
  }),
  key({
    name: 'reenabledosblocked',
    section: 'flood',
    type: 'duration',
    default: 6 * 3600,
    min: 60,
    max: 30 * DAY,
    unit: 'seconds',
    help: 'automatic bans expire and attack counters are reset after this long (reference: 6 hours)',
  }),
  key({
    name: 'fastauthsubswrongusermsg',
    section: 'flood',
    type: 'int',
    default: 300,
    min: 0,
    max: BIG,
    unit: 'messages per 90 s',
    help: 'registrar: ban an IP after this many unauthenticated messages from it within 90 s (10x this from all IPs together); 0 = off',
  }),

  // ── Session level protection ──────────────────────────────────────────────────────────
  key({
    name: 'blockua',
    section: 'session',
    type: 'list',
    default: KNOWN_SCANNERS,
    help: 'comma separated User-Agent/Server substrings (case-insensitive) whose requests are dropped and whose source is banned; defaults are known SIP scanners',
  }),
  key({
    name: 'allowua',
    section: 'session',
    type: 'list',
    default: [],
    help: 'when non-empty, only peers whose User-Agent or Server header contains one of these comma separated substrings are served; empty = any',
  }),

  // ── API access and web security ──────────────────────────────────────────────────────
  key({
    name: 'httpapikey',
    section: 'api',
    type: 'string',
    format: 'token',
    default: '',
    secret: true,
    help: 'key required by the HTTP API (set a long random value); empty = API key access disabled (reference gives no default)',
  }),
  key({
    name: 'apiv2key',
    section: 'api',
    type: 'string',
    format: 'token',
    default: '',
    secret: true,
    help: 'key for API v2 calls; set a random value (the reference: a 5 digit number is enough); empty = API v2 key access disabled',
  }),
  key({
    name: 'serverapikey',
    section: 'api',
    type: 'string',
    format: 'token',
    default: '',
    secret: true,
    help: 'shared key between the server and customized softphones; set a random value (do not change it once clients use it); empty = disabled',
  }),
  key({
    name: 'apiv2ipauth',
    section: 'api',
    type: 'enum',
    default: 1,
    values: {
      '0': 'off: the caller IP is not checked, the key or login decides',
      '1': 'allowed ip: API calls only from allowedip when it is non-empty',
      '2': 'allowed ip + trusted ip: as 1, and trustedip sources may call without the key',
      '3': 'trusted ip only: API calls only from trustedip sources (plus the key or login)',
    },
    help: 'how the allowedip/trustedip lists apply to the HTTP API (reference gives no default; 1 = lists apply, nothing is trusted without a key)',
  }),
  key({
    name: 'allowedip',
    section: 'api',
    type: 'list',
    format: 'cidr',
    default: [],
    help: 'the reference\'s "allowed ip" option: comma separated addresses/CIDRs allowed to use the API (see apiv2ipauth); empty = any',
  }),
  key({
    name: 'trustedip',
    section: 'api',
    type: 'list',
    format: 'cidr',
    default: [],
    help: 'the reference\'s "trusted ip" option: comma separated addresses/CIDRs treated as trusted (see allowtrustedip, apiv2ipauth); empty = none',
  }),
  key({
    name: 'apisipauth',
    section: 'api',
    type: 'bool',
    default: true,
    help: "user-level API calls must carry the user's SIP credentials (reference gives no default; on is the safe choice)",
  }),
  key({
    name: 'apidefneedlogin',
    section: 'api',
    type: 'enum',
    default: 2,
    values: {
      '0': 'no login: the API key alone is enough',
      '1': 'API key or login',
      '2': 'login required',
      '3': 'login with nonce verification (replayed requests are refused)',
    },
    help: 'default authentication for API calls (reference gives no default and recommends 3; 2 keeps old API clients working)',
  }),
  key({
    name: 'apideftrustadmin',
    section: 'api',
    type: 'enum',
    default: 1,
    values: {
      '0': 'no',
      '1': 'admin if trusted ip',
      '2': 'always ip only',
      '3': 'always pwd only',
      '4': 'always ip+pwd',
    },
    help: 'how admin rights are granted on API calls (reference default 1; recommends 4)',
  }),
  key({
    name: 'enablejsonp',
    section: 'api',
    type: 'enum',
    default: 0,
    values: {
      '0': 'off: no JSONP at all',
      '1': 'own origin only (JSONP to other servers disabled)',
      '2': 'any origin',
    },
    help: 'JSONP responses from the API (the reference spells it "enable jsonp"; reference gives no default; tollgate needs none, so off)',
  }),
  key({
    name: 'allowhttpfileupload',
    section: 'api',
    type: 'bool',
    default: false,
    help: 'accept file uploads over HTTP (reference gives no default; off: tollgate offers no file sharing)',
  }),
  key({
    name: 'remoteadmin',
    section: 'api',
    type: 'enum',
    default: 1,
    values: {
      '0': 'local console only (Unix socket)',
      '1': 'console + web admin from localhost',
      '2': 'as 1, plus web admin from trustedip sources',
      '3': 'as 2, plus web admin from private (LAN) addresses',
      '4': 'web admin from anywhere',
    },
    help: 'where administration is accepted from (reference gives no default and recommends 0..3; 1 matches webaddress 127.0.0.1)',
  }),

  // ── User authentication ───────────────────────────────────────────────────────────────
  key({
    name: 'cacheregistrations',
    section: 'auth',
    type: 'enum',
    default: 1,
    values: {
      '0': 'never: verify credentials on every REGISTER and INVITE',
      '1': 'cache successful authentication per source ip:port, dropped when the password changes',
      '2': 'as 1, and cache failures for a while (fewer lookups; a fixed password may be refused until expiry)',
    },
    help: 'caching of device login results (reference gives no default and recommends 0 or 1)',
  }),
  key({
    name: 'enforcestrongauth',
    section: 'auth',
    type: 'bool',
    default: true,
    help: 'refuse open-relay accounts and periodically replace weak account passwords with strong random ones (reference: true by default)',
  }),
  key({
    name: 'securepasswords',
    section: 'auth',
    type: 'enum',
    default: 1,
    values: {
      '0': 'clear text (migration only, not recommended)',
      '1': 'hashed: SIP digest HA1 per algorithm and an argon2id verifier, never the password',
      '2': 'as 1, and the HA1 hashes encrypted at rest with the appliance key',
    },
    help: 'password storage (reference: on by default; recommends 1 or more)',
  }),
  key({
    name: 'minpwdlength',
    section: 'auth',
    type: 'int',
    default: 4,
    min: 1,
    max: 128,
    unit: 'characters',
    help: 'minimum password length for new passwords (reference default 4; increase it, 12 or more is advisable)',
  }),
  key({
    name: 'validatepassword',
    section: 'auth',
    type: 'enum',
    default: 2,
    values: {
      '0': 'no check',
      '1': 'minpwdlength and not equal to the username',
      '2': 'as 1, plus letters and digits, and not a well-known password',
    },
    help: 'checks on new passwords (reference gives no default and recommends 2; it applies only when a password is set)',
  }),
  key({
    name: 'strongdigestauth',
    section: 'auth',
    type: 'enum',
    default: 1,
    values: {
      '0': 'lenient: also accept RFC 2069 digests without qop',
      '1': 'standard: our nonces only, not expired; qop optional',
      '2': 'strict: qop=auth required and the nonce-count must grow (replay protection, RFC 7616 3.3)',
      '3': 'strictest: as 2, and a nonce is valid only from the source IP it was issued to',
    },
    help: 'digest authentication checks (reference gives no default and recommends 2 or 3; 1 keeps old phones working)',
  }),
  key({
    name: 'useshadigestauh',
    section: 'auth',
    type: 'enum',
    default: 0,
    values: {
      '0': 'MD5 only',
      '1': 'offer SHA-512-256, SHA-256 and MD5 challenges (RFC 8760, strongest first), the client picks',
      '2': 'SHA-512-256 and SHA-256 only (clients must support RFC 8760)',
    },
    help: 'digest algorithm (spelling kept from the reference; reference gives no default and recommends 2 if clients support it)',
  }),
  key({
    name: 'autocreatereguserstrict',
    section: 'auth',
    type: 'bool',
    default: true,
    help: 'never create an account from a REGISTER of an unknown user (reference gives no default and recommends 1)',
  }),
  key({
    name: 'uauthverifypwd',
    section: 'auth',
    type: 'bool',
    default: false,
    help: "let the API verify a user's password for third parties (a password oracle; reference recommends 0)",
  }),
  key({
    name: 'authfastusers',
    section: 'auth',
    type: 'bool',
    default: true,
    help: 'users sending requests faster than a phone would are always challenged, never served from the auth cache (reference recommends 1)',
  }),
  key({
    name: 'callingcardauth',
    section: 'auth',
    type: 'int',
    default: 9,
    min: 0,
    max: 9,
    help: 'calling card / IVR caller authentication strictness, 9 = PIN code strict only (tollgate has no IVR; accepted for migrated configs, strictest by default)',
  }),
  key({
    name: 'anumberhandling',
    section: 'auth',
    type: 'bool',
    default: false,
    help: 'A-number (caller ID) authentication for IVR call forward (tollgate has no IVR; off, as the reference recommends when not needed)',
  }),

  // ── IP trust and spoofing ─────────────────────────────────────────────────────────────
  key({
    name: 'allowtrustedip',
    section: 'trust',
    type: 'enum',
    default: 3,
    values: {
      '0': 'no',
      '1': 'my ip only',
      '2': 'private ips only',
      '3': 'yes',
      '4': 'everywhere including admin console',
    },
    help: 'where IP-based trust is honoured (vulnerable to IP spoofing without ingress filtering)',
  }),
  key({
    name: 'trustlanip',
    section: 'trust',
    type: 'bool',
    default: true,
    help: 'treat private (LAN) source addresses as trusted; disable when not needed',
  }),
  key({
    name: 'trustsubnet',
    section: 'trust',
    type: 'bool',
    default: false,
    help: 'extend trust of a trusted address to its whole subnet (reference: false by default)',
  }),
  key({
    name: 'trustauthip',
    section: 'trust',
    type: 'bool',
    default: false,
    help: 'trust an address once a user has authenticated from it (reference: false by default)',
  }),
  key({
    name: 'treatusersasknownip',
    section: 'trust',
    type: 'bool',
    default: false,
    help: 'treat addresses of registered users as known IPs (reference: false by default)',
  }),
  key({
    name: 'reuseep',
    section: 'trust',
    type: 'bool',
    default: false,
    help: 'identify the caller by the registration at its source address when the request names no known user (reference gives no default and recommends 0)',
  }),
  key({
    name: 'reuseepauth',
    section: 'trust',
    type: 'bool',
    default: false,
    help: 'accept requests from a registered ip:port without a new digest challenge (spoofable over UDP; reference recommends 0)',
  }),
  key({
    name: 'reusedifferentportreg',
    section: 'trust',
    type: 'bool',
    default: false,
    help: 'as reuseepauth, also when only the IP matches a registration (reference recommends 0)',
  }),
  key({
    name: 'reuseupperregep',
    section: 'trust',
    type: 'bool',
    default: false,
    help: 'let sub-accounts reuse the registration of their parent account (reference recommends 0)',
  }),

  // ── SIP routing restrictions ──────────────────────────────────────────────────────────
  key({
    name: 'blockotherdomains',
    section: 'routing',
    type: 'bool',
    default: true,
    help: 'refuse requests for domains tollgate does not serve (reference gives no default and recommends 1)',
  }),
  key({
    name: 'fwdtootherdomains',
    section: 'routing',
    type: 'enum',
    default: 1,
    values: {
      '0': 'never route calls to other domains',
      '1': 'only for authenticated users (never an open relay)',
      '2': 'for anyone',
    },
    help: 'routing of calls to arbitrary other SIP domains (reference gives no default and recommends 0)',
  }),
  key({
    name: 'securemove',
    section: 'routing',
    type: 'enum',
    default: 1,
    values: {
      '0': 'follow any 301/302 redirect',
      '1': 'do not follow redirects to traffic senders or billed routes',
      '2': 'never follow 3xx redirects',
    },
    help: 'handling of 3xx call forward responses (reference gives no default and recommends 1 or 2)',
  }),
  key({
    name: 'allownoauthcalls',
    section: 'routing',
    type: 'enum',
    default: 1,
    values: {
      '0': 'no: every call must be authenticated',
      '1': 'only calls to local users (never billed, never routed out)',
      '2': 'yes',
    },
    help: 'calls from unauthenticated sources (reference gives no default and recommends 0; 1 lets other domains reach local users)',
  }),
  key({
    name: 'allownoauthfork',
    section: 'routing',
    type: 'enum',
    default: 2,
    values: {
      '0': 'anywhere, including forwards to billed external destinations',
      '1': 'external forwards only when the forwarding user pays for them',
      '2': 'local users, their devices and forwards to other local users',
      '3': "only the called user's own registered devices (no forwards)",
      '4': 'never fork or forward: the first registered device only',
    },
    help: 'where an unauthenticated incoming call may be forked or forwarded (reference gives no default and recommends 3 or 4)',
  }),
  key({
    name: 'allowanonymouscaller',
    section: 'routing',
    type: 'bool',
    default: false,
    help: 'accept anonymous callers from unauthenticated sources; authenticated users may always ask for privacy (RFC 3323) (reference recommends 0)',
  }),
  key({
    name: 'allowcalleridchange',
    section: 'routing',
    type: 'enum',
    default: 1,
    values: {
      '0': 'no: the caller ID is the authenticated user',
      '1': 'display name only',
      '2': 'any caller ID',
    },
    help: 'may users set their own caller ID (reference gives no default and recommends 0)',
  }),
  key({
    name: 'stricttransport',
    section: 'routing',
    type: 'enum',
    default: 1,
    values: {
      '0': 'any transport',
      '1': 'answer on the arrival transport; reach users over their registered transport',
      '2': "a registered user's requests must arrive over its registered transport",
      '3': 'as 2, and users registered over TLS must always use TLS (no downgrade)',
    },
    help: 'transport consistency checks (reference gives no default and recommends 2 or 3)',
  }),
  key({
    name: 'forwardclientaddress',
    section: 'routing',
    type: 'bool',
    default: false,
    help: "forward the peer's address to the next hop (reveals user locations; reference recommends 0)",
  }),
  key({
    name: 'earlystart',
    section: 'routing',
    type: 'bool',
    default: true,
    help: 'relay media before the call is answered (early media, 183 Session Progress); 0 blocks all early media',
  }),
  key({
    name: 'blockearlymedia',
    section: 'routing',
    type: 'enum',
    default: 0,
    values: {
      '0': 'no',
      '1': 'mute early media from traffic senders and external routes',
      '2': 'mute early media from everything except local users',
      '3': 'mute all early media until the call is answered',
    },
    help: 'mute outgoing-call early media before full call setup (reference gives no default)',
  }),
  key({
    name: 'blockearlymedia_in',
    section: 'routing',
    type: 'enum',
    default: 0,
    values: {
      '0': 'no',
      '1': 'mute early media on calls coming from traffic senders',
      '2': 'mute early media on all incoming calls',
    },
    help: 'mute incoming-call early media before full call setup (reference gives no default)',
  }),
  key({
    name: 'fs_restrictsiptolocal',
    section: 'routing',
    type: 'enum',
    default: 3,
    values: {
      '0': 'no restriction',
      '1': 'private (LAN) addresses',
      '2': 'localhost and configured servers',
      '3': 'localhost only',
    },
    help: 'who may send SIP to the internal media server (reference recommends 3; tollgate has none exposed, so strictest)',
  }),

  // ── Per IP call limits ────────────────────────────────────────────────────────────────
  key({
    name: 'maxcallperip',
    section: 'calllimits',
    type: 'int',
    default: 0,
    min: 0,
    max: BIG,
    unit: 'calls per period',
    help: 'max calls from one IP per maxcallperperiod; 0 = no limit (reference gives no default; a PBX or NAT puts many users behind one IP)',
  }),
  key({
    name: 'maxdurationperip',
    section: 'calllimits',
    type: 'duration',
    default: 0,
    min: 0,
    max: 366 * DAY,
    unit: 'seconds per period',
    help: 'max total call duration from one IP per maxcallperperiod; 0 = no limit (reference gives no default)',
  }),
  key({
    name: 'maxcostperip',
    section: 'calllimits',
    ...MONEY,
    default: 0,
    help: 'max total call cost from one IP per maxcallperperiod, in currency units; 0 = no limit (reference gives no default)',
  }),
  key({
    name: 'maxcallperperiod',
    section: 'calllimits',
    type: 'number',
    default: 1,
    min: 0.001,
    max: 366,
    decimals: 6,
    unit: 'days',
    help: 'the period for maxcallperip/maxdurationperip/maxcostperip as a fraction of a day: 1.0 = one day, 0.5 = 12 hours',
  }),
  key({
    name: 'maxcallperuserid',
    section: 'calllimits',
    type: 'int',
    default: -1,
    min: -1,
    max: 2 ** 31 - 1,
    help: 'apply the per IP limits to this user id only; -1 = all users',
  }),

  // ── Credit limits (postpaid monthly, fixed daily, dynamic) ──────────────────────────────
  key({
    name: 'creditcheckforpostp',
    section: 'credit',
    type: 'bool',
    default: true,
    help: 'enforce the per-user monthly spend limits (maxmonthlycredit…) on postpaid accounts too (reference gives no default; on is the safe choice)',
  }),
  // The reference's bullets swap the descriptions ("maxdailycreditforenduser (max daily spend
  // for traffic senders)"); the key names say which account type each limits, and the names win.
  // Its migration snippet sets both to 1 next to the maxdailycreditperuser flag; they are
  // amounts nonetheless ("max daily spend").
  key({
    name: 'maxdailycreditforenduser',
    section: 'credit',
    ...MONEY,
    default: 0,
    help: 'max daily spend of each enduser account (prepaid and postpaid), in currency units; 0 = no limit (reference gives no default)',
  }),
  key({
    name: 'maxdailycreditforts',
    section: 'credit',
    ...MONEY,
    default: 0,
    help: 'max daily spend of each traffic sender account, in currency units; 0 = no limit (reference gives no default)',
  }),
  key({
    name: 'maxdailycreditperuser',
    section: 'credit',
    type: 'bool',
    default: false,
    help: 'enforce the per-user maxdailycredit field; switched on automatically at config reload when any user has maxdailycredit set',
  }),
  key({
    name: 'checkmaxdyndailycredit',
    section: 'credit',
    type: 'enum',
    default: 1,
    values: {
      '0': 'disabled',
      '1': 'enabled for endusers',
      '2': 'enabled for endusers and traffic senders',
    },
    help: 'dynamic daily spend limits: block a user whose spend today exceeds its highest daily spend times maxdyndailycredit_multiplier (reference gives no default; on for endusers is the safe choice)',
  }),
  // The reference writes this key "maxdyndailycreditforenduser min" (a space where the
  // underscore went missing): its sibling is maxdynmaxdailycreditforts_min, and a key with a
  // space cannot be written as `key = value`, so the underscore form is the key.
  key({
    name: 'maxdyndailycreditforenduser_min',
    section: 'credit',
    ...MONEY,
    default: 10,
    help: 'dynamic limits never block an enduser whose daily spend is below this, in currency units',
  }),
  key({
    name: 'maxdynmaxdailycreditforts_min',
    section: 'credit',
    ...MONEY,
    default: 100,
    help: 'dynamic limits never block a traffic sender whose daily spend is below this, in currency units',
  }),
  key({
    name: 'maxdyndailycredit_multiplier',
    section: 'credit',
    type: 'number',
    default: 7,
    min: 1,
    max: 1000,
    decimals: 3,
    unit: 'times',
    help: 'max growth of daily spend within one day over the highest day so far; values below 4 may block normal calling patterns',
  }),
  key({
    name: 'quotadiscreason',
    section: 'credit',
    type: 'int',
    default: 403,
    min: 400,
    max: 699,
    unit: 'SIP status code',
    help: 'SIP response sent when a call is refused by a spend limit',
  }),
  key({
    name: 'sendadminemailnotifications',
    section: 'credit',
    type: 'enum',
    default: 2,
    values: {
      '0': 'none',
      '1': 'system events only (mass bans, service faults)',
      '2': 'as 1, plus accounts blocked by spend or fraud limits',
    },
    help: 'what the admin is notified about (reference gives no default; 2 so fraud blocks are seen; sent only when a notification channel is configured)',
  }),
  key({
    name: 'calcmaxsl',
    section: 'credit',
    type: 'enum',
    default: -1,
    values: {
      '-1': 'auto detect (on when any user has maxslperday or maxslpermonth set)',
      '0': 'disabled',
      '1': 'enabled',
    },
    help: 'count call durations against the per-user maxslperday/maxslpermonth limits (reference gives no default; auto)',
  }),

  // ── Fraud, billing and profitability ──────────────────────────────────────────────────
  key({
    name: 'blocksatellitecalls',
    section: 'billing',
    type: 'bool',
    default: true,
    help: 'refuse calls to well-known satellite number ranges (reference: blocked by default)',
  }),
  key({
    name: 'blockpremiumnumbers',
    section: 'billing',
    type: 'bool',
    default: true,
    help: 'refuse calls to well-known premium rate numbers (reference: blocked by default)',
  }),
  key({
    name: 'blocknotbilledcalls',
    section: 'billing',
    type: 'enum',
    default: 0,
    values: {
      '0': 'no',
      '1': 'if best match packet is not found',
      '2': 'if no exact packet match with prefix',
      '3': 'block if not assigned directly for the user',
      '4': 'check also tariff list prefix',
      '5': 'check also parent tariff list',
    },
    help: 'refuse calls that cannot be billed',
  }),
  key({
    name: 'blocknotprofitablecalls',
    section: 'billing',
    type: 'enum',
    default: 0,
    values: {
      '0': 'no',
      '1': 'yes',
      '2': 'yes also if equal',
      '3': 'block also when it is not set',
    },
    help: 'refuse calls whose cost is higher than their price',
  }),
  key({
    name: 'vgetpriceexactmatch',
    section: 'billing',
    type: 'enum',
    default: 0,
    values: { '0': 'no', '1': 'yes for resellers', '2': 'yes for all' },
    help: 'price lookup requires an exact prefix match',
  }),
  key({
    name: 'notbilledcallerr',
    section: 'billing',
    type: 'enum',
    default: 0,
    values: { '0': 'default (error with priority 2)', '1': 'error', '2': 'critical' },
    help: 'severity logged for a call that could not be billed',
  }),
  key({
    name: 'blockhighcostcalls',
    section: 'billing',
    ...MONEY,
    default: 0,
    unit: 'currency per minute',
    help: 'do not route a call whose cost per minute is higher than this; 0 = no limit',
  }),

  // ── Firewall and automatic bans (the stress-test section lists these as switches) ───
  key({
    name: 'enablefirewall',
    section: 'firewall',
    type: 'enum',
    default: 4,
    values: {
      '0': 'off (stress tests only): no bans, no flood budgets',
      '1': 'static allow/deny CIDR rules only',
      '2': 'as 1, plus automatic bans from attack detection, enforced in userspace',
      '3': 'as 2, with bans and per-source flood budgets enforced in the kernel (XDP/nftables)',
      '4': 'as 3, and unknown sources share one bounded budget while trusted sources take a fast path',
      '5': 'as 4, and a source gets a tenth of the unknown budget until it authenticates once',
    },
    help: 'built-in firewall level (reference gives no default and recommends 5; 4 is the full protection without penalising new users)',
  }),
  key({
    name: 'blockscanning_treshold',
    section: 'firewall',
    type: 'int',
    default: 10,
    min: 0,
    max: BIG,
    unit: 'scan attempts',
    help: 'ban an IP after this many scanning signs (requests for unknown users, extension sweeps); 0 = off (spelling kept from the reference; reference gives no default and recommends a low value such as 10)',
  }),
  key({
    name: 'autoban',
    section: 'firewall',
    type: 'enum',
    default: 1,
    values: {
      '0': 'off',
      '1': 'reject the caller number when its call statistics look bad',
      '2': 'reject the caller number and ban its source IP',
    },
    help: 'Fail2Ban-like banning of unsolicited callers (reference gives no default and recommends 2)',
  }),
  key({
    name: 'blocktoomuchpendingsession',
    section: 'firewall',
    type: 'bool',
    default: true,
    help: 'refuse new calls from a source that already has too many calls in setup (reference gives no default; off only for stress tests)',
  }),

  // ── System ────────────────────────────────────────────────────────────────────────────
  key({
    name: 'validateinput',
    section: 'system',
    type: 'enum',
    default: 3,
    values: {
      '0': 'no',
      '1': 'basic without injection check',
      '2': 'basic with injection check',
      '3': 'normal',
      '4': 'more',
      '5': 'extreme',
    },
    help: 'input validation strictness for web and API input (the reference spells it "validate input"; it gives no default and recommends 3 or more)',
  }),
  key({
    name: 'ftpdbuser',
    section: 'system',
    type: 'enum',
    default: 0,
    values: { '0': 'disabled (tollgate has no FTP database access)' },
    help: 'database access over FTP; tollgate has none, the key is accepted for migrated configs (reference recommends 0)',
  }),
  key({
    name: 'autofinetune',
    section: 'system',
    type: 'bool',
    default: true,
    help: 'adapt internal limits to load; 0 gives a consistent service level but is not optimal for high-load servers',
  }),
  key({
    name: 'licensecfg',
    section: 'system',
    type: 'string',
    format: 'limits',
    default: '',
    help: 'system level limits as comma separated name=integer pairs, e.g. "maxcalls=200,maxusers=5000"; empty = none',
  }),

  // ── Session timeouts: the reference lists these ("absolute timeout, call timeout, media
  //    timeout, ring timeout, call init timeout") without key names; the names are ours. ──
  key({
    name: 'absolutetimeout',
    origin: 'tollgate',
    section: 'session',
    type: 'duration',
    default: 4 * 3600,
    min: 60,
    max: 7 * DAY,
    unit: 'seconds',
    help: 'longest allowed call; the call is torn down after this',
  }),
  key({
    name: 'ringtimeout',
    origin: 'tollgate',
    section: 'session',
    type: 'duration',
    default: 120,
    min: 5,
    max: 3600,
    unit: 'seconds',
    help: 'an unanswered call is cancelled after ringing this long',
  }),
  key({
    name: 'callinittimeout',
    origin: 'tollgate',
    section: 'session',
    type: 'duration',
    default: 32,
    min: 1,
    max: 600,
    unit: 'seconds',
    help: 'a call with no provisional response is abandoned after this (32 s = Timer B, 64*T1, RFC 3261 17.1.1.2)',
  }),
  key({
    name: 'mediatimeout',
    origin: 'tollgate',
    section: 'session',
    type: 'duration',
    default: 60,
    min: 0,
    max: 3600,
    unit: 'seconds',
    help: 'an answered call with no media in either direction for this long is torn down; 0 = never',
  }),

  // ── Bootstrap: tollgate's own listen/dataplane keys, read once at start ──────────────
  key({
    name: 'sipaddress',
    origin: 'tollgate',
    live: false,
    section: 'bootstrap',
    type: 'string',
    format: 'ip',
    default: '0.0.0.0',
    help: 'address the SIP transports listen on (0.0.0.0 = all IPv4)',
  }),
  key({
    name: 'sipport',
    origin: 'tollgate',
    live: false,
    section: 'bootstrap',
    type: 'int',
    default: 5060,
    min: 1,
    max: 65535,
    unit: 'port',
    help: 'SIP over UDP and TCP (a non-standard port such as 5070 filters out most scanners)',
  }),
  key({
    name: 'sipsport',
    origin: 'tollgate',
    live: false,
    section: 'bootstrap',
    type: 'int',
    default: 5061,
    min: 1,
    max: 65535,
    unit: 'port',
    help: 'SIP over TLS (SIPS)',
  }),
  key({
    name: 'webaddress',
    origin: 'tollgate',
    live: false,
    section: 'bootstrap',
    type: 'string',
    format: 'ip',
    default: '127.0.0.1',
    help: 'address the HTTPS admin UI and API listen on (localhost only by default)',
  }),
  key({
    name: 'webport',
    origin: 'tollgate',
    live: false,
    section: 'bootstrap',
    type: 'int',
    default: 8443,
    min: 1,
    max: 65535,
    unit: 'port',
    help: 'HTTPS admin UI and API port',
  }),
  key({
    name: 'minexpires',
    origin: 'tollgate',
    section: 'registrar',
    type: 'duration',
    default: 60,
    min: 1,
    max: 86_400,
    unit: 'seconds',
    help: 'shortest registration accepted; shorter ones get 423 Interval Too Brief with Min-Expires (RFC 3261 10.3)',
  }),
  key({
    name: 'maxexpires',
    origin: 'tollgate',
    section: 'registrar',
    type: 'duration',
    default: 3600,
    min: 60,
    max: 604_800,
    unit: 'seconds',
    help: 'longest registration granted; longer requests are shortened to this (RFC 3261 10.3 step 7)',
  }),
  key({
    name: 'realm',
    origin: 'tollgate',
    live: false,
    section: 'bootstrap',
    type: 'string',
    format: 'hostname',
    default: 'tollgate',
    help: 'SIP digest realm, usually the SIP domain (RFC 3261 22.1); stored password hashes are per realm, so changing it needs every password set again',
  }),
  key({
    name: 'sipdomains',
    origin: 'tollgate',
    live: false,
    section: 'bootstrap',
    type: 'list',
    format: 'hostname',
    default: [],
    help: "comma separated SIP domains served (see blockotherdomains); empty = the realm and the appliance's own addresses",
  }),
  key({
    name: 'dataplanemode',
    origin: 'tollgate',
    live: false,
    section: 'bootstrap',
    type: 'enum',
    default: 'auto',
    values: {
      auto: 'detect: xdp, else xdp-generic, else nft, else off (the choice is logged)',
      xdp: 'native XDP in the NIC driver, plus nftables',
      'xdp-generic': 'XDP in the generic (skb) path, plus nftables',
      nft: 'nftables only',
      off: 'no kernel enforcement (development only)',
    },
    help: 'how bans and flood budgets are enforced in the kernel',
  }),
  key({
    name: 'dataplaneinterfaces',
    origin: 'tollgate',
    live: false,
    section: 'bootstrap',
    type: 'list',
    format: 'ifname',
    default: [],
    help: 'comma separated network interfaces to guard; empty = every interface with a route to the SIP address',
  }),
  key({
    name: 'mediaportmin',
    origin: 'tollgate',
    live: false,
    section: 'bootstrap',
    type: 'int',
    default: 10000,
    min: 1024,
    max: 65535,
    unit: 'port',
    help: 'first UDP port of the media relay range',
  }),
  key({
    name: 'mediaportmax',
    origin: 'tollgate',
    live: false,
    section: 'bootstrap',
    type: 'int',
    default: 20000,
    min: 1024,
    max: 65535,
    unit: 'port',
    help: 'last UDP port of the media relay range',
  }),
  key({
    name: 'maxtcpconnperip',
    origin: 'tollgate',
    live: false,
    section: 'bootstrap',
    type: 'int',
    default: 32,
    min: 1,
    max: 65535,
    unit: 'connections',
    help: 'concurrent SIP TCP/TLS connections one source address may hold (enforced by nftables and the transports)',
  }),
  key({
    name: 'loglevel',
    origin: 'tollgate',
    live: false,
    section: 'bootstrap',
    type: 'enum',
    default: 'info',
    values: {
      fatal: 'only fatal errors',
      error: 'errors',
      warn: 'warnings and errors',
      info: 'normal operation: bans, config changes, start/stop',
      debug: 'per-request detail (verbose)',
      trace: 'everything (very verbose, never in production)',
    },
    help: 'log verbosity (pino levels; secrets are redacted at every level)',
  }),
];

// ── Per-user fields: stored on each account, validated by the users module with the same
//    machinery. Not global keys, so they are not in CONFIG_KEYS. ──────────────────────────
const USER_FIELD_SPECS: KeySpec[] = [
  key({
    name: 'type',
    section: 'user',
    type: 'enum',
    default: 0,
    values: { '0': 'enduser', '1': 'traffic sender', '2': 'SIP server' },
    help: 'account kind; limits treat endusers and traffic senders differently, SIP servers are routes',
  }),
  key({
    name: 'needauth',
    section: 'user',
    type: 'enum',
    default: 4,
    values: {
      '0': 'none (open relay; refused while enforcestrongauth is on)',
      '1': 'IP address (authip)',
      '2': 'tech prefix',
      '3': 'IP auth + tech prefix',
      '4': 'username and password (digest)',
      '5': 'A number (username) only',
      '6': 'IP address and port',
    },
    help: 'how the account is authenticated (the reference spells it NeedAuth; 3 = IP auth + tech prefix)',
  }),
  key({
    name: 'authtype',
    section: 'user',
    type: 'enum',
    default: 0,
    values: {
      '0': 'global default (useshadigestauh decides)',
      '1': 'digest MD5',
      '2': 'digest SHA-256 (RFC 8760)',
      '3': 'digest, SHA-256 and MD5 both offered',
    },
    help: 'per-user digest algorithm override (the reference spells it AuthType)',
  }),
  key({
    name: 'authip',
    origin: 'tollgate',
    section: 'user',
    type: 'list',
    format: 'cidr',
    default: [],
    help: 'addresses/CIDRs the account may authenticate from when needauth uses the IP',
  }),
  key({
    name: 'techprefix',
    section: 'user',
    type: 'string',
    default: '',
    help: 'number prefix the account must dial with when needauth uses the tech prefix',
  }),
  key({
    name: 'postpaid',
    section: 'user',
    type: 'bool',
    default: false,
    help: 'postpaid accounts are limited by the monthly spend fields, prepaid ones by their credit',
  }),
  key({
    name: 'credit',
    section: 'user',
    ...MONEY,
    min: -1e9,
    default: 0,
    help: 'account balance in currency units; new accounts start at 0 (reference checklist)',
  }),
  key({
    name: 'maxlines',
    section: 'user',
    type: 'int',
    default: 5,
    min: 1,
    max: 100_000,
    unit: 'calls',
    help: 'max simultaneous calls (the reference spells it MaxLines; enduser default 5, 1 would break transfer and conference)',
  }),
  key({
    name: 'maxlinesoffpeak',
    section: 'user',
    type: 'int',
    default: 5,
    min: 1,
    max: 100_000,
    unit: 'calls',
    help: 'max simultaneous calls off-peak (the reference spells it MaxLinesOffpeak)',
  }),
  key({
    name: 'maxmonthlycredit',
    section: 'user',
    ...MONEY,
    default: 0,
    help: 'max spend per month even when postpaid, in currency units; 0 = no limit (reference: set a meaningful value)',
  }),
  key({
    name: 'maxmonthlycreditinc',
    section: 'user',
    ...MONEY,
    default: 0,
    help: 'added to maxmonthlycredit every month the user was active, in currency units',
  }),
  key({
    name: 'maxmonthlycreditend',
    section: 'user',
    ...MONEY,
    default: 0,
    help: 'ceiling for maxmonthlycredit growth, in currency units; 0 = no ceiling',
  }),
  key({
    name: 'onlylocalaccess',
    section: 'user',
    type: 'bool',
    default: false,
    help: 'the account can call only local users; its traffic is never forwarded out',
  }),
  key({
    name: 'maxdailycredit',
    section: 'user',
    ...MONEY,
    default: 0,
    help: 'max spend per day for this account, in currency units; 0 = no limit (enforced when maxdailycreditperuser is on)',
  }),
  // The reference's checklist also calls this a "global config option"; it is the per-user
  // learned maximum the dynamic limits compare against, maintained by tollgate itself.
  key({
    name: 'maxdyndailycredit',
    section: 'user',
    ...MONEY,
    default: 0,
    help: 'highest daily spend seen for this account (maintained by the dynamic limits), in currency units',
  }),
  key({
    name: 'maxslperday',
    section: 'user',
    type: 'duration',
    default: 0,
    min: 0,
    max: DAY,
    unit: 'seconds',
    help: 'max speech length per day; 0 = no limit (see calcmaxsl)',
  }),
  key({
    name: 'maxslpermonth',
    section: 'user',
    type: 'duration',
    default: 0,
    min: 0,
    max: 31 * DAY,
    unit: 'seconds',
    help: 'max speech length per month; 0 = no limit (see calcmaxsl)',
  }),
];

function freezeSpecs(specs: KeySpec[]): readonly KeySpec[] {
  for (const spec of specs) {
    if (spec.values) Object.freeze(spec.values);
    if (Array.isArray(spec.default)) Object.freeze(spec.default);
    Object.freeze(spec);
  }
  return Object.freeze(specs);
}

export const CONFIG_KEYS: readonly KeySpec[] = freezeSpecs(GLOBAL_KEYS);
export const USER_FIELDS: readonly KeySpec[] = freezeSpecs(USER_FIELD_SPECS);
