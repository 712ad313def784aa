// The billing commands through a real daemon and tollgatectl: tariffs import (refused whole,
// line-numbered), list and export, exact top-ups, users with their money, CDRs, blacklist.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { startDaemon } from '../../helpers/daemon.ts';
import { tempDir } from '../../helpers/tmp.ts';

test('tariffs, topup, users, cdrs and blacklist from tollgatectl', async (t) => {
  const d = await startDaemon(t);
  const dir = tempDir(t);
  const ok = async (...args: string[]) => {
    const r = await d.ctl(...args);
    t.is(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  await ok('users', 'add', 'alice', '--password', 'Correct-Horse-Battery-9');

  const bad = join(dir, 'bad.csv');
  writeFileSync(
    bad,
    'tariff,prefix,price,increments\ndefault,49,0.02,60/60\ndefault,33,1.2.3,60/60\n',
  );
  const refused = await d.ctl('tariffs', 'import', bad);
  t.is(refused.code, 1);
  t.regex(refused.stderr, /nothing imported:\nline 3: bad price "1\.2\.3"/);
  t.regex(await ok('tariffs', 'list'), /no tariffs/);
  const missing = await d.ctl('tariffs', 'import', join(dir, 'nope.csv'));
  t.is(missing.code, 2);
  t.regex(missing.stderr, /cannot read .*nope\.csv: ENOENT/);

  const good = join(dir, 'good.csv');
  writeFileSync(
    good,
    'tariff,prefix,price,connect_fee,increments\ndefault,49,0.02,0,60/60\ndefault,4915,0.123456,0.01,30/6\n',
  );
  t.regex(await ok('tariffs', 'import', good), /imported 2 rate\(s\) in 1 tariff\(s\)/);
  t.regex(await ok('tariffs', 'list'), /default\s+-\s+2/);
  t.regex(await ok('tariffs', 'export'), /default,4915,0\.123456,0\.01,30\/6/);

  t.regex(await ok('topup', 'alice', '12.34567'), /alice: credit 12\.34567/);
  const topped = JSON.parse(await ok('topup', 'alice', '0.00001', '--json'));
  t.is(topped.creditMicros, 12_345_680);
  const badAmount = await d.ctl('topup', 'alice', '1.5e3');
  t.is(badAmount.code, 1);
  t.regex(badAmount.stderr, /bad amount "1\.5e3"/);
  t.is((await d.ctl('topup', 'nobody', '1')).code, 1);

  const list = await ok('users', 'list');
  t.regex(list, /CREDIT\s+TODAY\s+MONTH\s+LIMITS\s+LAST REFUSED/);
  t.regex(list, /alice .*prepaid 12\.34568\s+0\.00\s+0\.00\s+maxlines=5/);
  const shown = JSON.parse(await ok('users', 'show', 'alice', '--json'));
  t.is(shown.billing.credit, '12.34568');
  t.is(shown.billing.lastRefusal, null);
  // users set NAME credit sets the balance exactly.
  await ok('users', 'set', 'alice', 'credit', '3');
  t.is(JSON.parse(await ok('users', 'show', 'alice', '--json')).billing.credit, '3.00');

  t.deepEqual(JSON.parse(await ok('cdrs', '--user', 'alice', '--since', '24h', '--json')), []);
  t.regex(await ok('cdrs', '--csv'), /^callId,account,callerId,dialled/);
  const badSince = await d.ctl('cdrs', '--since', 'yesterday');
  t.is(badSince.code, 1);
  t.regex(badSince.stderr, /bad since "yesterday"/);

  t.regex(
    await ok('blacklist', 'add', '+4490*', '--ttl', '1h', '--reason', 'fraud'),
    /blacklisted 4490\* \(dynamic\)/,
  );
  t.regex(await ok('blacklist', 'list'), /4490\*\s+dynamic/);
  t.regex(await ok('blacklist', 'del', '4490*'), /removed/);
  t.is((await d.ctl('blacklist', 'del', '4490*')).code, 1);
  t.is(await d.stop(), 0);
});
