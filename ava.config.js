// ava's configuration. A file rather than package.json's "ava" section because this runs
// once, in ava's main process, before any worker starts: a machine that cannot run the
// tests (not root, a prerequisite missing) stops here with one message from
// scripts/test-preflight.sh instead of failing every test file on its own.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const preflight = spawnSync(
  'bash',
  [fileURLToPath(new URL('./scripts/test-preflight.sh', import.meta.url))],
  {
    stdio: ['ignore', 'inherit', 'pipe'],
    encoding: 'utf8',
  },
);
if (preflight.status !== 0) {
  process.stderr.write(
    preflight.stderr || 'tollgate tests cannot run: scripts/test-preflight.sh failed\n',
  );
  process.exit(1);
}

export default {
  files: ['tests/**/*.test.ts'],
  extensions: { ts: 'module' },
  // Inactivity: no test finished for this long. The namespace tests with real phones and SIPp
  // take minutes on a busy 2-core machine; a hang still ends the run.
  timeout: '5m',
  workerThreads: false,
};
