// `tollgatectl [--data DIR | --socket PATH] COMMAND [ARGS] [--json]`: the console.
// Exit codes: 0 ok, 1 refused or not found (or daemon not running), 2 usage error.

import { ConsoleClient } from '../control/console/client.ts';
import type { Reply } from '../control/console/commands.ts';
import { helpText, parseCommand } from '../control/console/grammar.ts';
import { runShell } from '../control/console/shell.ts';
import type { TollgateError } from '../errors.ts';
import { resolveDataDir, resolveSocketPath } from '../paths.ts';
import { splitGlobalOptions } from './args.ts';

const USAGE = `usage: tollgatectl [--data DIR | --socket PATH] COMMAND [ARGS] [--json]

${helpText()}`;

function print(reply: Reply, json: boolean): void {
  if (json) {
    const body =
      reply.exit === 0
        ? (reply.data ?? { text: reply.text })
        : { error: reply.code, message: reply.text };
    (reply.exit === 0 ? process.stdout : process.stderr).write(
      `${JSON.stringify(body, null, 2)}\n`,
    );
  } else if (reply.exit === 0) {
    process.stdout.write(`${reply.text}\n`);
  } else {
    process.stderr.write(`tollgatectl: ${reply.text}\n`);
  }
}

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof splitGlobalOptions>;
  try {
    parsed = splitGlobalOptions(argv);
  } catch (err) {
    process.stderr.write(`tollgatectl: ${(err as Error).message}\n`);
    return 2;
  }
  const { options, rest } = parsed;
  if (options.help || rest.length === 0) {
    (options.help ? process.stdout : process.stderr).write(`${USAGE}\n`);
    return options.help ? 0 : 2;
  }
  const socketPath = resolveSocketPath(resolveDataDir(options.data), options.socket);

  // Usage errors are reported without needing the daemon.
  let json = false;
  let isShell = false;
  try {
    const command = parseCommand(rest);
    json = command.json;
    isShell = command.command.name === 'shell';
  } catch (err) {
    const e = err as TollgateError;
    print({ exit: 2, text: e.message, code: e.code }, rest.includes('--json'));
    return 2;
  }

  let client: ConsoleClient;
  try {
    client = await ConsoleClient.connect(socketPath);
  } catch (err) {
    const e = err as TollgateError;
    print({ exit: 1, text: e.message, code: e.code ?? 'TG_CONSOLE_NOT_RUNNING' }, json);
    return 1;
  }
  try {
    if (isShell) return await runShell(client, resolveDataDir(options.data));
    const reply = await client.send(rest);
    print(reply, json);
    return reply.exit;
  } finally {
    client.close();
  }
}

process.exitCode = await main(process.argv.slice(2));
