// Starts the real daemon (`tollgate serve` from src/) in a temporary data directory and runs
// the real `tollgatectl` against it. The daemon is stopped when the test ends, pass or fail.
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { allocatePort } from './ports.ts';
import { tempDir } from './tmp.ts';

const ROOT = join(import.meta.dirname, '../..');
export const TOLLGATE = join(ROOT, 'src/cli/tollgate.ts');
export const TOLLGATECTL = join(ROOT, 'src/cli/tollgatectl.ts');

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function run(script: string, args: string[], input?: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

/**
 * A port free on TCP and UDP, reserved for this test process (tests/helpers/ports.ts: one
 * allocator shared by every ava worker, outside the kernel's ephemeral range).
 */
export const freePort = allocatePort;

export interface RunningDaemon {
  dataDir: string;
  configFile: string;
  process: ChildProcess;
  stderr: () => string;
  /** What the daemon logged (pino JSON lines on stdout). */
  log: () => string;
  ctl(...args: string[]): Promise<RunResult>;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Config that keeps the daemon off the standard ports so tests can run side by side. */
export async function testConfig(
  dataDir: string,
  overrides: Record<string, string | number> = {},
): Promise<string> {
  const file = join(dataDir, 'tollgate.conf');
  const values: Record<string, string | number> = {
    sipaddress: '127.0.0.1',
    sipport: await freePort(),
    sipsport: await freePort(),
    webport: await freePort(),
    // Tests that run side by side must not share the host's one `inet tollgate` table;
    // the kernel dataplane is tested by daemons started inside their own namespaces.
    dataplanemode: 'off',
    ...overrides,
  };
  const lines = Object.entries(values).map(([k, v]) => `${k} = ${v}`);
  writeFileSync(file, `# written by the test\n${lines.join('\n')}\n`);
  return file;
}

export async function startDaemon(
  t: ExecutionContext,
  opts: {
    dataDir?: string;
    configFile?: string;
    netns?: string;
    /** Another checkout whose daemon and tollgatectl run (bench:calls --before). */
    root?: string;
  } = {},
): Promise<RunningDaemon> {
  const dataDir = opts.dataDir ?? tempDir(t);
  const configFile = opts.configFile ?? (await testConfig(dataDir));
  const tollgate = opts.root ? join(opts.root, 'src/cli/tollgate.ts') : TOLLGATE;
  const tollgatectl = opts.root ? join(opts.root, 'src/cli/tollgatectl.ts') : TOLLGATECTL;
  const argv = [process.execPath, tollgate, 'serve', '--data', dataDir, '--config', configFile];
  // `ip netns exec` execs the daemon, so signals sent to the child reach it directly.
  const [command, ...args] = opts.netns ? ['ip', 'netns', 'exec', opts.netns, ...argv] : argv;
  const child = spawn(command!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  // 'close', not 'exit': by then every line the daemon wrote to stdout/stderr has been read.
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => resolve(code)),
  );
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (stderr.includes('tollgate is running')) {
        clearInterval(timer);
        resolve();
      } else if (child.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`daemon exited with ${child.exitCode}: ${stderr}`));
      }
    }, 25);
  });
  return {
    dataDir,
    configFile,
    process: child,
    stderr: () => stderr,
    log: () => stdout,
    ctl: (...args) => run(tollgatectl, ['--data', dataDir, ...args]),
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}
