// The SSH console, with a real sshd (openssh-server) in a namespace running the shipped Match
// block (pkg/files/etc/ssh/sshd_config.d/tollgate-console.conf) and the shipped ForceCommand
// wrapper, against a real daemon (unprivileged, the unit's capabilities, XDP attached):
//   - ssh console@… lands in the tollgate console; delbanned,all works; each command is in
//     the daemon's log with the SSH client's address;
//   - a command on the ssh line (/bin/sh), -L forwarding and sftp are refused;
//   - sshd's failed passwords (its log lines through `tollgatectl ssh-feed`) get a password
//     guesser banned in XDP after maxfailedauthenabledip failures, while a key login from
//     another address keeps working.
// Test-only substitutions, each because the machine running the tests is not the appliance:
// the account is `tgconsole` (created here if missing; its password set here), the key file
// and host key live in a temporary directory (StrictModes off: /tmp is world-writable), and
// the wrapper's `sudo -u tollgate` hop is left out: the daemon runs as tgconsole itself, so
// its socket is the login user's, as it is the tollgate user's on the appliance.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { TOLLGATECTL } from '../helpers/daemon.ts';
import { createLink, exec } from '../helpers/netns.ts';
import { tempDir } from '../helpers/tmp.ts';
import { startAs } from './service-daemon.ts';
import { ROOT, unitValues } from './unit.ts';

const USER = 'tgconsole';
const PASSWORD = 'Ssh-Console-Test-Pw-7q2x';
const THRESHOLD = 5;
const SNIPPET = join(ROOT, 'pkg/files/etc/ssh/sshd_config.d/tollgate-console.conf');
const WRAPPER = join(ROOT, 'pkg/files/usr/lib/tollgate/libexec/tollgate-console');

function ensureUser(shell: string): { uid: number; gid: number } {
  try {
    execFileSync('id', ['-u', USER], { stdio: 'ignore' });
    execFileSync('usermod', ['-s', shell, USER]);
  } catch {
    execFileSync('useradd', [
      '--system',
      '--user-group',
      '-M',
      '-d',
      '/nonexistent',
      '-s',
      shell,
      USER,
    ]);
  }
  execFileSync('chpasswd', { input: `${USER}:${PASSWORD}\n` });
  const uid = Number(execFileSync('id', ['-u', USER], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', USER], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runIn(ns: string, argv: string[], input = '', timeoutMs = 60_000): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  ms = 60_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('ssh console: the shell and nothing else; a password guesser is banned in XDP, a key login still works', async (t) => {
  const dir = tempDir(t);
  chmodSync(dir, 0o755);
  const link = await createLink(t);
  const guesser = link.a.v4;
  const keyHost = link.hostV4(3);
  await link.addAddress(link.a, keyHost);

  // The console's wrapper, as shipped, minus the sudo hop (see the header).
  const wrapper = join(dir, 'tollgate-console');
  const shipped = readFileSync(WRAPPER, 'utf8');
  t.regex(
    shipped,
    /exec \/usr\/bin\/sudo -n -u tollgate \/usr\/lib\/tollgate\/bin\/tollgatectl shell/,
  );
  const { uid, gid } = ensureUser(wrapper);

  const d = await startAs(t, {
    ns: link.b.ns,
    caps: unitValues('AmbientCapabilities'),
    sipAddress: link.b.v4,
    uid,
    gid,
    // The namespaces use 10.x addresses: not trusted as LAN here (trustlanip).
    config: {
      maxfailedauthenabledip: THRESHOLD,
      maxfailedauthenabledipport: 0,
      trustlanip: 'false',
    },
  });
  t.regex(d.status.dataplane.mode, /^xdp/, d.status.dataplane.reason);
  writeFileSync(
    wrapper,
    shipped.replace(
      /exec \/usr\/bin\/sudo -n -u tollgate \/usr\/lib\/tollgate\/bin\/tollgatectl shell/,
      `exec ${process.execPath} ${TOLLGATECTL} --socket ${d.socket} shell`,
    ),
    { mode: 0o755 },
  );

  // Keys: the sshd host key, the console's authorized key.
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'client_key')]);
  const authorized = join(dir, 'authorized_keys');
  writeFileSync(authorized, readFileSync(join(dir, 'client_key.pub')));
  chownSync(authorized, uid, gid);
  chmodSync(authorized, 0o600);

  // sshd: test globals, then the shipped Match block with the test's names and paths.
  const snippet = readFileSync(SNIPPET, 'utf8')
    .replace(/^Match User console$/m, `Match User ${USER}`)
    .replace('/usr/lib/tollgate/libexec/tollgate-console', wrapper)
    .replace('/etc/tollgate/console_authorized_keys', authorized);
  t.regex(snippet, new RegExp(`Match User ${USER}\\n`));
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      'Port 22',
      `ListenAddress ${link.b.v4}`,
      `HostKey ${join(dir, 'host_key')}`,
      'PidFile none',
      'UsePAM yes',
      'StrictModes no',
      'LogLevel INFO',
      `AllowUsers ${USER}`,
      // The sftp subsystem is on here, so the test shows ForceCommand is what refuses it.
      'Subsystem sftp internal-sftp',
      snippet,
    ].join('\n'),
  );
  execFileSync('mkdir', ['-p', '/run/sshd']);
  const sshd = spawn(
    'ip',
    ['netns', 'exec', link.b.ns, '/usr/sbin/sshd', '-D', '-e', '-f', config],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  t.teardown(() => sshd.kill('SIGKILL'));
  // sshd's log lines feed the guard, as tollgate-sshfeed.service does from the journal.
  const feed = spawn(process.execPath, [TOLLGATECTL, '--socket', d.socket, 'ssh-feed'], {
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  t.teardown(() => feed.kill('SIGKILL'));
  let sshdLog = '';
  sshd.stderr.on('data', (c) => {
    sshdLog += c;
    feed.stdin.write(c);
  });
  await until('sshd listening', async () =>
    (await runIn(link.b.ns, ['ss', '-ltn'])).stdout.includes(`${link.b.v4}:22`) ? true : undefined,
  );

  const base = [
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'ConnectTimeout=10',
  ];
  const withKey = [...base, '-i', join(dir, 'client_key'), '-o', 'PasswordAuthentication=no'];
  const ssh = (args: string[], input = '', bind = keyHost) =>
    runIn(link.a.ns, ['ssh', '-b', bind, ...args], input);

  // 1. The console: a ban, then delbanned,all lifts it (password login, commands on stdin).
  t.is((await d.ctl('ban', '192.0.2.77', '--reason', 'ssh test')).code, 0);
  const session = await runIn(
    link.a.ns,
    [
      'sshpass',
      '-p',
      PASSWORD,
      'ssh',
      '-b',
      keyHost,
      ...base,
      '-o',
      'PubkeyAuthentication=no',
      `${USER}@${link.b.v4}`,
    ],
    'bans\ndelbanned,all\nbans --json\n',
  );
  t.is(session.code, 0, `${session.stdout}\n${session.stderr}\n${sshdLog}`);
  t.regex(session.stdout, /192\.0\.2\.77/);
  t.regex(session.stdout, /lifted 1 ban\(s\)/);
  t.regex(session.stdout, /^\[\]$/m, 'no ban left');
  // Audited: each command in the daemon's log with the SSH client's address.
  const audited = d
    .log()
    .split('\n')
    .filter((l) => l.includes('"console command"') && l.includes('delbanned,all'));
  t.is(audited.length, 1, d.log().slice(-2000));
  t.regex(audited[0]!, new RegExp(`"sshClient":"${keyHost.replaceAll('.', '\\.')}"`));

  // 2. Nothing but the console: a command, a shell, forwarding, sftp.
  const command = await ssh([...withKey, `${USER}@${link.b.v4}`, '/bin/sh -c "echo escaped"']);
  t.is(command.code, 1);
  t.notRegex(command.stdout, /escaped/);
  t.regex(command.stderr, /commands are not accepted on the ssh command line/);
  const sftp = await runIn(
    link.a.ns,
    ['sftp', '-b', '-', ...withKey, `${USER}@${link.b.v4}`],
    'ls /\n',
  );
  t.not(sftp.code, 0, 'sftp refused');
  t.notRegex(sftp.stdout, /^(bin|etc|usr)$/m);
  const forward = spawn(
    'ip',
    [
      'netns',
      'exec',
      link.a.ns,
      'ssh',
      '-b',
      keyHost,
      ...withKey,
      '-N',
      '-L',
      `127.0.0.1:2222:${link.b.v4}:22`,
      `${USER}@${link.b.v4}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  t.teardown(() => forward.kill('SIGKILL'));
  let forwardLog = '';
  forward.stderr.on('data', (c) => (forwardLog += c));
  const tunnelled = await until('the -L port to answer', async () => {
    const r = await runIn(link.a.ns, [
      process.execPath,
      '-e',
      `const s=require('net').connect(2222,'127.0.0.1');let b='';s.on('data',c=>b+=c);s.on('error',()=>{console.log('ERR');process.exit(0)});s.on('close',()=>{console.log('CLOSED:'+b.slice(0,40));process.exit(0)});setTimeout(()=>{console.log('OPEN:'+b.slice(0,40));process.exit(0)},3000)`,
    ]);
    return r.stdout.startsWith('CLOSED') || r.stdout.startsWith('OPEN') ? r.stdout : undefined;
  });
  forward.kill('SIGTERM');
  t.notRegex(tunnelled, /SSH-2\.0/, 'nothing came through the tunnel');
  await until('ssh to report the refused channel', async () =>
    /administratively prohibited|open failed/.test(forwardLog) ? true : undefined,
  );

  // 3. A password guesser from another address: banned in XDP after THRESHOLD failures.
  let attempts = 0;
  const banned = async () => {
    const bans = JSON.parse((await d.ctl('bans', '--json')).stdout) as Array<{
      ip: string;
      enforced?: boolean;
    }>;
    return bans.find((b) => b.ip === guesser);
  };
  while (!(await banned()) && attempts < THRESHOLD * 3) {
    attempts++;
    await runIn(
      link.a.ns,
      [
        'sshpass',
        '-p',
        `wrong-${attempts}`,
        'ssh',
        '-b',
        guesser,
        ...base,
        '-o',
        'PubkeyAuthentication=no',
        '-o',
        'NumberOfPasswordPrompts=1',
        `${USER}@${link.b.v4}`,
        'true',
      ],
      '',
      20_000,
    );
    // Each failure reaches the guard before the next attempt (its line is in sshd's log).
    await until('sshd to log the failure', async () =>
      (sshdLog.match(
        new RegExp(`Failed password for ${USER} from ${guesser.replaceAll('.', '\\.')} `, 'g'),
      )?.length ?? 0) >= attempts
        ? true
        : undefined,
    );
  }
  const ban = await until('the guesser banned', banned);
  t.true(attempts >= THRESHOLD && attempts <= THRESHOLD + 1, `banned after ${attempts} attempts`);
  t.true(ban.enforced !== false, JSON.stringify(ban));
  // In XDP: the guesser's next connection gets nowhere, and the kernel counts the drop.
  const stats = async () =>
    (JSON.parse((await d.ctl('stats', '--json')).stdout) as { drops: Record<string, number> }).drops
      .banned ?? 0;
  const dropsBefore = await stats();
  const blocked = await runIn(
    link.a.ns,
    ['ssh', '-b', guesser, ...withKey, '-o', 'ConnectTimeout=3', `${USER}@${link.b.v4}`],
    'status\n',
    30_000,
  );
  t.not(blocked.code, 0);
  t.regex(blocked.stderr, /timed out|Connection refused|Connection reset/i);
  t.true((await stats()) > dropsBefore, 'dropped by the kernel (banned counter)');

  // 4. The key login from another address still works.
  const keyLogin = await ssh([...withKey, `${USER}@${link.b.v4}`], 'status\n');
  t.is(keyLogin.code, 0, keyLogin.stderr);
  t.regex(keyLogin.stdout, /dataplane/);

  sshd.kill('SIGTERM');
  feed.stdin.end();
  await d.stop();
  await exec(link.b.ns, ['true']);
});
