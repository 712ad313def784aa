// `tollgatectl ssh-feed [--journal]`: sshd's failed logins to the daemon's guard, one
// `ssh-auth-fail IP PORT USER` console request per failed attempt (src/control/ssh-feed.ts
// parses). Input: with --journal, `journalctl -f -n 0 -o json _COMM=sshd` (what
// tollgate-sshfeed.service runs); without, sshd log lines on stdin (`sshd -D -e 2>&1 | …`).
// It ends when its input ends or the daemon goes away (systemd restarts it).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { ConsoleClient } from '../control/console/client.ts';
import { MAX_LINE, parseFeedLine } from '../control/ssh-feed.ts';

export const JOURNAL_ARGV = ['journalctl', '-f', '-n', '0', '-o', 'json', '_COMM=sshd'] as const;

export async function runSshFeed(client: ConsoleClient, journal: boolean): Promise<number> {
  let input: Readable = process.stdin;
  if (journal) {
    const child = spawn(JOURNAL_ARGV[0], JOURNAL_ARGV.slice(1), {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    input = child.stdout;
    process.once('SIGTERM', () => child.kill('SIGTERM'));
  }
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let reported = 0;
  for await (const line of lines) {
    // An over-long line is dropped whole (readline has already read it; it is not parsed).
    if (line.length > MAX_LINE) continue;
    const failure = parseFeedLine(line);
    if (failure === null) continue;
    const reply = await client.send([
      'ssh-auth-fail',
      failure.ip,
      String(failure.port),
      ...(failure.user ? [failure.user] : []),
    ]);
    if (reply.exit !== 0) process.stderr.write(`tollgatectl ssh-feed: ${reply.text}\n`);
    else reported++;
  }
  process.stderr.write(`tollgatectl ssh-feed: input ended after ${reported} failed login(s)\n`);
  return 0;
}
