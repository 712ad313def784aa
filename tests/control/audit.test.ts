// `tollgatectl audit` holds the configuration and system against the reference's security
// checklist. Each checklist item is made to fire here from a real Settings over a real store,
// and a hardened configuration gives no finding at all.
import type { ExecutionContext } from 'ava';
import test from 'ava';
import { CONFIG_KEYS, USER_FIELDS } from '../../src/config/schema.ts';
import { Settings } from '../../src/config/settings.ts';
import { renderAudit, runAudit } from '../../src/control/audit/audit.ts';
import {
  type AuditFacts,
  isPublicAddress,
  UNAVAILABLE_ITEMS,
  weakSecret,
} from '../../src/control/audit/checks.ts';
import { createLogger } from '../../src/log.ts';
import { Store } from '../../src/store/store.ts';
import { HARDENED } from '../helpers/hardened.ts';
import { tempDir } from '../helpers/tmp.ts';

const SAFE_SYSTEM = {
  dataplaneMode: 'xdp',
  dataDir: { path: '/var/lib/tollgate', mode: 0o40700, looseFiles: [] as string[] },
  hostAddresses: ['127.0.0.1', '10.1.2.3', '::1'],
  md5Accounts: [] as string[],
};

function facts(
  t: ExecutionContext,
  config: Record<string, string>,
  system: Partial<AuditFacts> = {},
): AuditFacts {
  const store = Store.open(tempDir(t));
  t.teardown(() => store.close());
  const settings = new Settings(store, config, createLogger({ level: 'silent' }));
  return {
    value: (key) => settings.valueOf(key),
    acceptedUnenforced: [],
    ...SAFE_SYSTEM,
    ...system,
  };
}

test('a hardened configuration on a hardened system has no findings', (t) => {
  const report = runAudit(facts(t, HARDENED));
  t.deepEqual(report.findings, []);
  t.deepEqual(report.summary, { high: 0, medium: 0, low: 0 });
});

test('the defaults have findings, each with why and a fixing command', (t) => {
  const report = runAudit(facts(t, {}, { hostAddresses: ['203.0.113.10'] }));
  const ids = report.findings.map((f) => f.id);
  for (const id of [
    'minpwdlength',
    'fwdtootherdomains',
    'strongdigestauth',
    'useshadigestauh',
    'trustlanip',
    'allownoauthcalls',
    'sipport',
  ])
    t.true(ids.includes(id), `${id} in ${ids.join(', ')}`);
  for (const f of report.findings) {
    t.truthy(f.why, f.id);
    t.regex(f.fix, /tollgatectl|chmod|install|upgrade|run tollgate/, f.id);
  }
  t.is(report.findings[0]!.severity, 'high', 'most severe first');
});

// One case per checklist item: the hardened configuration with one thing undone.
const ITEMS: Array<[string, Record<string, string>, Partial<AuditFacts>?]> = [
  ['minpwdlength', { minpwdlength: '6' }],
  ['fwdtootherdomains', { fwdtootherdomains: '1' }],
  ['enforcestrongauth', { enforcestrongauth: 'false' }],
  ['strongdigestauth', { strongdigestauth: '1' }],
  ['allowcalleridchange', { allowcalleridchange: '2' }],
  ['useshadigestauh', { useshadigestauh: '0' }],
  ['md5-accounts', {}, { md5Accounts: ['alice'] }],
  ['maxmonthlycredit', {}, { postpaidWithoutMonthlyLimit: ['bob'] }],
  ['allownoauthfork', { allownoauthfork: '2' }],
  ['securemove', { securemove: '0' }],
  ['checkmaxdyndailycredit', { checkmaxdyndailycredit: '0' }],
  ['validatepassword', { validatepassword: '1' }],
  ['securepasswords', { securepasswords: '0' }],
  ['uauthverifypwd', { uauthverifypwd: 'true' }],
  ['forwardclientaddress', { forwardclientaddress: 'true' }],
  ['blocksatellitecalls', { blocksatellitecalls: 'false' }],
  ['blockpremiumnumbers', { blockpremiumnumbers: 'false' }],
  ['reuseep', { reuseep: 'true' }],
  ['reuseepauth', { reuseepauth: 'true' }],
  ['reusedifferentportreg', { reusedifferentportreg: 'true' }],
  ['earlymedia', { blockearlymedia: '0' }],
  ['licensecfg', { licensecfg: '' }],
  ['stricttransport', { stricttransport: '1' }],
  ['blockotherdomains', { blockotherdomains: 'false' }],
  ['blockscanning_treshold', { blockscanning_treshold: '0' }],
  ['trustlanip', { trustlanip: 'true' }, { hostAddresses: ['198.51.100.4'] }],
  ['trustsubnet', { trustsubnet: 'true' }],
  ['trustauthip', { trustauthip: 'true' }],
  ['treatusersasknownip', { treatusersasknownip: 'true' }],
  ['allownoauthcalls', { allownoauthcalls: '1' }],
  ['allowanonymouscaller', { allowanonymouscaller: 'true' }],
  ['enablefirewall', { enablefirewall: '2' }],
  ['autoban', { autoban: '0' }],
  ['maxsubsmsgcount', { maxsubsmsgcount: '0' }],
  ['maxwrongauthfromip', { maxwrongauthfromip: '0' }],
  ['maxfailedauthenabledip', { maxfailedauthenabledip: '0' }],
  ['maxwrongmsgallowed', { maxwrongmsgallowed: '0' }],
  ['dataplane', {}, { dataplaneMode: 'off' }],
  ['data-directory', {}, { dataDir: { path: '/d', mode: 0o40755, looseFiles: [] } }],
  ['data-files', {}, { dataDir: { path: '/d', mode: 0o40700, looseFiles: ['data.mdb'] } }],
  [
    'sipport',
    { sipport: '5060', sipsport: '5061', sipaddress: '0.0.0.0' },
    { hostAddresses: ['203.0.113.10'] },
  ],
  ['tls', { tlscertfile: '' }],
  ['api-keys:httpapikey', { httpapikey: 'changeme' }],
  ['api-keys:apiv2key', { apiv2key: '12345' }],
  ['api-keys:serverapikey', { serverapikey: 'Vq3-xj81-LmZp-04cA-u7Rk' }],
  ['validateinput', { validateinput: '2' }],
  ['remoteadmin', { remoteadmin: '4' }],
  ['apisipauth', { apisipauth: 'false' }],
  ['apiv2ipauth', { apiv2ipauth: '0' }],
  ['apidefneedlogin', { apidefneedlogin: '2' }],
  ['apideftrustadmin', { apideftrustadmin: '1' }],
  ['enablejsonp', { enablejsonp: '2' }],
  ['allowhttpfileupload', { allowhttpfileupload: 'true' }],
  ['cacheregistrations', { cacheregistrations: '2' }],
  ['authfastusers', { authfastusers: 'false' }],
  ['autofinetune', { autofinetune: 'true' }],
  [
    'unenforced:blocknotbilledcalls',
    {},
    { acceptedUnenforced: [{ key: 'blocknotbilledcalls', issue: 12 }] },
  ],
];

for (const [id, undo, system] of ITEMS) {
  test(`checklist item fires: ${id}`, (t) => {
    const report = runAudit(facts(t, { ...HARDENED, ...undo }, system));
    t.deepEqual(
      report.findings.map((f) => f.id),
      [id],
      'exactly this finding, nothing else',
    );
  });
}

test('trustlanip and sipport 5060 are fine when the host faces no public network', (t) => {
  const lan = { hostAddresses: ['10.0.0.2', '192.168.1.9', 'fd00::2', 'fe80::1'] };
  const report = runAudit(
    facts(
      t,
      { ...HARDENED, trustlanip: 'true', sipport: '5060', sipsport: '5061', sipaddress: '0.0.0.0' },
      lan,
    ),
  );
  t.deepEqual(report.findings, []);
  t.true(isPublicAddress('2001:db8::1'));
  t.false(isPublicAddress('100.64.0.1'), 'carrier-grade NAT is not public');
});

test('checklist items no setting can satisfy are listed apart with their issue: none is left', (t) => {
  const report = runAudit(facts(t, HARDENED));
  const statusOf = new Map([...CONFIG_KEYS, ...USER_FIELDS].map((s) => [s.name, s.status]));
  for (const { key } of UNAVAILABLE_ITEMS) {
    // When a key becomes enforced, its checklist item needs a real check in checks.ts.
    t.is(statusOf.get(key)?.state, 'not-enforced', `${key} is enforced now: give it a check`);
  }
  // Every key is enforced or fixed to its safe value since issue #10's wave.
  t.deepEqual(
    [...statusOf].filter(([, s]) => s.state === 'not-enforced').map(([name]) => name),
    [],
  );
  t.deepEqual(report.unavailable, []);
  t.notRegex(renderAudit(report), /not available/);
});

test('the checklist keys fixed to their safe value (no such feature) cannot be set otherwise', (t) => {
  const fixedItems = {
    ftpdbuser: '1',
    callingcardauth: '5',
    autocreatereguserstrict: 'false',
    fs_restrictsiptolocal: '0',
    reuseupperregep: 'true',
    anumberhandling: 'true',
  };
  for (const [key, value] of Object.entries(fixedItems)) {
    t.is(CONFIG_KEYS.find((k) => k.name === key)?.status.state, 'fixed', key);
    t.throws(() => facts(t, { ...HARDENED, [key]: value }), {
      message: new RegExp(`${key} = ${value} is refused: tollgate`),
    });
  }
});

test('an API key set from the console is stored hashed and not reported; a weak one in the file is', (t) => {
  const store = Store.open(tempDir(t));
  t.teardown(() => store.close());
  const settings = new Settings(store, HARDENED, createLogger({ level: 'silent' }));
  settings.set('httpapikey', 'short');
  const report = runAudit({
    value: (key) => settings.valueOf(key),
    acceptedUnenforced: [],
    ...SAFE_SYSTEM,
  });
  t.false(
    report.findings.some((f) => f.id.startsWith('api-keys')),
    'hashed: nothing to read back',
  );
  t.is(weakSecret('changeme'), 'a default or common value');
  t.regex(weakSecret('90210') ?? '', /5 characters/);
  t.is(weakSecret('Vq3-xj81-LmZp-04cA-u7Rk'), undefined);
});
