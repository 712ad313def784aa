// `tollgatectl [--data DIR | --socket PATH] COMMAND [ARGS] [--json]`: the console.
// Exit codes: 0 ok, 1 refused or not found (or daemon not running), 2 usage error.

import { backupStore, describeBackup, restoreStore } from '../control/backup/backup.ts';
import { ConsoleClient } from '../control/console/client.ts';
import { exitCodeOf, type Reply } from '../control/console/commands.ts';
import { helpText, parseCommand, secretInArgv, withSecret } from '../control/console/grammar.ts';
import { readSecret } from '../control/console/secret.ts';
import { runShell } from '../control/console/shell.ts';
import type { TollgateError } from '../errors.ts';
import { resolveDataDir, resolveSocketPath } from '../paths.ts';
import { splitGlobalOptions } from './args.ts';
import { readTariffFile } from './read-file.ts';
import { runSshFeed } from './ssh-feed.ts';

const USAGE = `usage: tollgatectl [--data DIR | --socket PATH] COMMAND [ARGS] [--json]

${helpText()}
  backup FILE    hot copy of the store to FILE, still encrypted (the daemon may run)
  restore FILE   replace the store with FILE's copy (the daemon must be stopped)
  ssh-feed [--journal]  sshd's failed logins (stdin, or the journal) to the guard`;

function print(reply: Reply, json: boolean): void {
  if (reply.report) {
    // A report (audit) is the output whatever the exit code says about its findings.
    process.stdout.write(json ? `${JSON.stringify(reply.data, null, 2)}\n` : `${reply.text}\n`);
  } else if (json) {
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

function failure(err: unknown, json: boolean): 1 | 2 {
  const e = err as TollgateError;
  const exit = e.code ? exitCodeOf(e.code) : 1;
  print({ exit, text: e.message, code: e.code ?? 'TG_INTERNAL' }, json);
  return exit;
}

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof splitGlobalOptions>;
  try {
    parsed = splitGlobalOptions(argv);
  } catch (err) {
    process.stderr.write(`tollgatectl: ${(err as Error).message}\n`);
    return 2;
  }
  const { options } = parsed;
  let { rest } = parsed;
  if (options.help || rest.length === 0) {
    (options.help ? process.stdout : process.stderr).write(`${USAGE}\n`);
    return options.help ? 0 : 2;
  }
  const socketPath = resolveSocketPath(resolveDataDir(options.data), options.socket);
  if (rest[0] === 'backup' || rest[0] === 'restore')
    return await local(rest, options.data, socketPath);

  if (rest[0] === 'ssh-feed') {
    if (rest.length > 2 || (rest[1] !== undefined && rest[1] !== '--journal')) {
      process.stderr.write('tollgatectl: usage: tollgatectl ssh-feed [--journal]\n');
      return 2;
    }
    try {
      const client = await ConsoleClient.connect(socketPath);
      try {
        return await runSshFeed(client, rest[1] === '--journal');
      } finally {
        client.close();
      }
    } catch (err) {
      return failure(err, false);
    }
  }
  // Usage errors are reported without needing the daemon.
  let command: ReturnType<typeof parseCommand>;
  try {
    command = parseCommand(rest);
  } catch (err) {
    return failure(err, rest.includes('--json'));
  }
  const { json } = command;
  if (secretInArgv(rest)) {
    // As docker login does: it still works (scripts), but say what it costs.
    process.stderr.write(
      'tollgatectl: WARNING! a secret on the command line is visible to other users (ps, /proc) and kept in your shell history; use --password-stdin\n',
    );
  }
  const c = command.command;
  if (
    (c.name === 'users-add' ||
      c.name === 'users-set' ||
      c.name === 'admins-add' ||
      c.name === 'admins-password') &&
    c.passwordStdin
  ) {
    try {
      rest = withSecret(rest, await readSecret());
    } catch (err) {
      return failure(err, json);
    }
  }

  // tariffs import FILE: the file is read here, by the operator's own process, and sent.
  let payload: string | undefined;
  if (c.name === 'tariffs-import') {
    try {
      payload = readTariffFile(c.file);
    } catch (err) {
      return failure(err, json);
    }
  }

  let client: ConsoleClient;
  try {
    client = await ConsoleClient.connect(socketPath);
  } catch (err) {
    return failure(err, json);
  }
  try {
    if (c.name === 'shell') return await runShell(client, resolveDataDir(options.data));
    const reply = await client.send(rest, payload);
    print(reply, json);
    return reply.exit;
  } finally {
    client.close();
  }
}

/** backup / restore: done here, on the store's files, not by the daemon (backup.ts says why). */
async function local(
  rest: string[],
  data: string | undefined,
  socketPath: string,
): Promise<number> {
  const json = rest.includes('--json');
  const args = rest.filter((a) => a !== '--json');
  if (args.length !== 2 || args[1]!.startsWith('-')) {
    process.stderr.write(`tollgatectl: usage: tollgatectl ${args[0]} FILE [--json]\n`);
    return 2;
  }
  try {
    const dataDir = resolveDataDir(data);
    const result =
      args[0] === 'backup'
        ? backupStore(dataDir, args[1]!)
        : await restoreStore(dataDir, socketPath, args[1]!);
    const verb = args[0] === 'backup' ? 'backed up to' : 'restored from';
    print({ exit: 0, text: describeBackup(verb, result), data: result }, json);
    return 0;
  } catch (err) {
    return failure(err, json);
  }
}

process.exitCode = await main(process.argv.slice(2));
