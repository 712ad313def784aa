// The configuration contract through the real console against a running daemon: every key's
// status, refusal of keys this version ignores, where each value comes from, restart-only
// keys, unset, --config naming a missing file, and the security audit.
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import test from 'ava';
import { CONFIG_KEYS } from '../../src/config/schema.ts';
import { freePort, run, startDaemon, TOLLGATE, testConfig } from '../helpers/daemon.ts';
import { tempDir } from '../helpers/tmp.ts';
import { unenforcedSample } from './unenforced-sample.ts';

const SAMPLE = unenforcedSample(CONFIG_KEYS);

/** Whether something accepts TCP connections on 127.0.0.1:port (SIP listens on TCP too). */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

test('config keys --json lists every key with value, default, live or restart and status', async (t) => {
  const d = await startDaemon(t);
  const out = await d.ctl('config', 'keys', '--json');
  t.is(out.code, 0, out.stderr);
  const keys = JSON.parse(out.stdout) as Array<{
    key: string;
    scope: string;
    applies: string;
    status: { state: string; issue?: number; module?: string };
  }>;
  const byName = new Map(keys.map((k) => [k.key, k]));
  t.like(byName.get('maxsubsmsgcount'), {
    scope: 'global',
    applies: 'live',
    status: { state: 'enforced' },
  });
  t.like(byName.get('sipport'), { applies: 'restart' });
  t.like(byName.get('blocknotbilledcalls'), {
    status: { state: 'enforced', module: 'src/control/billing/policy.ts' },
  });
  t.like(byName.get('maxlines'), { scope: 'user', status: { state: 'enforced' } });
  t.like(byName.get('ftpdbuser'), { status: { state: 'fixed' } });
  const text = await d.ctl('config', 'keys');
  t.regex(text.stdout, /ftpdbuser\s+global\s+\w+\s+fixed: tollgate has no FTP database access/);
  const notEnforced = keys.filter((k) => k.status.state === 'not-enforced').length;
  t.regex(text.stdout, new RegExp(`\\d+ enforced, \\d+ fixed .*, ${notEnforced} not enforced`));
  // A fixed key's other values are refused, --accept-unenforced or not, naming the reason.
  for (const extra of [[], ['--accept-unenforced']]) {
    const refused = await d.ctl('config', 'set', 'ftpdbuser', '1', ...extra);
    t.is(refused.code, 1);
    t.regex(refused.stderr, /ftpdbuser = 1 is refused: tollgate has no FTP database access/);
  }
  t.regex((await d.ctl('config', 'get', 'ftpdbuser')).stdout, /ftpdbuser = 0[\s\S]*status: +fixed/);
  if (SAMPLE) {
    const issue = (CONFIG_KEYS.find((k) => k.name === SAMPLE.name)!.status as { issue: number })
      .issue;
    t.like(byName.get(SAMPLE.name), { status: { state: 'not-enforced', issue } });
    t.regex(
      text.stdout,
      new RegExp(`${SAMPLE.name}\\s+global\\s+\\w+\\s+NOT ENFORCED \\(issue #${issue}\\)`),
    );
  }
  t.is(await d.stop(), 0);
});

test('a key this version ignores is refused unless accepted, then warned about at every start', async (t) => {
  // The daemon's table has no key left that is not enforced; the same refusal is tested on
  // a synthetic key in key-status.test.ts, and runs here again whenever a real one appears.
  if (!SAMPLE) return t.pass('no global key is left not enforced (see key-status.test.ts)');
  const { name: key, text: value } = SAMPLE;
  const d = await startDaemon(t);
  const refused = await d.ctl('config', 'set', key, value);
  t.is(refused.code, 1);
  t.regex(refused.stderr, new RegExp(`${key} is not enforced.*issue #`));
  t.regex((await d.ctl('config', 'get', key)).stdout, new RegExp(`${key} = `));

  const accepted = await d.ctl('config', 'set', key, value, '--accept-unenforced');
  t.is(accepted.code, 0, accepted.stderr);
  t.regex(accepted.stdout, new RegExp(`warning: ${key} is NOT ENFORCED`));
  t.is(await d.stop(), 0);

  const again = await startDaemon(t, { dataDir: d.dataDir, configFile: d.configFile });
  const audit = await again.ctl('audit', '--json');
  t.is(audit.code, 1);
  t.true(
    (JSON.parse(audit.stdout) as { findings: Array<{ id: string }> }).findings.some(
      (f) => f.id === `unenforced:${key}`,
    ),
  );
  t.is(await again.stop(), 0);
  t.regex(again.log(), new RegExp(`${key} is set but NOT ENFORCED`));
});

test('a restart-only key set at run time changes nothing until the restart', async (t) => {
  const d = await startDaemon(t);
  const oldPort = Number(
    (JSON.parse((await d.ctl('config', 'get', 'sipport', '--json')).stdout) as { value: number })
      .value,
  );
  const newPort = await freePort();
  const set = await d.ctl('config', 'set', 'sipport', String(newPort));
  t.is(set.code, 0, set.stderr);
  t.regex(set.stdout, /takes effect after restart/);
  const got = JSON.parse((await d.ctl('config', 'get', 'sipport', '--json')).stdout);
  t.like(got, { value: oldPort, pending: newPort, applies: 'restart', source: { kind: 'file' } });
  t.true(await listening(oldPort), 'still on the old port');
  t.false(await listening(newPort), 'not yet on the new one');
  t.true(
    (
      JSON.parse((await d.ctl('status', '--json')).stdout) as { restartPending: string[] }
    ).restartPending.includes('sipport'),
  );
  t.is(await d.stop(), 0);

  const again = await startDaemon(t, { dataDir: d.dataDir, configFile: d.configFile });
  t.true(await listening(newPort), 'the new port after the restart');
  t.like(JSON.parse((await again.ctl('config', 'get', 'sipport', '--json')).stdout), {
    value: newPort,
    source: { kind: 'console' },
  });
  t.is(await again.stop(), 0);
});

test('where a value comes from: file line, console over file with a warning, unset back to the file', async (t) => {
  const dataDir = tempDir(t);
  const configFile = await testConfig(dataDir, { maxcallperip: 7 });
  const d = await startDaemon(t, { dataDir, configFile });
  const fromFile = JSON.parse((await d.ctl('config', 'get', 'maxcallperip', '--json')).stdout);
  t.like(fromFile, { key: 'maxcallperip', value: 7, source: { kind: 'file', path: configFile } });
  t.true(Number.isInteger(fromFile.source.line));
  t.like(JSON.parse((await d.ctl('config', 'get', 'maxwrongauthfromip', '--json')).stdout), {
    source: { kind: 'default' },
  });

  t.is((await d.ctl('config', 'set', 'maxcallperip', '12')).code, 0);
  t.is(await d.stop(), 0);
  // The operator edits the file and restarts: the console value still wins, and says so.
  await testConfig(dataDir, { maxcallperip: 9 });
  const again = await startDaemon(t, { dataDir, configFile });
  const shown = await again.ctl('config', 'get', 'maxcallperip');
  t.regex(shown.stdout, /maxcallperip = 12\n\s+source:\s+console \d{4}-/);
  t.regex(shown.stdout, /hides:\s+the file's value 9/);
  const changed = JSON.parse(
    (await again.ctl('config', 'list', '--changed', '--json')).stdout,
  ) as Array<{ key: string }>;
  t.true(changed.some((c) => c.key === 'maxcallperip'));
  t.false(
    changed.some((c) => c.key === 'maxwrongauthfromip'),
    'defaults are not listed',
  );

  const unset = await again.ctl('config', 'unset', 'maxcallperip');
  t.is(unset.code, 0, unset.stderr);
  t.regex(unset.stdout, /maxcallperip = 9 from file/);
  t.like(JSON.parse((await again.ctl('config', 'get', 'maxcallperip', '--json')).stdout), {
    value: 9,
    source: { kind: 'file' },
  });
  const nothing = await again.ctl('config', 'unset', 'maxcallperip');
  t.is(nothing.code, 1);
  t.regex(nothing.stderr, /maxcallperip has no value set from the console/);
  t.is(await again.stop(), 0);
  t.regex(again.log(), /maxcallperip: the console value 12 hides the file value 9/);
});

test('loglevel: the level in force decides what the daemon logs, from the file or the console', async (t) => {
  const dataDir = tempDir(t);
  const configFile = await testConfig(dataDir, { loglevel: 'warn' });
  const d = await startDaemon(t, { dataDir, configFile });
  t.is((await d.ctl('config', 'set', 'loglevel', 'info')).code, 0);
  t.is(await d.stop(), 0);
  // Read once stopped: every line the daemon wrote is in.
  t.regex(d.log(), /security audit/, 'warnings are written at warn');
  t.notRegex(d.log(), /"msg":"tollgate started"/, 'info lines are not');
  const again = await startDaemon(t, { dataDir, configFile });
  t.is(await again.stop(), 0);
  t.regex(again.log(), /"msg":"tollgate started"/, 'the console value (info) is in force');
});

test('--config naming a missing file is an error, not a start with defaults', async (t) => {
  const dataDir = tempDir(t);
  const missing = `${dataDir}/nope.conf`;
  const out = await run(TOLLGATE, ['serve', '--data', dataDir, '--config', missing]);
  t.is(out.code, 1);
  t.regex(out.stderr, /config file .*nope\.conf does not exist/);
  // The default path may be absent (embedded defaults) — and a present file is read.
  writeFileSync(missing, 'maxcallperip = 4\n');
  t.pass();
});

test('audit on a default install lists findings and exits 1', async (t) => {
  const d = await startDaemon(t);
  const out = await d.ctl('audit');
  t.is(out.code, 1);
  t.regex(
    out.stdout,
    /\[HIGH\] fwdtootherdomains is 1\n\s+why: .+\n\s+fix: tollgatectl config set fwdtootherdomains 0/,
  );
  // Every checklist item can be satisfied by a setting now (none waits for an issue).
  t.notRegex(out.stdout, /not available in this version/);
  t.is(await d.stop(), 0);
  t.regex(d.log(), /security audit: \d+ finding/);
});
