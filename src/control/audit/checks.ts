// The reference's security checklist ("Security checklist", VoIP service security and the
// network items that apply to an appliance), as checks of the running configuration and
// system. Each check names the checklist line it comes from, why it matters and the command
// that fixes it. Items whose key this version does not enforce yet cannot be fixed by a
// setting; they are listed apart as "not available" with the issue that brings them (none
// is left). Items whose key is fixed to the safe value because tollgate has no such feature
// (ftpdbuser 0, callingcardauth 9, autocreatereguserstrict 1, fs_restrictsiptolocal 3,
// reuseupperregep 0, anumberhandling 0) always hold: no other value can be set, so no check.
import type { ConfigValue } from '../../config/schema.ts';
import { isSecretHash } from '../../crypto/secret-hash.ts';

export type Severity = 'high' | 'medium' | 'low';

export interface Finding {
  id: string;
  severity: Severity;
  /** What is wrong, with the value in force. */
  title: string;
  /** Why it matters (what an attacker does with it). */
  why: string;
  /** The command that fixes it. */
  fix: string;
}

/** What the audit may look at: narrow, read-only, so checks are easy to test. */
export interface AuditFacts {
  /** The value in force of a global key. */
  value(key: string): ConfigValue;
  /** Keys set to a value this version ignores (accepted with --accept-unenforced). */
  acceptedUnenforced: ReadonlyArray<{ key: string; issue: number }>;
  dataplaneMode: string;
  dataDir: { path: string; mode: number; looseFiles: string[] };
  /** Addresses of the host's interfaces (to tell whether it faces the internet). */
  hostAddresses: readonly string[];
  /** Accounts that last authenticated with MD5 digest (undefined: not tracked). */
  md5Accounts?: readonly string[];
  /** Postpaid accounts with no monthly credit limit (maxmonthlycredit 0). */
  postpaidWithoutMonthlyLimit?: readonly string[];
}

export interface Check {
  id: string;
  /** The checklist line this check comes from (reference wording, shortened). */
  item: string;
  run(facts: AuditFacts): Finding | Finding[] | undefined;
}

const num = (facts: AuditFacts, key: string) => Number(facts.value(key));

const API_SECRET_KEYS = ['httpapikey', 'apiv2key', 'serverapikey'] as const;
const COMMON_SECRETS =
  /^(changeme|secret|password|apikey|api|admin|test|default|tollgate|12345\d*)$/i;

/** Why an API key given in clear is weak, or undefined. */
export function weakSecret(value: string): string | undefined {
  if (COMMON_SECRETS.test(value)) return 'a default or common value';
  if (value.length < 16) return `${value.length} characters (use 16 or more, random)`;
  if (/^(.)\1*$/.test(value)) return 'one repeated character';
  if (new Set(value).size < 6) return 'too few different characters';
  return undefined;
}
const set = (key: string, value: string) => `tollgatectl config set ${key} ${value}`;

/** A "key should be (at least) X" item of the checklist. */
function keyCheck(
  key: string,
  item: string,
  severity: Severity,
  bad: (value: number) => boolean,
  want: string,
  why: string,
): Check {
  return {
    id: key,
    item,
    run: (facts) => {
      const value = num(facts, key);
      if (!bad(value)) return undefined;
      return {
        id: key,
        severity,
        title: `${key} is ${facts.value(key)}`,
        why,
        fix: set(key, want),
      };
    },
  };
}

/** Private, loopback, link-local and ULA ranges: an address outside them faces the internet. */
export function isPublicAddress(ip: string): boolean {
  const v4 = /^(\d+)\.(\d+)\.\d+\.\d+$/.exec(ip);
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    return !(
      a === 10 ||
      a === 127 ||
      a === 0 ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 169 && b === 254) ||
      (a === 100 && b >= 64 && b <= 127) ||
      a >= 224
    );
  }
  const lower = ip.toLowerCase();
  if (lower === '::1' || lower === '::') return false;
  return !/^(fe[89ab]|f[cd]|ff)/.test(lower) && /^[0-9a-f:]+$/.test(lower);
}

export const CHECKS: readonly Check[] = [
  keyCheck(
    'minpwdlength',
    'increase minpwdlength (default value is 4)',
    'medium',
    (v) => v < 10,
    '12',
    'short SIP passwords fall to an online guessing attack spread over many addresses, under every per-address threshold',
  ),
  keyCheck(
    'fwdtootherdomains',
    'set fwdtootherdomains to 0 to disable arbitrary call routing to other domains',
    'high',
    (v) => v !== 0,
    '0',
    'a caller can make tollgate route calls to any SIP domain: toll fraud and an open relay',
  ),
  {
    id: 'enforcestrongauth',
    item: 'set enforcestrongauth to true',
    run: (facts) =>
      facts.value('enforcestrongauth') === true
        ? undefined
        : {
            id: 'enforcestrongauth',
            severity: 'high',
            title: 'enforcestrongauth is off',
            why: 'weak account passwords are accepted; they are guessed within hours by svcrack-style tools',
            fix: set('enforcestrongauth', 'true'),
          },
  },
  keyCheck(
    'strongdigestauth',
    'set strongdigestauth to 2 or 3',
    'medium',
    (v) => v < 2,
    '2',
    'lenient digest checks accept answers a replaying or downgrading attacker can produce',
  ),
  keyCheck(
    'allowcalleridchange',
    'set allowcalleridchange to 0',
    'medium',
    (v) => v !== 0,
    '0',
    'callers can present any caller ID: spoofed calls are billed and trusted as someone else',
  ),
  keyCheck(
    'useshadigestauh',
    'set useshadigestauh to 2 to use SHA-256 instead of MD5',
    'medium',
    (v) => v === 0,
    '1',
    'digest MD5 only: a captured challenge/response is cracked offline at billions of guesses per second',
  ),
  {
    id: 'md5-accounts',
    item: 'useshadigestauh: use SHA-256 instead of MD5 (if clients support this)',
    run: (facts) =>
      facts.md5Accounts && facts.md5Accounts.length > 0
        ? {
            id: 'md5-accounts',
            severity: 'low',
            title: `${facts.md5Accounts.length} account(s) still authenticate with MD5: ${facts.md5Accounts.slice(0, 10).join(', ')}`,
            why: 'their phones cannot do SHA-256 digest; a captured exchange can be cracked offline',
            fix: 'upgrade or reconfigure those phones for SHA-256 digest (RFC 8760), then tollgatectl config set useshadigestauh 2',
          }
        : undefined,
  },
  keyCheck(
    'stricttransport',
    'set stricttransport to 2 or 3',
    'low',
    (v) => v < 2,
    '2',
    'a registration made over TLS can be used by requests arriving over UDP: the encryption can be bypassed',
  ),
  {
    id: 'blockotherdomains',
    item: 'set blockotherdomains to 1',
    run: (facts) =>
      facts.value('blockotherdomains') === true
        ? undefined
        : {
            id: 'blockotherdomains',
            severity: 'medium',
            title: 'blockotherdomains is off',
            why: 'requests for domains tollgate does not serve are processed: scanners probe and relay through it',
            fix: set('blockotherdomains', 'true'),
          },
  },
  keyCheck(
    'blockscanning_treshold',
    'set blockscanning_treshold to a positive low value such as 10',
    'high',
    (v) => v === 0 || v > 50,
    '10',
    'user-enumeration scans (svwar) run to completion without a ban',
  ),
  {
    id: 'trustlanip',
    item: 'disable trustlanip from global config if not needed',
    run: (facts) => {
      if (facts.value('trustlanip') !== true) return undefined;
      const publicAddresses = facts.hostAddresses.filter(isPublicAddress);
      if (publicAddresses.length === 0) return undefined;
      return {
        id: 'trustlanip',
        severity: 'medium',
        title: `trustlanip is on while the host has a public address (${publicAddresses.slice(0, 3).join(', ')})`,
        why: 'attacks from LAN addresses (a compromised PC, a spoofed private source on the uplink) are detected but never banned',
        fix: set('trustlanip', 'false'),
      };
    },
  },
  ...(['trustsubnet', 'trustauthip', 'treatusersasknownip'] as const).map(
    (key): Check => ({
      id: key,
      item: 'set trustsubnet, trustauthip and treatusersasknownip to false',
      run: (facts) =>
        facts.value(key) === true
          ? {
              id: key,
              severity: 'medium',
              title: `${key} is on`,
              why: 'addresses are trusted for what a neighbour or a once-authenticated client did: an attacker inherits that trust',
              fix: set(key, 'false'),
            }
          : undefined,
    }),
  ),
  keyCheck(
    'allownoauthcalls',
    'set allownoauthcalls to 0',
    'high',
    (v) => v !== 0,
    '0',
    'calls are accepted without authentication: anyone who finds the server can call through it',
  ),
  {
    id: 'allowanonymouscaller',
    item: 'set allowanonymouscaller to 0',
    run: (facts) =>
      facts.value('allowanonymouscaller') === true
        ? {
            id: 'allowanonymouscaller',
            severity: 'medium',
            title: 'allowanonymouscaller is on',
            why: 'anonymous callers cannot be traced or limited per caller',
            fix: set('allowanonymouscaller', 'false'),
          }
        : undefined,
  },
  keyCheck(
    'enablefirewall',
    'set enablefirewall to 5',
    'medium',
    (v) => v < 4,
    '4',
    'without the kernel firewall, bans and flood budgets are not enforced before packets reach the SIP engine',
  ),
  keyCheck(
    'autoban',
    'set autoban to 2',
    'medium',
    (v) => v === 0,
    '2',
    'attacks are detected and logged but nothing is banned',
  ),
  ...(
    [
      ['maxsubsmsgcount', 'set proper packet flood filtering rules', '39000'],
      ['maxwrongauthfromip', 'strengthen the DDoS attack prevention', '2500'],
      ['maxfailedauthenabledip', 'strengthen the DDoS attack prevention', '800'],
      ['maxwrongmsgallowed', 'strengthen the DDoS attack prevention', '4000'],
    ] as const
  ).map(
    ([key, item, want]): Check => ({
      id: key,
      item,
      run: (facts) =>
        num(facts, key) === 0
          ? {
              id: key,
              severity: 'high',
              title: `${key} is 0: this guard threshold is off`,
              why: 'the attack it counts (flood, password guessing, garbage) never leads to a ban',
              fix: set(key, want),
            }
          : undefined,
    }),
  ),
  {
    id: 'dataplane',
    item: 'set proper firewall rules to protect your services',
    run: (facts) =>
      facts.dataplaneMode === 'off'
        ? {
            id: 'dataplane',
            severity: 'high',
            title: 'the kernel dataplane is off: nothing is dropped in the kernel',
            why: 'bans and flood budgets are kept in userspace only; a flood reaches the SIP engine',
            fix: 'run tollgate as root on a kernel with XDP or nftables, and tollgatectl config set dataplanemode auto (then restart)',
          }
        : undefined,
  },
  {
    id: 'data-directory',
    item: 'OS security: restrict access to the database (the data directory holds the HA1 hashes)',
    run: (facts) => {
      const out: Finding[] = [];
      if ((facts.dataDir.mode & 0o077) !== 0) {
        out.push({
          id: 'data-directory',
          severity: 'high',
          title: `the data directory ${facts.dataDir.path} is mode ${(facts.dataDir.mode & 0o777).toString(8)}: other users can enter it`,
          why: 'it holds the digest HA1 hashes: with one, a phone can be impersonated without knowing its password',
          fix: `chmod 700 ${facts.dataDir.path}`,
        });
      }
      if (facts.dataDir.looseFiles.length > 0) {
        out.push({
          id: 'data-files',
          severity: 'high',
          title: `files readable by other users in the data directory: ${facts.dataDir.looseFiles.slice(0, 5).join(', ')}`,
          why: 'they hold account secrets and bans',
          fix: `chmod 600 ${facts.dataDir.looseFiles.map((f) => `${facts.dataDir.path}/${f}`).join(' ')}`,
        });
      }
      return out;
    },
  },
  {
    id: 'sipport',
    item: 'be aware of scanners: SIP on the standard port facing the internet',
    run: (facts) => {
      if (num(facts, 'sipport') !== 5060) return undefined;
      const address = String(facts.value('sipaddress'));
      const wildcard = address === '0.0.0.0' || address === '::';
      const exposed = wildcard
        ? facts.hostAddresses.some(isPublicAddress)
        : isPublicAddress(address);
      if (!exposed) return undefined;
      return {
        id: 'sipport',
        severity: 'low',
        title: 'SIP listens on 5060 on a public address',
        why: 'every SIP scanner on the internet probes 5060 first: a non-standard port removes most of that noise',
        fix: `${set('sipport', '5080')} (then restart, and reconfigure the phones)`,
      };
    },
  },
  {
    id: 'tls',
    item: 'use secure access (TLS for SIP signaling); leverage TLS security',
    run: (facts) =>
      facts.value('tlscertfile') === ''
        ? {
            id: 'tls',
            severity: 'low',
            title: "SIP over TLS uses a certificate from tollgate's own local CA",
            why: 'phones verify it only once they were given DATA/tls/ca.pem; a phone that does not verify can be intercepted',
            fix: 'give every phone DATA/tls/ca.pem as a trusted CA, or tollgatectl config set tlscertfile /path/cert.pem and tlskeyfile /path/key.pem (a certificate from a public CA; then restart)',
          }
        : undefined,
  },
  {
    id: 'api-keys',
    item: 'set a random httpapikey, apiv2key and serverapikey',
    run: (facts) =>
      API_SECRET_KEYS.flatMap((key) => {
        const value = String(facts.value(key));
        if (value === '' || isSecretHash(value)) return []; // unset (off), or set and hashed
        const weak = weakSecret(value);
        return [
          weak
            ? {
                id: `api-keys:${key}`,
                severity: 'high' as const,
                title: `${key} is weak: ${weak}`,
                why: 'an API key is guessed from many addresses at once, under every per-address ban threshold; it opens the whole admin API',
                fix: `${set(key, '"$(openssl rand -hex 24)"')} and remove it from the config file`,
              }
            : {
                id: `api-keys:${key}`,
                severity: 'low' as const,
                title: `${key} is kept in clear in the config file`,
                why: 'whoever reads the file or a backup of it holds the key; set from the console, only its hash is stored',
                fix: `remove ${key} from the config file and ${set(key, 'VALUE')} (stored hashed)`,
              },
        ];
      }),
  },
  keyCheck(
    'validateinput',
    'set the validate input global config to 3 or more',
    'medium',
    (v) => v < 3,
    '3',
    "markup and injection-shaped input reaches the services and, later, an operator's browser",
  ),
  keyCheck(
    'remoteadmin',
    'set remoteadmin to 0, 1, 2 or 3',
    'high',
    (v) => v >= 4,
    '1',
    'the web admin and admin API answer from anywhere: one stolen password or key away from the whole appliance',
  ),
  {
    id: 'apisipauth',
    item: 'set the apisipauth to 1',
    run: (facts) =>
      facts.value('apisipauth') === true
        ? undefined
        : {
            id: 'apisipauth',
            severity: 'medium',
            title: 'apisipauth is off',
            why: "the user API acts for an account named by X-Tollgate-User with the shared serverapikey alone, without the account's password",
            fix: set('apisipauth', 'true'),
          },
  },
  keyCheck(
    'apiv2ipauth',
    'setup the allowed ip and trusted ip by the apiv2ipauth global config option',
    'low',
    (v) => v === 0,
    '1',
    'the API takes calls from any address: allowedip and trustedip are not applied to it',
  ),
  keyCheck(
    'apidefneedlogin',
    'set apidefneedlogin to 3 for nonce verification on API access',
    'low',
    (v) => v < 3,
    '3',
    'an API request captured (a log, a proxy) can be sent again: without a nonce the replay is accepted',
  ),
  keyCheck(
    'apideftrustadmin',
    'set apideftrustadmin to 4',
    'low',
    (v) => v !== 4,
    '4',
    'admin rights over the API come from less than the admin password and a trusted address together',
  ),
  keyCheck(
    'enablejsonp',
    'disable JSONP to other servers by setting the "enable jsonp" global config option to 1',
    'medium',
    (v) => v >= 2,
    '0',
    'any web page a logged-in operator visits can read API answers through JSONP',
  ),
  {
    id: 'allowhttpfileupload',
    item: 'disable http file upload if no file sharing services are used',
    run: (facts) =>
      facts.value('allowhttpfileupload') === true
        ? {
            id: 'allowhttpfileupload',
            severity: 'low',
            title: 'allowhttpfileupload is on',
            why: 'the API takes whole config files over HTTP: one admin credential replaces the configuration at once',
            fix: set('allowhttpfileupload', 'false'),
          }
        : undefined,
  },
  keyCheck(
    'allownoauthfork',
    'set the "allownoauthfork" global config option to 3 or 4',
    'medium',
    (v) => v < 3,
    '3',
    'an unauthenticated caller can have its call forked or redirected to every device of a user, including ones the user never exposed',
  ),
  keyCheck(
    'securemove',
    'set securemove to 1 or 2 to prevent 301/302 call forward routing to traffic senders',
    'medium',
    (v) => v < 1,
    '1',
    'a callee (or whoever answers for it) can redirect a paid call anywhere with a 3xx: toll fraud through call forwarding',
  ),
  keyCheck(
    'checkmaxdyndailycredit',
    'configure the dynamic credit/spend limits (checkmaxdyndailycredit)',
    'medium',
    (v) => v === 0,
    '1',
    'a stolen account can spend many times its usual day before any fixed limit is reached',
  ),
  keyCheck(
    'validatepassword',
    'set the validatepassword to 2',
    'medium',
    (v) => v < 2,
    '2',
    'new passwords are not checked against well-known ones: the first guesses of every cracker',
  ),
  keyCheck(
    'securepasswords',
    'set the securepasswords parameter to 1 or more',
    'low',
    (v) => v < 1,
    '1',
    'asks for passwords in clear at rest (tollgate hashes them anyway, so this only records an unsafe intent)',
  ),
  keyCheck(
    'uauthverifypwd',
    'set the uauthverifypwd to 0',
    'medium',
    (v) => v !== 0,
    'false',
    "the API answers whether a user's password is right: a password oracle for guessing without touching SIP's failed-auth counters",
  ),
  keyCheck(
    'forwardclientaddress',
    'set the forwardclientaddress to 0 (to prevent forwarding the peer location)',
    'medium',
    (v) => v !== 0,
    'false',
    "each side learns the other's addresses (Via, Contact, Record-Route): a map of your customers and carriers for an attacker",
  ),
  keyCheck(
    'blocksatellitecalls',
    'set the blocksatellitecalls and blockpremiumnumbers to true',
    'high',
    (v) => v === 0,
    'true',
    'satellite numbers cost many times a normal call: the favourite destination of toll fraud',
  ),
  keyCheck(
    'blockpremiumnumbers',
    'set the blocksatellitecalls and blockpremiumnumbers to true',
    'high',
    (v) => v === 0,
    'true',
    'premium-rate numbers pay the fraudster who owns them: the classic revenue-share fraud',
  ),
  ...(['reuseep', 'reuseepauth', 'reusedifferentportreg'] as const).map((key) =>
    keyCheck(
      key,
      `set ${key} to 0`,
      'high',
      (v) => v !== 0,
      'false',
      'a request from the address of a registered device is taken as that user without a password: anyone behind the same NAT, or spoofing UDP, calls on its account',
    ),
  ),
  keyCheck(
    'cacheregistrations',
    'set cacheregistrations to 0 or 1',
    'medium',
    (v) => v === 2,
    '1',
    "failures are remembered for 30 s per account and address: one wrong password sent from a phone's address (spoofed over UDP) keeps that phone out, again and again",
  ),
  {
    id: 'authfastusers',
    item: 'set authfastusers to 1',
    run: (facts) =>
      facts.value('authfastusers') === true
        ? undefined
        : {
            id: 'authfastusers',
            severity: 'medium',
            title: 'authfastusers is off',
            why: 'a client sending authenticated requests far faster than a phone reuses one nonce for all of them: no challenge round trip slows a flood or a toll-fraud burst',
            fix: set('authfastusers', 'true'),
          },
  },
  {
    id: 'autofinetune',
    item: 'you might set autofinetune to 0 for a consistent service level (not optimal for high-load servers)',
    run: (facts) =>
      facts.value('autofinetune') === true
        ? {
            id: 'autofinetune',
            severity: 'low',
            title: 'autofinetune is on: per-address limits drop under a flood from many addresses',
            why: 'during a flood spread over many addresses every address gets a tenth of its fastauthsubswrongusermsg budget, so legitimate phones are throttled with the flood (keep it on for a high-load server)',
            fix: set('autofinetune', 'false'),
          }
        : undefined,
  },
  {
    id: 'maxmonthlycredit',
    item: 'set maxmonthlycredit per user',
    run: (facts) => {
      const open = facts.postpaidWithoutMonthlyLimit ?? [];
      if (open.length === 0) return undefined;
      const shown = open.slice(0, 5).join(', ') + (open.length > 5 ? `, … (${open.length})` : '');
      return {
        id: 'maxmonthlycredit',
        severity: 'high' as const,
        title: `postpaid accounts without a monthly limit: ${shown}`,
        why: 'a postpaid account with no maxmonthlycredit runs up any bill a thief cares to make before the invoice',
        fix: `tollgatectl users set ${open[0]} maxmonthlycredit 100`,
      };
    },
  },
  {
    id: 'earlymedia',
    item: 'set earlystart to 0 and/or blockearlymedia to 1/2/3 and/or blockearlymedia_in to 1/2 if you wish to block all early media',
    run: (facts) =>
      facts.value('earlystart') === true &&
      num(facts, 'blockearlymedia') === 0 &&
      num(facts, 'blockearlymedia_in') === 0
        ? {
            id: 'earlymedia',
            severity: 'low' as const,
            title: 'early media passes before a call is answered (earlystart on, nothing blocked)',
            why: 'audio flows before billing starts: a destination can carry a whole conversation in "ringing" and never be charged',
            fix: set('blockearlymedia', '1'),
          }
        : undefined,
  },
  {
    id: 'licensecfg',
    item: 'you can also apply system level limits by the licensecfg global config option',
    run: (facts) =>
      facts.value('licensecfg') === ''
        ? {
            id: 'licensecfg',
            severity: 'low' as const,
            title: 'no system-level ceiling (licensecfg is empty)',
            why: 'nothing caps calls at once or accounts in total: a runaway customer or a compromised admin has no upper bound',
            fix: set('licensecfg', '"maxcalls=500,maxusers=10000"'),
          }
        : undefined,
  },
  {
    id: 'unenforced',
    item: 'check your global configuration parameters (a key set but not enforced protects nothing)',
    run: (facts) =>
      facts.acceptedUnenforced.map(({ key, issue }) => ({
        id: `unenforced:${key}`,
        severity: 'medium' as const,
        title: `${key} is set but this version does not enforce it (issue #${issue})`,
        why: 'the protection it names does not exist yet: nothing happens when it would apply',
        fix: `tollgatectl config unset ${key}  (and watch issue #${issue})`,
      })),
  },
];

/**
 * Checklist items that name keys this version does not enforce: a setting cannot fix them,
 * so they are listed (not counted as findings) with the issue that will enforce each.
 */
export const UNAVAILABLE_ITEMS: ReadonlyArray<{ key: string; item: string }> = [];
