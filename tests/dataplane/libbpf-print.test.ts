// libbpf's own messages go through the daemon's logger (pino JSON lines on stdout, with
// libbpf's level), not as raw lines on stderr between the log lines.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import test from 'ava';

const ROOT = join(import.meta.dirname, '../..');

// A guard whose object file is missing: libbpf warns ("failed to open …") before failing.
const SCRIPT = `
import { XdpGuard } from ${JSON.stringify(join(ROOT, 'src/dataplane/xdp-guard.ts'))};
import { createLogger } from ${JSON.stringify(join(ROOT, 'src/log.ts'))};
import pino from 'pino';
const log = createLogger({ level: 'info', destination: pino.destination({ dest: 1, sync: true }) });
try {
  XdpGuard.load({ objectPath: '/nonexistent/tollgate-test.bpf.o', logger: log });
} catch (err) {
  log.info({ code: err.code }, 'load failed as expected');
}
`;

test("libbpf's warnings are log lines at warn level, and nothing raw reaches stderr", (t) => {
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', SCRIPT], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  t.is(child.status, 0, child.stderr);
  t.notRegex(child.stderr, /libbpf/, 'no raw libbpf line on stderr');
  const lines = child.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { level: number; lib?: string; msg: string; code?: string });
  const warning = lines.find((l) => l.lib === 'libbpf');
  t.truthy(warning, child.stdout);
  t.is(warning!.level, 40, 'warn');
  t.regex(warning!.msg, /^libbpf: .*failed to open \/nonexistent\/tollgate-test\.bpf\.o/);
  t.true(lines.some((l) => l.code === 'TG_DP_OBJECT_OPEN' || l.msg === 'load failed as expected'));
});
