// `tollgatectl shell`: the interactive console the appliance's SSH console user lands in.
// The same commands as tollgatectl, with history (kept private in the data directory),
// tab completion of command names, `help`, and `exit`/`quit`/Ctrl-D to leave.
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { ConsoleClient } from './client.ts';
import { redactSecrets, tokenize } from './grammar.ts';

const COMMAND_NAMES = [
  'status',
  'stats',
  'bans',
  'ban',
  'unban',
  'delbanned,',
  'config',
  'help',
  'exit',
];
const HISTORY_SIZE = 500;

export async function runShell(client: ConsoleClient, dataDir: string): Promise<number> {
  const historyFile = join(dataDir, '.console_history');
  let history: string[] = [];
  try {
    history = readFileSync(historyFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .slice(-HISTORY_SIZE)
      .reverse();
  } catch {
    // No history yet.
  }
  const rl = createInterface({
    input: process.stdin,
    output: process.stdout,
    prompt: 'tollgate> ',
    history,
    historySize: HISTORY_SIZE,
    terminal: process.stdin.isTTY,
    completer: (line: string) => [COMMAND_NAMES.filter((c) => c.startsWith(line)), line],
  });
  // Piped input (a script, a test) can end while a command is still running.
  let closed = false;
  rl.on('close', () => {
    closed = true;
  });
  if (process.stdin.isTTY)
    process.stdout.write('tollgate console: "help" lists commands, "exit" leaves\n');
  rl.prompt();
  for await (const line of rl) {
    const trimmed = line.trim();
    if (trimmed === 'exit' || trimmed === 'quit') break;
    if (trimmed !== '') {
      try {
        const words = tokenize(trimmed);
        try {
          appendFileSync(historyFile, `${redactSecrets(words).join(' ')}\n`, { mode: 0o600 });
        } catch {
          // History is a convenience; a read-only data directory must not break the console.
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
      } catch (err) {
        process.stdout.write(`error: ${(err as Error).message}\n`);
        if (/closed the console/.test((err as Error).message)) break;
      }
    }
    if (!closed) rl.prompt();
  }
  rl.close();
  return 0;
}
