// `tollgatectl shell`: the interactive console the appliance's SSH console user lands in.
// The same commands as tollgatectl, with history (kept private in the data directory),
// tab completion of command names and their first argument, `help`, and `exit`/`quit`/Ctrl-D to leave.
//
// Fed a script (stdin not a terminal), it runs every line and exits like a shell script
// would report it: 0 when every command succeeded, else the highest exit code seen (1
// refused, 2 usage error), so `tollgatectl shell < script` can gate a deployment.
//
// A line that may carry a secret (grammar.ts mayCarrySecret) never reaches the history file
// or readline's in-memory history, whether it parsed or not. `--password-stdin` takes the
// next line as the password, with echo off on a terminal.
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { ControlErrors } from '../errors.ts';
import type { ConsoleClient } from './client.ts';
import { commandNames, mayCarrySecret, tokenize, withSecret } from './grammar.ts';

/** What tab completes: command words (from the grammar), then a few well-known arguments. */
const NOT_IN_SHELL = new Set(['shell', 'ssh-auth-fail']);
const COMMAND_NAMES = [
  ...commandNames().filter((c) => !NOT_IN_SHELL.has(c)),
  'delbanned,',
  'delbanned,all',
  'exit',
].sort();
const ARGUMENTS: Record<string, readonly string[]> = {
  unban: ['all'],
  delbanned: ['all'],
  users: ['add', 'list', 'show', 'set', 'del'],
  config: ['get', 'set', 'unset', 'list', 'keys'],
  firewall: ['allow', 'deny', 'del', 'list'],
  admins: ['add', 'list', 'password', 'totp', 'del'],
  help: COMMAND_NAMES,
};

/** readline's completer: the candidates for the word under the cursor, and that word. */
export function complete(line: string): [string[], string] {
  const words = line.split(/\s+/);
  if (words.length <= 1) return [COMMAND_NAMES.filter((c) => c.startsWith(line)), line];
  const last = words.at(-1)!;
  const options = ARGUMENTS[words[0]!] ?? [];
  return [words.length === 2 ? options.filter((o) => o.startsWith(last)) : [], last];
}
const HISTORY_SIZE = 500;

/** stdout that can be muted while a password is typed (readline echoes through it). */
class MutableOutput extends Writable {
  muted = false;
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    if (!this.muted) process.stdout.write(chunk);
    done();
  }
}

export async function runShell(client: ConsoleClient, dataDir: string): Promise<number> {
  const historyFile = join(dataDir, '.console_history');
  let history: string[] = [];
  try {
    history = readFileSync(historyFile, 'utf8')
      .split('\n')
      .filter((l) => l && !mayCarrySecret(l))
      .slice(-HISTORY_SIZE)
      .reverse();
  } catch {
    // No history yet.
  }
  const interactive = process.stdin.isTTY === true;
  const output = new MutableOutput();
  const rl = createInterface({
    input: process.stdin,
    output: interactive ? output : process.stdout,
    prompt: 'tollgate> ',
    history,
    historySize: HISTORY_SIZE,
    terminal: interactive,
    completer: complete,
  });
  const memory = (rl as unknown as { history?: string[] }).history;
  /** readline keeps each line for the up-arrow: a secret one is taken back out at once. */
  const forget = (line: string) => {
    if (memory && memory[0] === line) memory.shift();
  };
  // Piped input (a script, a test) can end while a command is still running.
  let closed = false;
  rl.on('close', () => {
    closed = true;
  });
  const lines = rl[Symbol.asyncIterator]();
  let worst = 0;
  if (interactive) process.stdout.write('tollgate console: "help" lists commands, "exit" leaves\n');
  rl.prompt();
  for (;;) {
    const next = await lines.next();
    if (next.done) break;
    const line = next.value as string;
    const trimmed = line.trim();
    if (trimmed === 'exit' || trimmed === 'quit') break;
    if (trimmed !== '') {
      const secret = mayCarrySecret(trimmed);
      if (secret) forget(line);
      else {
        try {
          appendFileSync(historyFile, `${trimmed}\n`, { mode: 0o600 });
        } catch {
          // History is a convenience; a read-only data directory must not break the console.
        }
      }
      try {
        let words = tokenize(trimmed);
        if (words.includes('--password-stdin')) {
          words = withSecret(words, await readPasswordLine());
        }
        const reply = await client.send(words);
        const json = words.includes('--json');
        const out =
          reply.exit === 0
            ? json
              ? JSON.stringify(reply.data ?? {}, null, 2)
              : reply.text
            : `error: ${reply.text}`;
        process.stdout.write(`${out}\n`);
        worst = Math.max(worst, reply.exit);
      } catch (err) {
        process.stdout.write(`error: ${(err as Error).message}\n`);
        worst = Math.max(worst, (err as { code?: string }).code === 'TG_CONSOLE_USAGE' ? 2 : 1);
        if (/closed the console/.test((err as Error).message)) break;
      }
    }
    if (!closed) rl.prompt();
  }
  rl.close();
  return worst;

  /** The next input line, not echoed on a terminal and kept out of every history. */
  async function readPasswordLine(): Promise<string> {
    process.stdout.write('Password: ');
    output.muted = true;
    try {
      const next = await lines.next();
      if (next.done) throw usageError('--password-stdin: no password line follows');
      forget(next.value as string);
      return next.value as string;
    } finally {
      output.muted = false;
      if (interactive) process.stdout.write('\n');
    }
  }
}

function usageError(text: string): Error {
  return new ControlErrors.TG_CONSOLE_USAGE(text);
}
