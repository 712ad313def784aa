// Every key the reference guide names, with its default, written here from a reading of
// reference/security-and-account-limiting.md, independently of the schema table: if the
// table drifts from the reference, these fail.
import { readFileSync } from 'node:fs';
import test from 'ava';
import { CONFIG_KEYS, type ConfigValue, USER_FIELDS } from '../../src/config/schema.ts';
import { defaultConfig, defaultUserFields } from '../../src/config/validate.ts';

// Defaults the reference states (section in the comment).
const REFERENCE_DEFAULTS: Record<string, ConfigValue> = {
  maxnetworkspeed: 800_000, // "set to 800000 by default (this means 0.8 gbits)"
  maxsubsmsgcount: 39_000, // "MAXSUBSMSGCOUNT (default is 39000)"
  maxsubsmsgperiod: 180, // "MAXSUBSMSGPERIOD (default is 3 minute)"
  maxwrongmsgallowed: 4000, // "MAXWRONGMSGALLOWED (default is 4000)"
  maxwrongmsgperiod: 3600, // "MAXWRONGMSGPERIOD (default is 1 hour)"
  maxsubsipauthrequest: -1, // "default is -1 which means automatically calculated"
  maxwrongauthfromip: 2500, // "MAXWRONGAUTHFROMIP (default is 2500)"
  maxsubfailauthperiod: 3600, // "MAXSUBFAILAUTHPERIOD (default is 1 hour)"
  maxfailedauthenabledipport: 50, // "(default is 50)"
  maxfailedauthenabledip: 800, // "(default is 800)"
  checkrtpaddr: 0, // "(the default setting is false)"
  reenabledosblocked: 21_600, // "REENABLEDOSBLOCKED (default is 6 hours)"
  fastauthsubswrongusermsg: 300, // "Default value is 300."
  enforcestrongauth: true, // "true by default since v.5.2 2013"
  securepasswords: 1, // "on by default"
  maxcallperperiod: 1, // "1.0 means one day"
  maxcallperuserid: -1, // "set to -1 for all users"
  allowtrustedip: 3, // "3=yes(def)"
  maxdyndailycreditforenduser_min: 10, // "(default is 10)"
  maxdynmaxdailycreditforts_min: 100, // "(default is 100)"
  maxdyndailycredit_multiplier: 7, // "Default is 7"
  quotadiscreason: 403, // "Default is 403."
  blocksatellitecalls: true, // "By default the mizu server blocks … satellite"
  blockpremiumnumbers: true, // "… and premium numbers"
  blocknotbilledcalls: 0, // "0=no (default)"
  blocknotprofitablecalls: 0, // "0=no (default)"
  vgetpriceexactmatch: 0, // "0=no (default)"
  notbilledcallerr: 0, // "notbilledcallerr=0 0=default"
  blockhighcostcalls: 0, // "(default is 0 which means no limit)"
  minpwdlength: 4, // "(default value is 4)"
  trustsubnet: false, // "(these are false by default)"
  trustauthip: false,
  treatusersasknownip: false,
  apideftrustadmin: 1, // "1: admin if trusted ip (def)"
  trustlanip: true, // "Disable "trustlanip" … if not needed" (so it is on)
};

// Keys the reference names without a default: tollgate's safe production choice, each one
// justified in the key's help text ("reference gives no default; …").
const CHOSEN_DEFAULTS: Record<string, ConfigValue> = {
  httpapikey: '', // secrets start unset: the API refuses key access until one is set
  apiv2key: '',
  serverapikey: '',
  cacheregistrations: 1,
  maxcallperip: 0, // 0 = no limit
  maxdurationperip: 0,
  maxcostperip: 0,
  creditcheckforpostp: true,
  maxdailycreditforenduser: 0,
  maxdailycreditforts: 0,
  maxdailycreditperuser: false,
  checkmaxdyndailycredit: 1,
  sendadminemailnotifications: 2,
  calcmaxsl: -1, // "-1: means auto detect"
  allowua: [],
  enablefirewall: 4,
  blockscanning_treshold: 10, // "a positive low value such as 10"
  autoban: 1,
  blocktoomuchpendingsession: true,
  fwdtootherdomains: 1,
  strongdigestauth: 1,
  allowcalleridchange: 1,
  useshadigestauh: 0,
  allownoauthfork: 2,
  stricttransport: 1,
  validateinput: 3, // "3=normal"
  validatepassword: 2,
  autocreatereguserstrict: true,
  ftpdbuser: 0,
  uauthverifypwd: false,
  blockotherdomains: true,
  authfastusers: true,
  remoteadmin: 1,
  fs_restrictsiptolocal: 3,
  forwardclientaddress: false,
  apisipauth: true,
  blockearlymedia: 0,
  blockearlymedia_in: 0,
  earlystart: true,
  apiv2ipauth: 1,
  allowedip: [], // "the allowed ip and trusted ip global config option"
  trustedip: [],
  apidefneedlogin: 2,
  allownoauthcalls: 1,
  allowanonymouscaller: false,
  securemove: 1,
  reuseep: false,
  reuseepauth: false,
  reusedifferentportreg: false,
  reuseupperregep: false,
  anumberhandling: false,
  enablejsonp: 0, // "enable jsonp"
  autofinetune: true,
  allowhttpfileupload: false,
  licensecfg: '',
  callingcardauth: 9, // "set to 9 for pin code strict only"
};

// Per-user fields the reference names (not global keys).
const USER_DEFAULTS: Record<string, ConfigValue> = {
  maxlines: 5, // "For enduser the default Max Line is 5"
  maxlinesoffpeak: 5,
  credit: 0, // "set the default credit to 0"
  maxmonthlycredit: 0,
  maxmonthlycreditinc: 0,
  maxmonthlycreditend: 0,
  onlylocalaccess: false,
  maxdailycredit: 0,
  maxdyndailycredit: 0,
  maxslperday: 0,
  maxslpermonth: 0,
  needauth: 4,
  authtype: 0,
};

const BOOTSTRAP_DEFAULTS: Record<string, ConfigValue> = {
  sipaddress: '0.0.0.0',
  sipport: 5060,
  sipsport: 5061,
  webaddress: '127.0.0.1',
  webport: 8443,
  dataplanemode: 'auto',
  dataplaneinterfaces: [],
  dataplaneexclude: [],
  mediaportmin: 10_000,
  mediaportmax: 20_000,
  maxtcpconnperip: 32,
  maxtcpconn: 4096,
  maxtcpconnpersubnet: 256,
  evicttcpconn: true,
  sipfirstmsgtimeout: 10,
  sipmsgtimeout: 10,
  siptlshandshaketimeout: 10,
  loglevel: 'info',
  realm: 'tollgate',
  sipdomains: [],
  tlscertfile: '',
  tlskeyfile: '',
  // ACME: read when the certificate manager starts (src/webui/acme/manager.ts).
  acmedirectory: '',
  acmedomains: [],
  acmeemail: '',
  acmechallenge: 'http-01',
  acmerenewdays: 30,
  acmehttpport: 80,
  acmetlsport: 443,
};

test('every default the reference states is the schema default', (t) => {
  const cfg = defaultConfig();
  for (const [name, expected] of Object.entries(REFERENCE_DEFAULTS)) {
    t.deepEqual(cfg[name], expected, name);
    t.is(CONFIG_KEYS.find((k) => k.name === name)?.origin, 'reference', name);
  }
});

test('every key the reference names without a default is present with the chosen default', (t) => {
  const cfg = defaultConfig();
  for (const [name, expected] of Object.entries(CHOSEN_DEFAULTS)) {
    t.deepEqual(cfg[name], expected, name);
    const help = CONFIG_KEYS.find((k) => k.name === name)?.help ?? '';
    t.true(help.length > 0, name);
  }
});

test('the known scanners are blocked by default ("some known scanners are blocked by default")', (t) => {
  const blockua = defaultConfig().blockua as readonly string[];
  t.true(blockua.includes('friendly-scanner'));
  t.true(blockua.includes('sipvicious'));
  t.false(
    blockua.some((ua) => /sipp|sipsak/i.test(ua)),
    'test tools are not scanners',
  );
});

test('the schema has no reference key that this list does not know, and no list key is missing', (t) => {
  const listed = new Set([
    ...Object.keys(REFERENCE_DEFAULTS),
    ...Object.keys(CHOSEN_DEFAULTS),
    'blockua',
  ]);
  const inSchema = CONFIG_KEYS.filter((k) => k.origin === 'reference').map((k) => k.name);
  t.deepEqual([...inSchema].sort(), [...listed].sort());
});

test('tollgate bootstrap keys have their defaults and need a restart', (t) => {
  const cfg = defaultConfig();
  for (const [name, expected] of Object.entries(BOOTSTRAP_DEFAULTS)) {
    const spec = CONFIG_KEYS.find((k) => k.name === name);
    t.deepEqual(cfg[name], expected, name);
    t.is(spec?.origin, 'tollgate', name);
    t.false(spec?.live, name);
  }
  t.deepEqual(
    CONFIG_KEYS.filter((k) => !k.live)
      .map((k) => k.name)
      .sort(),
    Object.keys(BOOTSTRAP_DEFAULTS).sort(),
    'runtime policy keys are live, only bootstrap keys need a restart',
  );
});

test('per-user fields are a separate schema, with the reference defaults', (t) => {
  const user = defaultUserFields();
  for (const [name, expected] of Object.entries(USER_DEFAULTS))
    t.deepEqual(user[name], expected, name);
  const globals = new Set(CONFIG_KEYS.map((k) => k.name));
  for (const field of USER_FIELDS) t.false(globals.has(field.name), `${field.name} is not global`);
});

test('exactly the three API keys and the SMTP relay password are secret', (t) => {
  t.deepEqual(
    CONFIG_KEYS.filter((k) => k.secret)
      .map((k) => k.name)
      .sort(),
    ['apiv2key', 'httpapikey', 'serverapikey', 'smtppassword'],
  );
});

test('the enum meanings the reference spells out are kept', (t) => {
  const values = (name: string) => CONFIG_KEYS.find((k) => k.name === name)?.values ?? {};
  t.deepEqual(values('allowtrustedip'), {
    '0': 'no',
    '1': 'my ip only',
    '2': 'private ips only',
    '3': 'yes',
    '4': 'everywhere including admin console',
  });
  t.is(values('blocknotbilledcalls')['5'], 'check also parent tariff list');
  t.is(values('blocknotprofitablecalls')['2'], 'yes also if equal');
  t.is(values('vgetpriceexactmatch')['1'], 'yes for resellers');
  t.is(values('notbilledcallerr')['2'], 'critical');
  t.is(values('validateinput')['5'], 'extreme');
  t.is(values('apideftrustadmin')['4'], 'always ip+pwd');
  t.deepEqual(Object.keys(values('checkmaxdyndailycredit')).sort(), ['0', '1', '2']);
  t.deepEqual(Object.keys(values('calcmaxsl')).sort(), ['-1', '0', '1']);
  t.regex(
    USER_FIELDS.find((k) => k.name === 'needauth')?.values?.['3'] ?? '',
    /IP auth \+ tech prefix/,
  );
});

// The reference text itself, kept in the repository (tests/fixtures/reference/, a copy of
// the product guide this schema follows). Every reference-origin key name must occur in it,
// so the schema invents no names; the few spelled with a space there are mapped explicitly.
const REFERENCE_TEXT = new URL(
  '../fixtures/reference/security-and-account-limiting.md',
  import.meta.url,
);
const SPELLED_WITH_SPACE: Record<string, string> = {
  maxdyndailycreditforenduser_min: 'maxdyndailycreditforenduser min',
  enablejsonp: 'enable jsonp',
  validateinput: 'validate input',
  allowedip: 'allowed ip',
  trustedip: 'trusted ip',
};
test('every reference key name occurs in the reference text', (t) => {
  const text = readFileSync(REFERENCE_TEXT, 'utf8').toLowerCase();
  for (const spec of [...CONFIG_KEYS, ...USER_FIELDS]) {
    if (spec.origin !== 'reference') continue;
    const written = SPELLED_WITH_SPACE[spec.name] ?? spec.name;
    t.true(text.includes(written), `${spec.name} (${written})`);
  }
});
