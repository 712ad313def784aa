// The real SIPVicious tools (Debian package `sipvicious` 0.3.3: svmap, svwar, svcrack) run
// as attackers inside a network namespace, bound to one source address.
//
//   const svwar = startSipvicious(t, { ns: link.a.ns, tool: 'svwar', bindIp: attacker,
//     args: ['-e', '100-999', '-m', 'REGISTER', `udp://${target}:${port}`], timeoutSeconds: 30 });
//   await svwar.exited;                    // or svwar.stop() once the test has seen enough
//
// User-Agent: the tools have no option for it; every request is built by
// svhelper.makeRequest(…, useragent='friendly-scanner', …). An attacker who edits that one
// default is the case `userAgent` reproduces: a small Python prelude replaces the default
// argument and then runs the tool's own main() unchanged, so the traffic is the tool's own.
// Without `userAgent` the installed entry point runs as it is.
import { type ChildProcess, spawn } from 'node:child_process';
import type { Teardownable } from './netns.ts';

const IP = '/usr/sbin/ip';
/** Where Debian installs the package (its entry scripts put this directory on sys.path). */
const PACKAGE_DIR = '/usr/share/sipvicious';

export type SipviciousTool = 'svmap' | 'svwar' | 'svcrack';

export interface SipviciousOptions {
  ns: string;
  tool: SipviciousTool;
  /** The tool's own arguments (target last). -b bindIp and -P localPort are added here. */
  args: readonly string[];
  /**
   * Source address: -b (bind) and -x (the address written in Via/Contact). svwar and svcrack
   * 0.3.3 parse -b but never use it, so for them the namespace's route must pick this
   * address as the source too: see routeFrom().
   */
  bindIp: string;
  /** Source port (-P); default: the tool's own choice (5060, or the next free one). */
  localPort?: number;
  /** Replaces "friendly-scanner" in every request the tool builds. */
  userAgent?: string;
  /** Hard bound: the tool is killed after this long (coreutils timeout). */
  timeoutSeconds: number;
}

export interface SipviciousRun {
  readonly process: ChildProcess;
  /** Resolves when the tool has exited, with its output (the tools log to stderr). */
  readonly exited: Promise<{ code: number | null; output: string }>;
  output(): string;
  /** Stops the tool (SIGTERM, then SIGKILL) and waits for it to exit. */
  stop(): Promise<void>;
}

// Replaces makeRequest's default useragent, then runs sipvicious.<tool>.main() with the
// remaining arguments, exactly as the entry script would.
const PRELUDE = `
import sys
sys.path.insert(0, ${JSON.stringify(PACKAGE_DIR)})
import sipvicious.libs.svhelper as helper
tool, ua = sys.argv[1], sys.argv[2]
code = helper.makeRequest.__code__
defaults = list(helper.makeRequest.__defaults__)
first_default = code.co_argcount - len(defaults)
defaults[code.co_varnames.index('useragent') - first_default] = ua
helper.makeRequest.__defaults__ = tuple(defaults)
module = __import__('sipvicious.' + tool, fromlist=['main'])
sys.argv = [tool] + sys.argv[3:]
sys.exit(module.main())
`;

/**
 * Makes `src` the source address of unbound traffic from ns to `target` (what an attacker
 * host with that address would send from). SIPp binds its own address (-i) and is unaffected.
 */
export async function routeFrom(ns: string, ifname: string, target: string, src: string) {
  await new Promise<void>((resolve, reject) => {
    const args = ['-n', ns, 'route', 'replace', `${target}/32`, 'dev', ifname, 'src', src];
    const child = spawn(IP, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`ip ${args.join(' ')}: ${stderr.trim()}`)),
    );
  });
}

export function startSipvicious(t: Teardownable, o: SipviciousOptions): SipviciousRun {
  const toolArgs = [
    '-b',
    o.bindIp,
    '-x',
    o.bindIp,
    ...(o.localPort !== undefined ? ['-P', String(o.localPort)] : []),
    ...o.args,
  ];
  const command =
    o.userAgent === undefined
      ? [o.tool, ...toolArgs]
      : ['python3', '-c', PRELUDE, o.tool, o.userAgent, ...toolArgs];
  const argv = [
    'netns',
    'exec',
    o.ns,
    'timeout',
    '--kill-after=2',
    String(o.timeoutSeconds),
    ...command,
  ];
  // Its own process group, so stop() reaches timeout and the tool together.
  const child = spawn(IP, argv, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
    detached: true,
  });
  let output = '';
  child.stdout?.on('data', (c) => (output += c));
  child.stderr?.on('data', (c) => (output += c));
  const exited = new Promise<{ code: number | null; output: string }>((resolve) => {
    // 'exit', not 'close': a stray grandchild holding the pipes must not keep this open.
    child.on('exit', (code) => resolve({ code, output }));
    child.on('error', (err) => {
      output += `\nspawn failed: ${err.message}`;
      resolve({ code: null, output });
    });
  });
  const signal = (sig: NodeJS.Signals) => {
    try {
      // `ip netns exec` execs timeout (the group leader); the tool is its child.
      if (child.pid !== undefined) process.kill(-child.pid, sig);
    } catch {
      // already gone
    }
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      signal('SIGTERM');
      const killer = setTimeout(() => signal('SIGKILL'), 3000);
      await exited;
      clearTimeout(killer);
    }
  };
  t.teardown(stop);
  return { process: child, exited, output: () => output, stop };
}
